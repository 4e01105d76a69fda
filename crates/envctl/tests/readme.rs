//! The README's envctl quick start, run line by line as a person would
//! type it (the `cargo`/`cp`/`git` set-up lines are what `World` does),
//! each `envctl` line exiting 0, and the `.envctl` restart-policy snippet
//! accepted by `start`.

mod common;

use common::*;

/// The first ```sh block after `heading` in the README.
fn sh_block_after(heading: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = readme
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("the README has {heading:?}"));
    section
        .split("```sh")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap()
        .to_owned()
}

/// The `envctl …` lines of the README's "envctl quick start" block.
fn quick_start() -> Vec<Vec<String>> {
    sh_block_after("## envctl quick start")
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| l.starts_with("envctl "))
        .map(|l| l.split_whitespace().skip(1).map(str::to_owned).collect())
        .collect()
}

/// The `.envctl` lines of the supervision snippet.
fn policy_snippet() -> Vec<String> {
    sh_block_after("**Supervision.**")
        .lines()
        .map(str::trim)
        .filter(|l| l.contains('='))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_quick_start_runs_as_written() {
    let w = World::new();
    let lines = quick_start();
    assert!(lines.len() >= 8, "{lines:?}");
    // The snippet goes into the sample's .envctl, as a user would paste it.
    let cfg = w.repo.join(".envctl");
    let mut conf = std::fs::read_to_string(&cfg).unwrap();
    for l in policy_snippet() {
        conf.push_str(&format!("{l}\n"));
    }
    std::fs::write(&cfg, conf).unwrap();
    for args in &lines {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = w.envctl(&a);
        assert_eq!(out.status.code(), Some(0), "envctl {a:?}: {}", text(&out));
        if a[0] == "daemon" {
            assert!(text(&out).contains("daemon running"), "{}", text(&out));
        }
    }
    let left = wait_clean(w.tmp.path());
    assert!(left.is_empty(), "the quick start left {left:?}");
    teardown(&w);
}

/// The `envctl …` lines of the README's "A day with three worktrees" block,
/// split like a shell would.
fn a_day() -> Vec<Vec<String>> {
    sh_block_after("### A day with three worktrees")
        .lines()
        .filter(|l| l.trim_start().starts_with("envctl "))
        .map(|l| {
            // A comment starts at "  #" (a `#` inside quotes is not one).
            let l = l.split("  #").next().unwrap();
            shlex::split(l).expect("a shell line")[1..].to_vec()
        })
        .collect()
}

#[test]
fn the_three_worktree_day_runs_as_written() {
    let w = World::new();
    let lines = a_day();
    assert!(lines.len() >= 9, "{lines:?}");
    for args in &lines {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = w.envctl(&a);
        assert_eq!(out.status.code(), Some(0), "envctl {a:?}: {}", text(&out));
        match a[0] {
            // Not on a terminal, the dashboard prints the state once.
            "dashboard" => assert!(text(&out).contains("feat-c-1"), "{}", text(&out)),
            // The migration reached feat-c-1's own database.
            "exec" => assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0"),
            "env" => assert!(
                text(&out).contains("DATABASE_URL=postgresql://"),
                "{}",
                text(&out)
            ),
            _ => {}
        }
    }
    assert!(!w.repo.join("trees/feat-c/1").exists());
    let left = wait_clean(w.tmp.path());
    assert!(left.is_empty(), "the walkthrough left {left:?}");
    teardown(&w);
}
