//! `tractor::testing::dump_on_hang`: a test that outlives its limit gets
//! every actor's task tree written (this process's actors directly, child
//! processes through a relayed `SIGUSR1`); a test that ends in time gets
//! nothing.

use std::time::Duration;

use tractor::testing::dump_on_hang;

#[tractor::test(timeout = 60)]
async fn a_test_past_its_limit_dumps_the_task_trees_of_its_tree() -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("sleeper", &[]).await?;
        let watch = dump_on_hang(Duration::from_millis(200));
        // The test "hangs" here until the watch has fired.
        let dump = tokio::task::spawn_blocking(move || watch.wait())
            .await
            .expect("the waiting thread")
            .expect("the watch fired");
        let texts: Vec<String> = dump
            .files
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("a dump file"))
            .collect();
        let root = texts
            .iter()
            .find(|t| t.contains("actor 'root'"))
            .unwrap_or_else(|| panic!("no dump of the root in {texts:?}"));
        assert!(
            root.starts_with("# test still running after 200ms"),
            "{root}"
        );
        assert!(root.contains("nursery actor nursery"), "{root}");
        assert!(root.contains("actor sleeper"), "{root}");
        let me = tractor::current_actor().expect("in the root");
        match me.runtime_vars().spawn_method {
            // A process child is asked to dump its own tree.
            tractor::SpawnMethod::Process => {
                let pid = p.pid().expect("a process child's pid") as u32;
                assert_eq!(dump.relayed_to, vec![pid]);
            }
            // A thread child is an actor of this process: dumped here.
            tractor::SpawnMethod::Thread => {
                assert!(dump.relayed_to.is_empty(), "{:?}", dump.relayed_to);
                assert!(
                    texts.iter().any(|t| t.contains("actor 'sleeper'")),
                    "{texts:?}"
                );
            }
        }
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn a_test_that_ends_in_time_dumps_nothing() -> Result<(), tractor::Error> {
    let watch = dump_on_hang(Duration::from_secs(600));
    assert!(watch.finish().is_none());
    Ok(())
}
