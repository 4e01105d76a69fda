#!/usr/bin/env python3
'''Python calls into the Rust actor `rustservice` through the registrar at
ARGV[1]; ARGV[2] picks what to do: `call`, `error`, `ctx`, `cancel`, and
the differences Python users found (issue 19): `kwargs` (an argument the
function does not take), `overflow` (ints Rust cannot hold), `deep`
(items nested past the limit), `big BYTES` (an item over the frame
limit); `ttylock` takes and releases the terminal lock the Rust root
serves in debug mode, with Python's own `lock_stdio_for_peer` dialog. Prints one line per result, for the Rust test to check.'''
import sys
from pathlib import Path

import trio
import tractor

sys.path.insert(0, str(Path(__file__).parent))
from peer_common import addr, transports  # noqa: E402
import rust_service  # noqa: E402  (stubs naming the Rust functions)


def nested(depth):
    '''`depth` lists, one inside the other (the innermost empty).'''
    v = []
    for _ in range(depth - 1):
        v = [v]
    return v


def depth_of(v):
    return 1 + max(map(depth_of, v), default=0) if isinstance(v, list) else 0


async def echo_once(portal, item, show=depth_of):
    '''Sends `item` through `rs_echo` and returns what came back, shown by
    `show`.'''
    async with portal.open_context(rust_service.rs_echo, greeting='hi') as (ctx, _):
        async with ctx.open_stream() as stream:
            await stream.send(item)
            back = await stream.receive()
    return f'echoed {show(back)}'


async def report(label, coro):
    '''Prints the outcome of `coro`: its value, or the error type, the
    remote type and the message.'''
    try:
        with trio.fail_after(30):
            out = await coro
        print(f'{label} -> ok {out}', flush=True)
    except tractor.RemoteActorError as err:
        # What a Python user reads: the boxed traceback's error line.
        boxed = getattr(err, 'boxed_type', None)
        summary = next(
            (ln for ln in reversed(err.tb_str.splitlines())
             if ln.startswith(f'{err.boxed_type_str}:')),
            err.tb_str.strip().splitlines()[-1] if err.tb_str.strip() else '',
        )
        print(
            f'{label} -> {type(err).__name__} {err.boxed_type_str} '
            f'{getattr(boxed, "__name__", boxed)} | {summary}',
            flush=True,
        )


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
            elif what == 'kwargs':
                await report('kwargs', portal.run(rust_service.add, x=1, y=2, z=3))
            elif what == 'overflow':
                # 2**63 does not fit the declared i64; 2**62 + 2**62
                # overflows inside the (debug-built) function.
                await report('convert', portal.run(rust_service.add, x=2**63, y=0))
                await report('arith', portal.run(rust_service.add, x=2**62, y=2**62))
            elif what == 'deep':
                for depth in (128, 129):
                    await report(f'depth {depth}', echo_once(portal, nested(depth)))
            elif what == 'ttylock':
                from tractor.devx.debug._tty_lock import (
                    LockRelease,
                    lock_stdio_for_peer,
                )
                me = tractor.current_actor().uid
                with trio.fail_after(30):
                    async with portal.open_context(
                        lock_stdio_for_peer,
                        subactor_task_uid=('main', 1),
                    ) as (ctx, status):
                        print(
                            'locked ->', type(status).__name__, status.locked,
                            tuple(status.subactor_uid) == tuple(me),
                            status.cid == ctx.cid,
                            flush=True,
                        )
                        async with ctx.open_stream() as stream:
                            await stream.send(
                                LockRelease(subactor_uid=me, cid=status.cid)
                            )
                            final = await ctx.wait_for_result()
                        print(
                            'released ->', type(final).__name__, final.locked,
                            flush=True,
                        )
            elif what == 'pldspec':
                # The spec string a Python opener puts in every `Start`.
                from tractor.msg import types as msgtypes
                start = msgtypes.Start(cid='c', ns='n', func='f', kwargs={}, uid=('a', 'b'))
                print('spec ->', start.pld_spec, flush=True)

                async def sum_of(*items):
                    async with portal.open_context(rust_service.rs_sum) as (ctx, first):
                        sums = [first]
                        async with ctx.open_stream() as stream:
                            for item in items:
                                await stream.send(item)
                                sums.append(await stream.receive())
                        return sums, await ctx.wait_for_result()

                await report('ints', sum_of(1, 2))
                await report('a str', sum_of(1, 'two'))
            elif what == 'big':
                size = int(sys.argv[3])
                await report('big', echo_once(portal, b'x' * size, show=len))
            if what in ('kwargs', 'overflow', 'deep', 'big', 'pldspec'):
                # The connection (and this portal) still works.
                print('after ->', await portal.run(rust_service.add, x=40, y=2), flush=True)


if __name__ == '__main__':
    trio.run(main)
