//! Discovery edge cases: a name nobody registered, and the registrar
//! election between two roots of one session.

use tractor::Error;

#[tractor::rpc]
async fn look_for(name: String) -> Result<bool, Error> {
    Ok(tractor::find_actor(&name).await?.is_some())
}

#[tractor::test(timeout = 30)]
async fn find_actor_of_a_missing_name_is_none_at_once() -> Result<(), Error> {
    // In the registrar itself, and from a child asking it over the wire.
    assert!(tractor::find_actor("nobody-by-this-name").await?.is_none());
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("seeker", &[look_for::NS]).await?;
        assert!(
            !p.run(look_for {
                name: "nobody-by-this-name".into()
            })
            .await?
        );
        assert!(
            p.run(look_for {
                name: "root".into()
            })
            .await?
        );
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn a_second_root_of_the_session_joins_the_first_ones_registrar() -> Result<(), Error> {
    let first = tractor::current_actor().expect("in the root");
    assert!(first.is_registrar(), "the first root became the registrar");
    let rv = first.runtime_vars().clone();
    // The second root runs on a thread of its own, with its own runtime.
    let second = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let cfg = tractor::RootConfig::named("second").with_vars(rv);
        rt.block_on(tractor::run_root(cfg, || async {
            let me = tractor::current_actor().expect("in the second root");
            let found = tractor::find_actor("root").await?.is_some();
            Ok::<_, Error>((me.is_registrar(), found))
        }))
    });
    let (is_registrar, found) = tokio::task::spawn_blocking(move || second.join())
        .await
        .expect("joined")
        .expect("the second root did not panic")?;
    assert!(!is_registrar, "one registrar per session: the second joins");
    assert!(found, "the second root finds the first through it");
    Ok(())
}
