//! The spawn envelope (`_TRACTOR_RT_VARS` with spawn info) belongs to one
//! child: a program an actor launches does not inherit the actor's
//! identity, and a tractor binary that finds an envelope written for
//! another process runs as its own root instead of dialling a stranger.

use std::time::Duration;

use tractor::testing::{Program, example_path, free_tcp_port, procs, session_vars};

/// Runs a plain program from inside the actor and returns the spawn info
/// it saw in its inherited envelope (`None`: no envelope or no spawn info).
#[tractor::rpc]
async fn spawn_info_seen_by_a_program() -> Option<String> {
    let out = tokio::process::Command::new("sh")
        .args(["-c", "printf %s \"${_TRACTOR_RT_VARS-}\""])
        .output()
        .await
        .expect("sh runs");
    let env = String::from_utf8(out.stdout).expect("utf-8");
    if env.is_empty() {
        return None;
    }
    let rv = tractor::RuntimeVars::load_from(&env).expect("a valid envelope");
    rv.spawn.map(|s| format!("{s:?}"))
}

#[tractor::test(timeout = 30)]
async fn a_program_launched_by_an_actor_gets_no_spawn_identity() -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("launcher", &[spawn_info_seen_by_a_program::NS])
            .await?;
        let seen = p.run(spawn_info_seen_by_a_program {}).await?;
        assert_eq!(
            seen, None,
            "the launched program saw the actor's spawn info"
        );
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[test]
fn a_tractor_binary_with_someone_elses_envelope_runs_as_a_root() {
    let rv = session_vars();
    // An envelope written for another process (its parent is the pid that
    // started this test), as a program launched by an actor would inherit
    // it. The parent address is a port nobody listens on.
    let (_, json) = rv.dump();
    let mut env: serde_json::Value = serde_json::from_str(&json).unwrap();
    env["spawn"] = serde_json::json!({
        "uid": ["greeter", "0123456789abcdef0123456789abcdef"],
        "parent_addr": format!("/ip4/127.0.0.1/tcp/{}", free_tcp_port().port()),
        "parent_pid": nix::unistd::getppid().as_raw(),
    });
    let leaked = env.to_string();
    let mut p = Program::start_with_env(
        &example_path("hello"),
        &[],
        &rv,
        &[("_TRACTOR_RT_VARS", &leaked)],
    )
    .expect("hello starts");
    let st = p.wait(Duration::from_secs(60)).expect("hello finishes");
    let out = p.transcript.join("\n");
    assert_eq!(st.code(), Some(0), "{out}");
    assert!(out.contains("Hello, world! (from pid "), "{out}");
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
}
