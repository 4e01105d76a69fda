#!/usr/bin/env python3
'''Python calls into the Rust actor `rustservice` through the registrar at
ARGV[1]; ARGV[2] picks what to do: `call`, `error`, `ctx`, `cancel`.
Prints one line per result, for the Rust test to check.'''
import sys
from pathlib import Path

import trio
import tractor

sys.path.insert(0, str(Path(__file__).parent))
from peer_common import addr, transports  # noqa: E402
import rust_service  # noqa: E402  (stubs naming the Rust functions)


async def main():
    reg = addr(sys.argv[1])
    what = sys.argv[2]
    async with tractor.open_root_actor(
        name='pyclient',
        registry_addrs=[reg],
        enable_transports=transports(reg),
    ):
        async with tractor.wait_for_actor('rustservice') as portal:
            if what == 'call':
                print('add ->', await portal.run(rust_service.add, x=40, y=2), flush=True)
            elif what == 'error':
                try:
                    await portal.run(rust_service.fail, why='test')
                except tractor.RemoteActorError as err:
                    print('error ->', type(err).__name__, err.src_type_str, err.boxed_type_str, flush=True)
            elif what == 'ctx':
                async with portal.open_context(rust_service.rs_echo, greeting='hi from python') as (ctx, first):
                    print('started ->', first, flush=True)
                    async with ctx.open_stream() as stream:
                        for i in range(3):
                            await stream.send({'i': i})
                            print('echo ->', await stream.receive(), flush=True)
                    print('result ->', await ctx.wait_for_result(), flush=True)
            elif what == 'cancel':
                print('cancel ->', await portal.cancel_actor(), flush=True)


if __name__ == '__main__':
    trio.run(main)
