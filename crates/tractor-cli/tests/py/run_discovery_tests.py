#!/usr/bin/env python3
'''Runs Python tractor's own discovery tests (ARGV[1]: the unpacked pinned
source, whose `tests/` are used in place, unchanged) with our `tractor
registrar` (env TRACTOR_BIN) standing in for Python's `daemon` fixture,
through the `rust_registrar_daemon` plugin next to this file.

Selection (to fit CI's budget and to test what is ours): the tests of
`test_multi_program.py`, `test_registrar.py` and `test_tpt_bind_addrs.py`
that use the `daemon` fixture (the others never talk to our registrar),
over TCP, each bounded by pytest-timeout; minus
`test_dup_name_cancel_cascade_escalates_to_hard_kill[n_dups=4/8]` (xfail
upstream; the same path as `n_dups=2`, which runs, at 7 s and 16 s).
Extra arguments go to pytest.'''
import os
import sys
from pathlib import Path

import pytest


def main() -> int:
    src = Path(sys.argv[1]).resolve()
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    os.environ.setdefault('RUST_DAEMON_ONLY_DAEMON_TESTS', '1')
    # Python's pyproject `addopts` name paths relative to the source root.
    os.chdir(src)
    return pytest.main([
        '-p', 'rust_registrar_daemon',
        '-p', 'no:cacheprovider',
        '--timeout=60',
        '-rA',
        '--tpt-proto=tcp',
        'tests/discovery/test_multi_program.py',
        'tests/discovery/test_registrar.py',
        'tests/discovery/test_tpt_bind_addrs.py',
        '--deselect',
        'tests/discovery/test_multi_program.py::'
        'test_dup_name_cancel_cascade_escalates_to_hard_kill[n_dups=4]',
        '--deselect',
        'tests/discovery/test_multi_program.py::'
        'test_dup_name_cancel_cascade_escalates_to_hard_kill[n_dups=8]',
        *sys.argv[2:],
    ])


if __name__ == '__main__':
    sys.exit(main())
