//! Progress while a lifecycle command works: a spinner on a terminal, plain
//! lines on stderr otherwise (or with `--headless`), so logs and CI output
//! stay readable. A command the daemon serves for a CLI sends these lines
//! to that CLI instead ([`crate::opctx`]), which shows them the same way.

use std::io::IsTerminal;
use std::sync::OnceLock;

/// When status words are coloured (`--color`, `ENVCTL_COLOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is unset
    /// (`CLICOLOR_FORCE` forces colour).
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The variable that carries the CLI's decision to the daemon, which
/// renders a served command's report for it.
pub const COLOR_VAR: &str = "ENVCTL_COLOR";

static COLOUR: OnceLock<bool> = OnceLock::new();

fn decide(choice: ColorChoice) -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    let choice = match (choice, std::env::var(COLOR_VAR).as_deref()) {
        (ColorChoice::Auto, Ok("always")) => ColorChoice::Always,
        (ColorChoice::Auto, Ok("never")) => ColorChoice::Never,
        (c, _) => c,
    };
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto
            if set("CLICOLOR_FORCE") && std::env::var("CLICOLOR_FORCE").as_deref() != Ok("0") =>
        {
            true
        }
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var("TERM").as_deref() != Ok("dumb")
        }
    }
}

/// Decides colour once per command (`--color`; the default is `auto`).
pub fn init_colour(choice: ColorChoice) {
    COLOUR.get_or_init(|| decide(choice));
}

/// Whether this command's report is coloured: the CLI's decision, also
/// when the daemon renders the report for it.
pub fn colour() -> bool {
    if let Some(env) = crate::opctx::served_env() {
        return env.get(COLOR_VAR).is_some_and(|v| v == "always");
    }
    *COLOUR.get_or_init(|| decide(ColorChoice::Auto))
}

/// A status word padded to `width`, coloured when [`colour`] says so:
/// green for what works, yellow for what is on its way, red for what is
/// broken, dim for what was stopped on purpose.
pub fn status(word: &str, width: usize) -> String {
    paint(word, width, colour())
}

fn paint(word: &str, width: usize, colour: bool) -> String {
    let padded = format!("{word:<width$}");
    if !colour {
        return padded;
    }
    let code = match word {
        "running" | "healthy" => "32",
        "starting" | "restarting" | "stale" => "33",
        "failed" | "unreachable" | "termination_failed" | "crashed" => "1;31",
        "stopped" => "2",
        _ => return padded,
    };
    // The padding stays outside the colour, so columns line up.
    format!("\x1b[{code}m{word}\x1b[0m{}", &padded[word.len()..])
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_word_keeps_its_column_with_or_without_colour() {
        assert_eq!(paint("running", 10, false), "running   ");
        assert_eq!(paint("running", 10, true), "\x1b[32mrunning\x1b[0m   ");
        assert_eq!(paint("failed", 8, true), "\x1b[1;31mfailed\x1b[0m  ");
        assert_eq!(paint("stopped", 7, true), "\x1b[2mstopped\x1b[0m");
        // A word we do not know is left plain; a long one is not cut.
        assert_eq!(paint("unknownish", 4, true), "unknownish");
    }
}
