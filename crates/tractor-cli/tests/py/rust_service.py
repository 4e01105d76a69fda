'''Stubs named like the functions the Rust actor `rustservice` offers in
its namespace `rust_service`, so Python's `Portal.run`/`open_context`
(which take function objects) can address them. Never run locally.'''
import tractor


async def add(x, y):
    raise NotImplementedError('runs in the Rust actor')


async def fail(why):
    raise NotImplementedError('runs in the Rust actor')


@tractor.context
async def rs_echo(ctx: tractor.Context, greeting: str):
    raise NotImplementedError('runs in the Rust actor')


@tractor.context(pld_spec=int)
async def rs_sum(ctx: tractor.Context):
    raise NotImplementedError('runs in the Rust actor')
