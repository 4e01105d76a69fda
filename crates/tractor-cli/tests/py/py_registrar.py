#!/usr/bin/env python3
'''A Python registrar at ARGV[1] ("tcp:HOST:PORT" or "uds:DIR:FILE").'''
import sys
from pathlib import Path

import trio
import tractor

sys.path.insert(0, str(Path(__file__).parent))
from peer_common import addr, transports  # noqa: E402


async def main():
    reg = addr(sys.argv[1])
    async with tractor.open_root_actor(
        name='registrar',
        registry_addrs=[reg],
        enable_transports=transports(reg),
    ):
        print('registrar up', flush=True)
        await trio.sleep_forever()


if __name__ == '__main__':
    try:
        trio.run(main)
    except KeyboardInterrupt:
        pass
