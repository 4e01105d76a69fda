'''Functions a Python actor offers to Rust callers (interop tests).'''
import trio
import tractor


async def add(x, y):
    return x + y


async def boom():
    raise ValueError('boom from python')


async def pause_then_add(x, y):
    '''Stops in Python's debugger (in debug mode: holding the root's
    terminal lock) until `c`, then answers.'''
    await tractor.pause()
    # Upstream bug (this tractor with trio >= 0.30, whose `Event.__bool__`
    # raises): once a REPL was used, the next `self.cancel` evaluates
    # `if DebugStatus.repl_release:` on the spent event and the actor's
    # message loop dies with NotImplementedError. Forget the spent event,
    # as `DebugStatus.release()` would if it reset it.
    from tractor.devx.debug import DebugStatus
    if DebugStatus.repl_release is not None and DebugStatus.repl_release.is_set():
        DebugStatus.repl_release = None
    return x + y


@tractor.context
async def echo_stream(ctx: tractor.Context, greeting: str):
    '''Callee end: started(greeting), echo every item, return the count.'''
    await ctx.started(greeting)
    n = 0
    async with ctx.open_stream() as stream:
        async for msg in stream:
            await stream.send(msg)
            n += 1
    return n


async def count_to(n: int):
    '''An async generator: yields 0..n-1 (streamed with open_stream_from).'''
    for i in range(n):
        yield i
        await trio.sleep(0)


async def count_then_fail(n: int):
    '''An async generator that raises after n items.'''
    for i in range(n):
        yield i
    raise ValueError(f'failed after {n} items')


@tractor.context
async def echo_then_raise(ctx: tractor.Context, greeting: str):
    '''Callee end that fails mid-stream: echoes the first item, then
    raises.'''
    await ctx.started(greeting)
    async with ctx.open_stream() as stream:
        async for msg in stream:
            await stream.send(msg)
            raise ValueError(f'python gave up after {msg!r}')


@tractor.context(pld_spec=int)
async def int_sum(ctx: tractor.Context):
    '''Callee end with a payload spec: started(0), answer each int with
    the running sum, return the total. Anything but an int is refused
    with a `MsgTypeError`.'''
    await ctx.started(0)
    total = 0
    async with ctx.open_stream() as stream:
        async for n in stream:
            total += n
            await stream.send(total)
    return total


@tractor.context
async def greets(ctx: tractor.Context):
    '''Starts with a str (for an opener that declared an int), then waits
    for the opener to end the context.'''
    await ctx.started('hello')
    await trio.sleep_forever()
