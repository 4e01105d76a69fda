#!/usr/bin/env bash
# The project's test command: installs what the tests need when it is
# missing, then runs every check and test. Safe to run again and again.
#
#   scripts/test.sh            # everything (what CI runs)
#   scripts/test.sh -- FILTER  # pass extra arguments to cargo nextest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ---- system packages -------------------------------------------------------
need_pkgs=()
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
{ command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir 2>/dev/null)/initdb" ] \
  || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || need_pkgs+=(postgresql)
command -v gdb >/dev/null 2>&1 || need_pkgs+=(gdb)
command -v git >/dev/null 2>&1 || need_pkgs+=(git)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing system packages: ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  # Debian starts the packaged servers; our tests run their own instances.
  $SUDO systemctl disable --now redis-server postgresql >/dev/null 2>&1 || true
  $SUDO service redis-server stop >/dev/null 2>&1 || true
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi

# ---- cargo tools -----------------------------------------------------------
if ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

# ---- Python tractor peer (live interop tests) -----------------------------
PEER_SETUP="../shared/peers/python-tractor/setup.sh"
if [ -x "$PEER_SETUP" ]; then
  say "building the Python tractor peer venv (cached)"
  if PEER_PYTHON_PATH="$("$PEER_SETUP")"; then
    export TRACTOR_PEER_PYTHON="$PEER_PYTHON_PATH"
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
say "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
say "all green"
