//! `tractor tree`: the parent → child structure, from each actor's own
//! account of its parent (`self._actor_info`, a Rust-runtime extension;
//! actors that do not answer it, such as Python ones, are listed at the
//! top with their parent unknown).
//!
//! `--tasks` adds each actor's task tree (`self._task_tree`, also ours)
//! under its line; `--dump FILE` writes all of that to FILE.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use tractor::discovery::api::{call_once, my_aid, prefer_addr};
use tractor::ipc::Addr;
use tractor::msg::{self, Uid, Value};

use super::Failure;

struct Node {
    uid: Uid,
    pid: Option<i64>,
    parent: Option<Uid>,
    answered: bool,
    /// The actor's task tree, when asked for (or why it is missing).
    tasks: Option<String>,
}

pub async fn run(
    registry: &tractor::RegistryAddr,
    with_tasks: bool,
    dump: Option<&Path>,
) -> Result<(), Failure> {
    let with_tasks = with_tasks || dump.is_some();
    let actors = tractor::discovery::get_registry(registry).await?;
    let (me, max) = my_aid();
    let mut nodes = Vec::new();
    for (uid, addrs) in &actors {
        let wire: Vec<msg::WireAddr> = addrs.iter().map(Addr::to_wire).collect();
        let addr = prefer_addr(&wire);
        let info = match &addr {
            Some(a) => call_once(a, &me, "_actor_info", Vec::new(), max).await.ok(),
            None => None,
        };
        let tasks = match &addr {
            Some(a) if with_tasks => Some(
                match call_once(a, &me, "_task_tree", Vec::new(), max).await {
                    Ok(Value::String(s)) => s.into_str().unwrap_or_default(),
                    Ok(other) => format!("(unexpected answer: {other})\n"),
                    Err(e) => format!("(no task tree: {e})\n"),
                },
            ),
            _ => None,
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
            tasks,
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
    fn show(
        nodes: &[Node],
        children: &BTreeMap<String, Vec<usize>>,
        i: usize,
        depth: usize,
        out: &mut String,
    ) {
        let n = &nodes[i];
        let pid = n.pid.map(|p| format!(" pid {p}")).unwrap_or_default();
        let note = if n.answered { "" } else { " (parent unknown)" };
        let indent = "    ".repeat(depth);
        let _ = writeln!(out, "{indent}{}{pid}{note}", n.uid.name);
        if let Some(tasks) = &n.tasks {
            for line in tasks.lines() {
                let _ = writeln!(out, "{indent}  | {line}");
            }
        }
        let mut kids = children.get(&n.uid.uuid).cloned().unwrap_or_default();
        kids.sort_by(|a, b| nodes[*a].uid.name.cmp(&nodes[*b].uid.name));
        for k in kids {
            show(nodes, children, k, depth + 1, out);
        }
    }
    roots.sort_by(|a, b| nodes[*a].uid.name.cmp(&nodes[*b].uid.name));
    let mut out = String::new();
    for r in roots {
        show(&nodes, &children, r, 0, &mut out);
    }
    match dump {
        Some(path) => {
            std::fs::write(path, &out).map_err(|e| {
                Failure::Error(format!("cannot write the dump to {}: {e}", path.display()))
            })?;
            println!(
                "wrote the task trees of {} actors to {}",
                nodes.len(),
                path.display()
            );
        }
        None => print!("{out}"),
    }
    Ok(())
}
