//! The `#[tractor::test]` harness refuses to run where its process-wide
//! kill and leak checks would hit other tests: several tests at once in
//! one process (plain `cargo test`); and its leak check sees a leaked
//! thread actor, which the `/proc` checks cannot.

use std::process::Command;

#[tractor::test(timeout = 30, backend = "process", transport = "tcp")]
async fn a_trivial_tractor_test() -> Result<(), tractor::Error> {
    Ok(())
}

fn run_alone(extra_env: &[(&str, &str)], extra_args: &[&str]) -> (Option<i32>, String) {
    run_alone_named("a_trivial_tractor_test::process_tcp", extra_env, extra_args)
}

/// Runs one test of this binary in a process of its own.
fn run_alone_named(
    test: &str,
    extra_env: &[(&str, &str)],
    extra_args: &[&str],
) -> (Option<i32>, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact"])
        .args(extra_args)
        .env_remove("NEXTEST")
        .env_remove("RUST_TEST_THREADS")
        .env_remove("_TRACTOR_RT_VARS")
        .envs(extra_env.iter().copied())
        .output()
        .expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn under_parallel_libtest_the_harness_refuses_with_a_message() {
    let (code, out) = run_alone(&[], &[]);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("run it with `cargo nextest run`"), "{out}");
}

#[test]
fn with_one_test_thread_or_under_nextest_it_runs() {
    let (code, out) = run_alone(&[], &["--test-threads=1"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run_alone(&[("NEXTEST", "1")], &[]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn under_the_harness_a_leaked_thread_actor_fails_the_test() {
    let out = Command::new(tractor::testing::example_path("test_leaky_thread_actor"))
        .arg("--test-threads=1")
        .env_remove("NEXTEST")
        .env_remove("_TRACTOR_RT_VARS")
        .output()
        .expect("the leaky program runs");
    let (code, out) = (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    );
    assert_ne!(code, Some(0), "{out}");
    assert!(
        out.contains("actor \"leaky\"") && out.contains("still alive in this process"),
        "{out}"
    );
}
