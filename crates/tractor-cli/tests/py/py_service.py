#!/usr/bin/env python3
'''A Python root actor that registers with the registrar at ARGV[1]
("tcp:HOST:PORT" or "uds:DIR:FILE") under the name ARGV[2], offers
`py_funcs`, says "ready", and serves until cancelled.'''
import sys
from pathlib import Path

import trio
import tractor

sys.path.insert(0, str(Path(__file__).parent))
from peer_common import addr, transports  # noqa: E402


async def main():
    reg = addr(sys.argv[1])
    async with tractor.open_root_actor(
        name=sys.argv[2],
        registry_addrs=[reg],
        enable_modules=['py_funcs'],
        enable_transports=transports(reg),
    ):
        print('ready', flush=True)
        await trio.sleep_forever()


if __name__ == '__main__':
    try:
        trio.run(main)
    except KeyboardInterrupt:
        pass
    print('python service exited', flush=True)
