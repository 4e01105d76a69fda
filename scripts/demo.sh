#!/usr/bin/env bash
# The project's main job: builds and runs the actor-tree demo (a root with
# 2 branches of 2 leaves each, seven processes), which prints the tree and
# runs until Ctrl-C, then cancels it in order and exits.
#
#   scripts/demo.sh           # the actor tree
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build -q -p tractor --example actor_tree
exec target/debug/examples/actor_tree
