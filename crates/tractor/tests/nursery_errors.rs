//! An error in any child cancels its siblings and surfaces in the parent;
//! several at once surface together.

use std::time::Duration;

use tractor::Error;

#[tractor::rpc]
async fn fail_after(ms: u64, why: String) -> Result<(), std::io::Error> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Err(std::io::Error::other(why))
}

#[tractor::rpc]
async fn answer() -> u32 {
    42
}

#[tractor::test(timeout = 30)]
async fn run_in_actor_returns_results() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let a = n.run_in_actor("a", answer {}).await?;
        let b = n.run_in_actor("b", answer {}).await?;
        assert_eq!(a.result_as::<u32>().await?, 42);
        assert_eq!(b.result_as::<u32>().await?, 42);
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn one_failing_child_cancels_its_siblings() -> Result<(), Error> {
    let r = tractor::open_nursery(|n| async move {
        // A daemon that would run forever, and a one-shot actor that fails.
        n.start_actor("bystander", &[answer::NS]).await?;
        n.run_in_actor(
            "failing",
            fail_after {
                ms: 10,
                why: "disk full".into(),
            },
        )
        .await?;
        Ok(())
    })
    .await;
    let e = r.expect_err("the failure surfaces in the parent");
    let remote = e.as_remote().unwrap_or_else(|| panic!("{e}"));
    assert_eq!(remote.src_uid().name, "failing");
    assert_eq!(remote.message(), "disk full");
    // The bystander was cancelled: the harness's /proc check proves it is gone.
    Ok(())
}

#[tractor::test(timeout = 30)]
async fn several_failures_surface_together() -> Result<(), Error> {
    let r = tractor::open_nursery(|n| async move {
        n.run_in_actor(
            "f1",
            fail_after {
                ms: 0,
                why: "one".into(),
            },
        )
        .await?;
        n.run_in_actor(
            "f2",
            fail_after {
                ms: 0,
                why: "two".into(),
            },
        )
        .await?;
        // Wait for both to have failed before leaving the body.
        tokio::time::sleep(Duration::from_secs(600)).await;
        Ok(())
    })
    .await;
    let e = r.expect_err("failures surface");
    let names: Vec<String> = e
        .leaves()
        .iter()
        .filter_map(|l| l.as_remote().map(|r| r.src_uid().name.clone()))
        .collect();
    assert!(!names.is_empty(), "{e}");
    assert!(names.iter().all(|n| n == "f1" || n == "f2"), "{e}");
    // Whichever fails first cancels the other; when the second failure
    // beats its own cancellation, both are reported in one error.
    if names.len() == 2 {
        assert!(matches!(e, Error::Multi(_)), "{e}");
        assert!(
            e.to_string().starts_with("2 errors in actor nursery"),
            "{e}"
        );
    }
    Ok(())
}

#[tractor::test(timeout = 30)]
async fn an_error_in_the_body_cancels_the_children() -> Result<(), Error> {
    let r: Result<(), Error> = tractor::open_nursery(|n| async move {
        n.start_actor("idle", &[]).await?;
        Err(Error::Config("the body gave up".into()))
    })
    .await;
    assert_eq!(
        r.unwrap_err().to_string(),
        "runtime configuration: the body gave up"
    );
    Ok(())
}
