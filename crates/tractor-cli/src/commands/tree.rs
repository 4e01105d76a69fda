//! `tractor tree`: the parent → child structure, from each actor's own
//! account of its parent (`self._actor_info`, a Rust-runtime extension;
//! actors that do not answer it, such as Python ones, are listed at the
//! top with their parent unknown).

use std::collections::BTreeMap;

use tractor::discovery::api::{call_once, my_aid, prefer_addr};
use tractor::ipc::Addr;
use tractor::msg::{self, Uid, Value};

use super::Failure;

struct Node {
    uid: Uid,
    pid: Option<i64>,
    parent: Option<Uid>,
    answered: bool,
}

pub async fn run(registry: &tractor::RegistryAddr) -> Result<(), Failure> {
    let actors = tractor::discovery::get_registry(registry).await?;
    let (me, max) = my_aid();
    let mut nodes = Vec::new();
    for (uid, addrs) in &actors {
        let wire: Vec<msg::WireAddr> = addrs.iter().map(Addr::to_wire).collect();
        let info = match prefer_addr(&wire) {
            Some(a) => call_once(&a, &me, "_actor_info", Vec::new(), max)
                .await
                .ok(),
            None => None,
        };
        let field = |k: &str| match &info {
            Some(Value::Map(m)) => m
                .iter()
                .find(|(key, _)| key.as_str() == Some(k))
                .map(|(_, v)| v.clone()),
            _ => None,
        };
        nodes.push(Node {
            uid: uid.clone(),
            pid: field("pid").and_then(|v| v.as_i64()),
            parent: field("parent").and_then(|v| msg::uid_from_value(&v)),
            answered: info.is_some(),
        });
    }
    let known: Vec<Uid> = nodes.iter().map(|n| n.uid.clone()).collect();
    let mut children: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut roots = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match &n.parent {
            Some(p) if known.contains(p) => children.entry(p.uuid.clone()).or_default().push(i),
            _ => roots.push(i),
        }
    }
    fn show(nodes: &[Node], children: &BTreeMap<String, Vec<usize>>, i: usize, depth: usize) {
        let n = &nodes[i];
        let pid = n.pid.map(|p| format!(" pid {p}")).unwrap_or_default();
        let note = if n.answered { "" } else { " (parent unknown)" };
        println!("{}{}{pid}{note}", "    ".repeat(depth), n.uid.name);
        let mut kids = children.get(&n.uid.uuid).cloned().unwrap_or_default();
        kids.sort_by(|a, b| nodes[*a].uid.name.cmp(&nodes[*b].uid.name));
        for k in kids {
            show(nodes, children, k, depth + 1);
        }
    }
    roots.sort_by(|a, b| nodes[*a].uid.name.cmp(&nodes[*b].uid.name));
    for r in roots {
        show(&nodes, &children, r, 0);
    }
    Ok(())
}
