#!/usr/bin/env bash
# Installs what the project needs when it is missing (used by demo.sh and
# test.sh; not one of the README's two commands by itself):
# system packages with apt, cargo-nextest with cargo.
set -euo pipefail

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_pkgs=()
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
{ command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir 2>/dev/null)/initdb" ] \
  || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || need_pkgs+=(postgresql)
command -v psql >/dev/null 2>&1 || need_pkgs+=(postgresql-client)
command -v gdb >/dev/null 2>&1 || need_pkgs+=(gdb)
command -v git >/dev/null 2>&1 || need_pkgs+=(git)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
command -v runuser >/dev/null 2>&1 || need_pkgs+=(util-linux)
# The dashboard test drives `envctl dashboard` in a real terminal.
command -v tmux >/dev/null 2>&1 || need_pkgs+=(tmux)
# The two-hosts TLS tests build hosts from network namespaces (ip netns).
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing system packages: ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  # Debian starts the packaged servers; envctl and the tests run their own.
  $SUDO systemctl disable --now redis-server postgresql >/dev/null 2>&1 || true
  $SUDO service redis-server stop >/dev/null 2>&1 || true
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi

if [ "${NEED_NEXTEST:-0}" = 1 ] && ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
