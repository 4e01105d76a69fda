//! Chaos (issue 12): 100 rounds of `kill -9` on a random process of the
//! scope — a service, a worker it forked, Postgres, Redis, or the daemon
//! itself — while the supervisor restarts what it can; then `stop-all`
//! leaves no process carrying the scope's marker and nothing listening on
//! any port a run of the scope recorded.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// Live processes whose environment carries `ENVCTL_OWNER=<prefix>…`.
fn marked(prefix: &str) -> Vec<(u32, String)> {
    let want = format!("ENVCTL_OWNER={prefix}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            !stat.contains(") Z ")
        })
        .filter_map(|pid| {
            let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            let hit = env
                .split(|b| *b == 0)
                .any(|kv| kv.starts_with(want.as_bytes()));
            hit.then(|| {
                let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .unwrap_or_default()
                    .replace('\0', " ");
                (pid, cmd)
            })
        })
        .collect()
}

/// Every port any run of the scope recorded.
fn recorded_ports(w: &World) -> Vec<u16> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(w.scope().join("runs")).unwrap().flatten() {
        let Ok(t) = std::fs::read_to_string(e.path().join("ports_manifest.json")) else {
            continue;
        };
        let m: serde_json::Value = serde_json::from_str(&t).unwrap();
        for p in m["projects"].as_array().into_iter().flatten() {
            for (_, v) in p["ports"].as_object().into_iter().flatten() {
                if let Some(f) = v["final"].as_u64() {
                    out.push(f as u16);
                }
            }
        }
    }
    out
}

#[test]
fn a_hundred_kill_9s_then_stop_all_leaves_nothing() {
    let w = World::new();
    let restarts = [("ENVCTL_RESTART_POLICY", "on-failure")];
    let out = w.envctl_env(
        &["start", "--trees", "--headless", "--project", "feat-a-1"],
        &restarts,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let prefix = format!("{}/", w.scope_id());
    let mut seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("chaos seed {seed}");
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let started = Instant::now();
    let mut kills = 0;
    for round in 0..100 {
        let victims = marked(&prefix);
        if !victims.is_empty() {
            let (pid, _) = &victims[(next() % victims.len() as u64) as usize];
            if nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .is_ok()
            {
                kills += 1;
                // The next round starts once this victim is dead: the
                // supervisor is caught at every stage of its restarts.
                assert!(
                    wait_exit(*pid, Duration::from_secs(10)),
                    "pid {pid} survived kill -9"
                );
            }
        }
        reap_children();
        // Crash loops give up on what dies too often, and the daemon may
        // be among the dead: a `restart` now and then brings everything
        // (the daemon too) back for more.
        if round % 10 == 9 {
            let _ = w.envctl_env(&["restart", "--headless"], &restarts);
        }
    }
    // What dies too often is given up on (crash loop) until the next
    // `restart`, so not every round finds a victim.
    assert!(kills >= 20, "only {kills} kills");
    let out = w.envctl(&["stop-all"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // stop-all returns when the record's processes are gone; orphans of
    // killed leaders are this test's to reap.
    wait_for(Duration::from_secs(20), || marked(&prefix).is_empty());
    let left = marked(&prefix);
    assert!(
        left.is_empty(),
        "marked processes left after stop-all: {left:?}"
    );
    for port in recorded_ports(&w) {
        // Only a listener of ours counts: another test may hold the port now.
        let ours: Vec<u32> = listeners_of(port)
            .into_iter()
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|e| e.windows(prefix.len()).any(|w| w == prefix.as_bytes()))
                    || std::fs::read_link(format!("/proc/{pid}/cwd"))
                        .is_ok_and(|c| c.starts_with(w.tmp.path()))
            })
            .collect();
        assert!(
            ours.is_empty(),
            "still listening on recorded port {port}: {ours:?}"
        );
    }
    eprintln!("{kills} kills in {:?}", started.elapsed());
    teardown(&w);
}
