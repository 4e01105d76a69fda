//! Two sibling actors crash at once in debug mode, for
//! `tests/debug_crash.rs`: the root starts `left` and `right`, opens a
//! context with each (both are then waiting on their stream), and sends
//! both the word to crash in one go; both panic at (nearly) the same time
//! and queue on the root's terminal lock. The root waits for both
//! results, then fails with the first.

/// Says `started`, waits for one message on the stream, then panics.
#[tractor::context]
async fn crash_on_go(ctx: tractor::Context<tractor::Callee<(), ()>>) -> Result<(), tractor::Error> {
    ctx.started(&()).await?;
    let mut stream = ctx.open_stream();
    stream.recv().await?;
    let me = tractor::current_actor().map(|a| a.name().to_owned());
    panic!("{} blew up", me.unwrap_or_default());
}

fn main() -> std::process::ExitCode {
    tractor::maybe_run_child();
    tractor::devx::panics::install_hook();
    let mut rtv = match tractor::RuntimeVars::from_env() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    rtv.debug_mode = true;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let cfg = tractor::RootConfig::named("root").with_vars(rtv);
    let out = rt.block_on(tractor::run_root(cfg, || async {
        tractor::open_nursery(|n| async move {
            let left = n.start_actor("left", &[crash_on_go::NS]).await?;
            let right = n.start_actor("right", &[crash_on_go::NS]).await?;
            let (l, ()) = left.open_context(crash_on_go {}).await?;
            let (r, ()) = right.open_context(crash_on_go {}).await?;
            let (ls, rs) = (l.open_stream(), r.open_stream());
            let (a, b) = tokio::join!(ls.send(&()), rs.send(&()));
            a?;
            b?;
            println!("both told to crash");
            let (a, b) = tokio::join!(l.result(), r.result());
            a.and(b)
        })
        .await
    }));
    match out {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test_debug_siblings: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
