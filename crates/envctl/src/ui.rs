//! Progress while a lifecycle command works: a spinner on a terminal, plain
//! lines on stderr otherwise (or with `--headless`), so logs and CI output
//! stay readable. A command the daemon serves for a CLI sends these lines
//! to that CLI instead ([`crate::opctx`]), which shows them the same way.

use std::io::IsTerminal;
use std::sync::OnceLock;

static SPINNER: OnceLock<Option<indicatif::ProgressBar>> = OnceLock::new();

/// Chooses the display once per command.
pub fn init(headless: bool) {
    SPINNER.get_or_init(|| {
        (!headless && std::io::stderr().is_terminal()).then(|| {
            let pb = indicatif::ProgressBar::new_spinner();
            pb.enable_steady_tick(std::time::Duration::from_millis(100));
            pb
        })
    });
}

/// Reports one step.
pub fn step(msg: &str) {
    if crate::opctx::report(crate::opctx::Progress::Step(msg.to_owned())) {
        return;
    }
    match SPINNER.get() {
        Some(Some(pb)) => pb.set_message(msg.to_owned()),
        _ => eprintln!("envctl: {msg}"),
    }
}

/// Ends the display.
pub fn done() {
    if crate::opctx::report(crate::opctx::Progress::Done) {
        return;
    }
    if let Some(Some(pb)) = SPINNER.get() {
        pb.finish_and_clear();
    }
}

/// Reports something the user should know although the command goes on.
pub fn warn(msg: &str) {
    if crate::opctx::report(crate::opctx::Progress::Warn(msg.to_owned())) {
        return;
    }
    match SPINNER.get() {
        Some(Some(pb)) => pb.println(format!("envctl: warning: {msg}")),
        _ => eprintln!("envctl: warning: {msg}"),
    }
}

/// Prints a line of a command's report on stdout. A closed stdout (`|
/// head`) is not an error for a command that changes what runs: it goes on
/// and finishes its work (and its record) quietly.
pub fn say(line: &str) {
    if crate::opctx::report(crate::opctx::Progress::Say(line.to_owned())) {
        return;
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}
