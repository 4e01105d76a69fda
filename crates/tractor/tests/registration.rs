//! Registration at spawn. A child of the registrar registers through the
//! connection to its parent (no round trip of its own before it serves);
//! any other child on a connection of its own. Either way it is in the
//! registry by the time it has answered its first call, and out of it
//! once it has exited.

use std::sync::Arc;

use tractor::Error;

#[tractor::rpc]
async fn ping() -> u32 {
    7
}

/// Whether the registrar knows an actor named `name`, asked on a
/// connection of its own (not through the caller's peers, which a
/// parent's `find_actor` would use).
async fn registered(name: &str) -> Result<bool, Error> {
    let me = tractor::current_actor().expect("an actor");
    let reg = me.runtime_vars().registrars()[0].clone();
    let found =
        tractor::discovery::query_registrar(&reg, "find_actor", vec![("name".into(), name.into())])
            .await?;
    Ok(!found.is_nil())
}

/// Spawns `leaf` here (a child that is not the registrar), calls it once
/// and says whether the registrar knows it right then.
#[tractor::rpc]
async fn spawn_leaf_and_look() -> Result<bool, Error> {
    tractor::open_nursery(|n| async move {
        let leaf = n.start_actor("leaf", &[ping::NS]).await?;
        assert_eq!(leaf.run(ping {}).await?, 7);
        let known = registered("leaf").await?;
        leaf.cancel_actor().await?;
        Ok(known)
    })
    .await
}

#[tractor::test(timeout = 60)]
async fn a_child_of_the_registrar_is_registered_once_it_has_answered() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("fresh", &[ping::NS]).await?;
        assert_eq!(p.run(ping {}).await?, 7);
        assert!(
            registered("fresh").await?,
            "not in the registry after its first answer"
        );
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 60)]
async fn a_thread_child_of_the_registrar_is_registered_once_it_has_answered() -> Result<(), Error> {
    let thread: Arc<dyn tractor::spawn::SpawnBackend> = Arc::new(tractor::spawn::ThreadBackend);
    tractor::open_nursery(|n| async move {
        for i in 0..3 {
            let name = format!("fresh-thread-{i}");
            let p = n
                .start_actor_with(&name, &[ping::NS], thread.clone())
                .await?;
            assert_eq!(p.run(ping {}).await?, 7);
            assert!(registered(&name).await?, "{name} not in the registry");
            p.cancel_actor().await?;
        }
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 60)]
async fn a_grandchild_is_registered_once_it_has_answered() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let mid = n
            .start_actor("mid", &[spawn_leaf_and_look::NS, ping::NS])
            .await?;
        assert!(
            mid.run(spawn_leaf_and_look {}).await?,
            "the leaf was not in the registry after its first answer"
        );
        mid.cancel_actor().await?;
        Ok(())
    })
    .await?;
    // The leaf's parent is not the registrar: it unregistered on a
    // connection of its own.
    assert!(!registered("leaf").await?, "the leaf is still registered");
    Ok(())
}

#[tractor::test(timeout = 60)]
async fn a_child_that_exited_is_no_longer_registered() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("brief", &[ping::NS]).await?;
        assert_eq!(p.run(ping {}).await?, 7);
        p.cancel_actor().await?;
        Ok(())
    })
    .await?;
    // The nursery has waited for the child's exit, which unregistered it
    // (after its registration through the parent was answered).
    assert!(
        !registered("brief").await?,
        "still registered after its exit"
    );
    Ok(())
}

#[tractor::test(timeout = 60)]
async fn a_child_cancelled_at_once_leaves_no_registration_behind() -> Result<(), Error> {
    // Cancelled before its registration can have been answered: the
    // unregistration must not overtake it.
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("hasty", &[ping::NS]).await?;
        p.cancel_actor().await?;
        Ok(())
    })
    .await?;
    assert!(!registered("hasty").await?, "registered after its exit");
    Ok(())
}

#[tractor::test(timeout = 60)]
async fn thread_children_that_exited_are_no_longer_registered() -> Result<(), Error> {
    // They unregister through the connection to their parent, as they
    // registered.
    let thread: Arc<dyn tractor::spawn::SpawnBackend> = Arc::new(tractor::spawn::ThreadBackend);
    tractor::open_nursery(|n| async move {
        for i in 0..3 {
            let name = format!("brief-thread-{i}");
            let p = n
                .start_actor_with(&name, &[ping::NS], thread.clone())
                .await?;
            assert_eq!(p.run(ping {}).await?, 7);
            p.cancel_actor().await?;
        }
        Ok(())
    })
    .await?;
    for i in 0..3 {
        let name = format!("brief-thread-{i}");
        assert!(!registered(&name).await?, "{name} still registered");
    }
    Ok(())
}
