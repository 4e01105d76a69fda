//! A root actor that serves the terminal lock until Ctrl-C (when its
//! envelope says `debug_mode`), for `tests/tty_lock.rs`.

#[tractor::main(name = "lockserver")]
async fn main() -> Result<(), tractor::Error> {
    let me = tractor::current_actor().expect("in the root");
    println!(
        "lock server ready (registrar: {}, debug mode: {})",
        me.is_registrar(),
        me.runtime_vars().debug_mode
    );
    std::future::pending::<()>().await;
    Ok(())
}
