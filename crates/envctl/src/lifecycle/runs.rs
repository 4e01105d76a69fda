//! The runs of a scope: every run has its folder `runs/<run-id>/`; the
//! *active* ones (more than one may be: a `--main` run beside a `--trees`
//! run) are what `resume`, `stop-all` and the supervisor act on.

use std::path::Path;

use serde_json::json;

use crate::state::{self, RunState};

/// Every active run of the scope, oldest first.
pub fn active_runs(scope: &Path) -> Vec<RunState> {
    let mut out: Vec<RunState> = all_runs(scope)
        .into_iter()
        .filter(RunState::is_active)
        .collect();
    out.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    out
}

/// Every run of the scope that has a folder, active or not.
pub fn all_runs(scope: &Path) -> Vec<RunState> {
    std::fs::read_dir(scope.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path().join("run_state.json")).ok()?;
            serde_json::from_str::<RunState>(&text).ok()
        })
        .collect()
}

/// Saves a run, mapping an I/O error to a failure naming the folder.
pub fn save_run(scope: &Path, run: &RunState) -> Result<(), crate::Failure> {
    run.save(scope).map_err(|e| {
        crate::Failure::Actionable(format!(
            "cannot save the state of {} under {}: {e}",
            run.run_id,
            scope.display()
        ))
    })
}

/// Marks a run active or not, with an event.
pub fn set_active(scope: &Path, run: &mut RunState, active: bool) {
    run.metadata.insert("active".into(), json!(active));
    state::event(
        scope,
        &run.run_id,
        if active {
            "state.active"
        } else {
            "state.inactive"
        },
        json!({"run_id": run.run_id}),
    );
}
