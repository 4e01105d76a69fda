#!/usr/bin/env python3
'''A Python registrar at ARGV[1] ("tcp:HOST:PORT" or "uds:DIR:FILE").'''
import sys

import trio
import tractor


def addr(spec):
    kind, a, b = spec.split(':', 2)
    return (a, int(b)) if kind == 'tcp' else (a, b)


async def main():
    reg = addr(sys.argv[1])
    async with tractor.open_root_actor(
        name='registrar',
        registry_addrs=[reg],
        enable_transports=['tcp' if isinstance(reg[1], int) else 'uds'],
    ):
        print('registrar up', flush=True)
        await trio.sleep_forever()


if __name__ == '__main__':
    try:
        trio.run(main)
    except KeyboardInterrupt:
        pass
