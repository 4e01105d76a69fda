//! Replays the kept corpus of the `message_loop` fuzz target through the
//! same harness (`tests/fuzzing/message_loop.rs`), so CI checks every
//! input found so far on stable Rust, without libFuzzer.

mod fuzzing;

use std::path::PathBuf;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/message_loop")
}

#[test]
fn every_kept_message_loop_input_is_served_cleanly() {
    let dir = corpus();
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 10,
        "{}: only {} inputs; the kept corpus is missing",
        dir.display(),
        inputs.len()
    );
    for p in &inputs {
        let data = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        fuzzing::message_loop::run(&data);
    }
}
