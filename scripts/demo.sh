#!/usr/bin/env bash
# The project's main job, on a fresh machine:
#  1. envctl on the sample repository: two git worktrees, each with its own
#     Postgres, Redis, backend and frontend on non-conflicting ports; their
#     health and URLs are shown, then everything is torn down;
#  2. the actor-tree demo: a root with 2 branches of 2 leaves each (seven
#     processes), printed, running until Ctrl-C cancels it in order.
#
#   scripts/demo.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

scripts/install-deps.sh
say "building"
cargo build -q -p envctl -p tractor --example actor_tree
ENVCTL="$PWD/target/debug/envctl"

say "envctl on the sample repository"
work="$(mktemp -d)"
export RUN_SH_RUNTIME_DIR="$work/runtime"
cleanup() { (cd "$work/sample" 2>/dev/null && "$ENVCTL" blast-all --remove-volumes >/dev/null 2>&1) || true; rm -rf "$work"; }
trap cleanup EXIT
cp -r examples/envctl-sample "$work/sample"
cd "$work/sample"
git init -q -b main && git add -A
git -c user.name=demo -c user.email=demo@example.invalid commit -qm sample
git worktree add -q trees/feat-a/1 -b feat-a-1
git worktree add -q trees/feat-b/1 -b feat-b-1
"$ENVCTL" list-trees
"$ENVCTL" start --trees --isolated-deps --headless
"$ENVCTL" health
"$ENVCTL" endpoints
say "tearing the environments down"
"$ENVCTL" blast-all --remove-volumes
cd - >/dev/null

say "the actor tree (Ctrl-C to cancel it)"
target/debug/examples/actor_tree
