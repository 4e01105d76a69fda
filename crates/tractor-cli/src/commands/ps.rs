//! `tractor ps`: who is registered, and where.

use tractor::RegistryAddr;

use super::Failure;

pub async fn run(registry: &RegistryAddr, json: bool) -> Result<(), Failure> {
    let mut actors = tractor::discovery::get_registry(registry).await?;
    actors.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    if json {
        let rows: Vec<serde_json::Value> = actors
            .iter()
            .map(|(uid, addrs)| {
                serde_json::json!({
                    "name": uid.name,
                    "uuid": uid.uuid,
                    "addrs": addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<24} {:<38} ADDRESSES", "NAME", "UUID");
    for (uid, addrs) in &actors {
        let a: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        println!("{:<24} {:<38} {}", uid.name, uid.uuid, a.join(" "));
    }
    Ok(())
}
