#!/usr/bin/env bash
# The project's test command: installs what the tests need when it is
# missing, then runs every check and test. Safe to run again and again.
#
#   scripts/test.sh            # everything (what CI runs)
#   scripts/test.sh -- FILTER  # pass extra arguments to cargo nextest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ---- system packages and cargo tools ---------------------------------------
NEED_NEXTEST=1 scripts/install-deps.sh

# ---- Python tractor peer (live interop tests) -----------------------------
PEER_SETUP="../shared/peers/python-tractor/setup.sh"
if [ -x "$PEER_SETUP" ]; then
  say "building the Python tractor peer venv (cached)"
  if PEER_PYTHON_PATH="$("$PEER_SETUP")"; then
    export TRACTOR_PEER_PYTHON="$PEER_PYTHON_PATH"
    # Python tractor's own discovery tests run in the live interop suite
    # (crates/tractor-cli/tests/py/run_discovery_tests.py); their test
    # dependencies, as pinned in its pyproject's `testing` group.
    if ! "$PEER_PYTHON_PATH" -c 'import pytest, pytest_timeout, psutil' 2>/dev/null; then
      say "installing pytest into the Python tractor peer venv"
      "$PEER_PYTHON_PATH" -m pip install -q 'pytest>=9.0.3' 'pytest-timeout>=2.3' 'psutil>=7.0.0' >&2
    fi
  else
    say "warning: could not build the Python tractor peer; interop tests will fail"
  fi
fi

# ---- checks and tests ------------------------------------------------------
say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
say "building examples (tests run them)"
cargo build --workspace --examples --quiet
say "cargo nextest"
cargo nextest run --workspace --profile ci "${@:2}"
# `--workspace` on both (and `--examples` on the docs), so they resolve the
# same features and units as the steps before and rebuild nothing of the
# dependencies: `-p tractor` alone resolved tokio's features anew and
# rebuilt tokio, etcd-client and tractor (90 s of a cold CI run).
say "doctests (the compile_fail ones show what must not compile)"
cargo test --workspace --doc --quiet
say "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --examples --quiet
say "all green"
