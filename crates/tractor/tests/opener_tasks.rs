//! Caller-side contexts in the task tree: a context this actor opened
//! (`open_context`, `with_context`) is listed in its task tree, with its
//! cid, the peer and the function, under the task that opened it, and
//! leaves the tree when it ends. Read through `self._task_tree`, as
//! `tractor tree --tasks` does.

use tractor::{Error, Portal};

/// Says `started` and ends: the opener keeps its end open until it asks
/// for the result.
#[tractor::context]
async fn parked(ctx: tractor::Context<tractor::Callee<()>>) -> Result<(), Error> {
    ctx.started(&()).await
}

/// Opens two contexts with `parked` in the actor named `far` (one with
/// `open_context`, one with `with_context`), says their cids, and keeps
/// both open until its opener closes its stream.
#[tractor::context]
async fn open_two(
    ctx: tractor::Context<tractor::Callee<(String, String), ()>>,
    far: String,
) -> Result<(), Error> {
    let p = tractor::wait_for_actor(&far).await?;
    let (first, ()) = p.open_context(parked {}).await?;
    let first_cid = first.cid().to_owned();
    p.with_context(parked {}, |second, ()| async move {
        ctx.started(&(first_cid, second.cid().to_owned())).await?;
        let mut stream = ctx.open_stream();
        while stream.recv().await?.is_some() {}
        Ok(())
    })
    .await?;
    first.result().await
}

async fn task_tree(p: &Portal) -> Result<String, Error> {
    let v = p.run_from_ns("self", "_task_tree", vec![]).await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

/// Where the entry's kind starts on its line (its depth in the tree).
fn depth(line: &str) -> usize {
    line.chars()
        .take_while(|c| !c.is_ascii_alphabetic())
        .count()
}

fn line_with<'a>(tree: &'a str, needle: &str) -> &'a str {
    tree.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} in the task tree:\n{tree}"))
}

#[tractor::test(timeout = 60)]
async fn contexts_an_actor_opened_are_in_its_task_tree_until_they_end() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let _far = n.start_actor("far", &[parked::NS]).await?;
        let middle = n.start_actor("middle", &[open_two::NS]).await?;
        let (ctx, (c1, c2)) = middle.open_context(open_two { far: "far".into() }).await?;

        // The root's own tree: the context it opened, with its peer.
        let me = tractor::current_actor().expect("in the root");
        let mine = me.task_tree();
        line_with(
            &mine,
            &format!(
                "context {}.open_two cid={} peer=middle (opener)",
                open_two::NS,
                ctx.cid()
            ),
        );

        // middle's tree: both contexts it opened, under the served
        // context that opened them.
        let tree = task_tree(&middle).await?;
        let served = line_with(
            &tree,
            &format!(
                "context {}.open_two cid={} caller=",
                open_two::NS,
                ctx.cid()
            ),
        );
        for cid in [&c1, &c2] {
            let opened = line_with(
                &tree,
                &format!("context {}.parked cid={cid} peer=far (opener)", parked::NS),
            );
            assert_eq!(depth(opened), depth(served) + 4, "nested:\n{tree}");
        }

        // Ended (closing our stream ends middle's loop): both leave
        // middle's tree, and ours leaves the root's.
        ctx.open_stream().close().await?;
        ctx.result().await?;
        let tree = task_tree(&middle).await?;
        assert!(!tree.contains("(opener)"), "{tree}");
        assert!(!tree.contains(".open_two"), "{tree}");
        let mine = me.task_tree();
        assert!(!mine.contains("(opener)"), "{mine}");
        n.cancel().await;
        Ok(())
    })
    .await
}
