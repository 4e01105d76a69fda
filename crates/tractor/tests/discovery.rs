//! Discovery edge cases: a name nobody registered, and the registrar
//! election between two roots of one session; Python's `query_actor`,
//! `open_portal` and `get_root`.

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

#[tractor::rpc]
async fn whoami(caller: tractor::Caller) -> String {
    caller.actor().name().to_owned()
}

/// Run in a child: the name of the actor `get_root()` reaches.
#[tractor::rpc]
async fn ask_root() -> Result<String, Error> {
    let root = tractor::get_root().await?;
    Ok(root.name().to_owned())
}

#[tractor::test(timeout = 30)]
async fn query_actor_gives_the_registered_address_and_open_portal_reaches_it() -> Result<(), Error>
{
    assert_eq!(tractor::query_actor("nobody-by-this-name").await?, None);
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("target", &[whoami::NS]).await?;
        // The child registers on its own time: wait for the registrar to
        // know it (its `wait_for_actor`, which answers once it does).
        let me = tractor::current_actor().expect("in the root");
        let reg = me.runtime_vars().registrars().remove(0);
        tractor::discovery::query_registrar(
            &reg,
            "wait_for_actor",
            vec![("name".into(), "target".into())],
        )
        .await?;
        let addr = tractor::query_actor("target")
            .await?
            .expect("the registrar knows the child");
        // The address is the one the child registered.
        let registered: Vec<_> = tractor::discovery::get_registry(&reg)
            .await?
            .into_iter()
            .filter(|(uid, _)| uid.name == "target")
            .flat_map(|(_, addrs)| addrs)
            .collect();
        assert!(registered.contains(&addr), "{addr} in {registered:?}");
        // A portal from the address alone, on a connection of its own.
        let direct = tractor::open_portal(&addr).await?;
        assert_eq!(direct.uid(), p.uid());
        assert_eq!(direct.run(whoami {}).await?, "target");
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn open_portal_refuses_this_actors_own_address_and_an_empty_one() -> Result<(), Error> {
    let me = tractor::current_actor().expect("in the root");
    let own = me.accept_addrs().remove(0);
    let e = tractor::open_portal(&own).await.unwrap_err();
    assert!(
        e.to_string().contains("that is this actor's own address"),
        "{e}"
    );
    // An address nothing listens at (a fresh socket path or a closed port).
    let nowhere = match &own {
        tractor::ipc::Addr::Uds(p) => tractor::ipc::Addr::Uds(p.with_file_name("nobody@1.sock")),
        _ => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            let a = l.local_addr().expect("its address");
            drop(l);
            tractor::ipc::Addr::Tcp(a)
        }
    };
    let e = tractor::open_portal(&nowhere).await.unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("nothing answers at {nowhere}")),
        "{e}"
    );
    Ok(())
}

#[tractor::test(timeout = 30)]
async fn get_root_reaches_the_root_from_a_child_and_is_refused_in_the_root() -> Result<(), Error> {
    let e = tractor::get_root().await.unwrap_err();
    assert!(
        e.to_string().contains("is the root of its tree itself"),
        "{e}"
    );
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("child", &[ask_root::NS]).await?;
        let me = tractor::current_actor().expect("in the root");
        assert_eq!(p.run(ask_root {}).await?, me.name());
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}
