//! Status words in text reports are coloured as the user's terminal wants
//! (issue 13): `--color always|never|auto`, `ENVCTL_COLOR`, `NO_COLOR`,
//! `CLICOLOR_FORCE`; also when the daemon writes the report for the CLI.
//! JSON never carries colour.

mod common;

use common::*;

const GREEN_RUNNING: &str = "\x1b[32mrunning\x1b[0m";

#[test]
fn status_words_are_coloured_only_when_asked_or_on_a_terminal() {
    let w = World::new();
    // `start` is served by the daemon: it colours as this CLI asked.
    let out = w.envctl(&[
        "--color",
        "always",
        "start",
        "--trees",
        "--headless",
        "--project",
        "feat-a-1",
        "TREES_POSTGRES_ENABLE=false",
        "TREES_REDIS_ENABLE=false",
    ]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains(GREEN_RUNNING), "{said:?}");

    // Not a terminal, nothing asked: plain (the test's pipe is not a tty).
    let out = w.envctl(&["health"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("running") && !said.contains('\x1b'),
        "{said:?}"
    );

    for env in [("CLICOLOR_FORCE", "1"), ("ENVCTL_COLOR", "always")] {
        let out = w.envctl_env(&["show-state"], &[env]);
        let said = text(&out);
        assert!(said.contains(GREEN_RUNNING), "{env:?}: {said:?}");
    }
    // NO_COLOR wins over auto; --color never wins over the environment.
    let out = w.envctl_env(&["health"], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
    assert!(!text(&out).contains('\x1b'), "{}", text(&out));
    let out = w.envctl_env(
        &["--color", "never", "health"],
        &[("ENVCTL_COLOR", "always")],
    );
    assert!(!text(&out).contains('\x1b'), "{}", text(&out));
    // JSON stays plain whatever is asked.
    let out = w.envctl(&["--color", "always", "health", "--json"]);
    assert!(!text(&out).contains('\x1b'), "{}", text(&out));
    teardown(&w);
}
