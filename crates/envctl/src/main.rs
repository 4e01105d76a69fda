//! `envctl`: local development environments for a repository and each of
//! its git worktrees.

use clap::Parser;

/// Local development environments for every git worktree of a repository.
#[derive(Debug, Parser)]
#[command(name = "envctl", version, about, long_about = None)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
