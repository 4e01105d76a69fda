//! `etcd_register_visible`: an actor's registration in the etcd registry
//! until a watcher sees it, beside the floor of a raw etcd put until the
//! same watch sees it — both against one real etcd started for the run
//! (`tractor::testing::etcd`), so the ratio is what our registration
//! agent (its session task, the JSON entry, the lease) adds.

use std::time::{Duration, Instant};

use tractor::discovery::etcd::{EtcdAgent, EtcdRegistry, KEY_PREFIX};
use tractor::msg::Uid;
use tractor::testing::etcd::Etcd;

/// (figure samples, floor samples); `Err` says why it could not run.
pub async fn register_visible(iters: usize) -> Result<(Vec<Duration>, Vec<Duration>), String> {
    let dir = std::env::temp_dir().join(format!("tractor-bench-etcd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = match Etcd::start(&dir) {
        Ok(etcd) => measure(&etcd, iters).await,
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&dir);
    out
}

async fn measure(etcd: &Etcd, iters: usize) -> Result<(Vec<Duration>, Vec<Duration>), String> {
    let reg = EtcdRegistry::connect(&etcd.endpoints())
        .await
        .map_err(|e| e.to_string())?;
    let mut client = reg.client();
    let opts = etcd_watch_prefix();
    let mut watch = client
        .watch(KEY_PREFIX, Some(opts))
        .await
        .map_err(|e| e.to_string())?;
    // The first message confirms the watch is in place.
    watch.message().await.map_err(|e| e.to_string())?;
    let mut seen = async |key: &str| -> Result<(), String> {
        loop {
            let resp = watch
                .message()
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the watch ended")?;
            if resp
                .events()
                .iter()
                .any(|ev| ev.kv().is_some_and(|kv| kv.key() == key.as_bytes()))
            {
                return Ok(());
            }
        }
    };
    let mut floor = Vec::with_capacity(iters);
    for i in 0..iters {
        let key = format!("{KEY_PREFIX}floor/{i}");
        let t = Instant::now();
        client
            .put(key.as_str(), "x", None)
            .await
            .map_err(|e| e.to_string())?;
        seen(&key).await?;
        floor.push(t.elapsed());
    }
    let agent = EtcdAgent::new(etcd.endpoints(), Duration::from_secs(10));
    let addr: tractor::ipc::Addr = "/ip4/127.0.0.1/tcp/1".parse().map_err(|e| format!("{e}"))?;
    let mut fig = Vec::with_capacity(iters);
    for i in 0..iters {
        let uid = Uid::new(format!("bench{i}"), "u");
        let key = tractor::discovery::etcd::key_of(&uid);
        let t = Instant::now();
        agent.register(uid, vec![addr.clone()], None);
        seen(&key).await?;
        fig.push(t.elapsed());
    }
    agent.close(Duration::from_secs(1)).await;
    Ok((fig, floor))
}

fn etcd_watch_prefix() -> tractor::discovery::etcd::WatchOptions {
    tractor::discovery::etcd::WatchOptions::new().with_prefix()
}
