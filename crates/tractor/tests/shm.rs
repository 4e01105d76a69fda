//! The shared-memory channel: a large transfer arrives intact, cancelling
//! mid-transfer and a crashing writer both end it cleanly, and no
//! shared-memory object is left behind.

use tractor::Error;
use tractor::shm::ShmOffer;

const RECORD: usize = 256 * 1024;

/// Deterministic content: record `i` is the u64 `i * K + w` at word `w`.
fn fill(i: u64, buf: &mut [u8]) {
    for (w, chunk) in buf.chunks_exact_mut(8).enumerate() {
        let v = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(w as u64);
        chunk.copy_from_slice(&v.to_le_bytes());
    }
}

fn checksum(acc: u64, buf: &[u8]) -> u64 {
    buf.chunks_exact(8).fold(acc, |a, c| {
        a.rotate_left(5) ^ u64::from_le_bytes(c.try_into().expect("8 bytes"))
    })
}

/// Open memfds of this process named like our rings.
fn rings_open_here() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|rd| {
            rd.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|l| l.to_string_lossy().contains("memfd:tractor-shm"))
                .count()
        })
        .unwrap_or(0)
}

/// Writes `records` records, then returns their checksum. With `crash_after`
/// set, the process aborts after that many records instead.
#[tractor::context]
async fn producer(
    ctx: tractor::Context<tractor::Callee<tractor::shm::ShmOffer>>,
    records: u64,
    crash_after: Option<u64>,
) -> Result<u64, Error> {
    let (mut tx, offer) = ctx.open_shm_writer(4 * RECORD).await?;
    ctx.started(&offer).await?;
    let mut buf = vec![0u8; RECORD];
    let mut sum = 0u64;
    for i in 0..records {
        if crash_after == Some(i) {
            std::process::abort();
        }
        fill(i, &mut buf);
        sum = checksum(sum, &buf);
        tx.send(&buf).await?;
    }
    Ok(sum)
}

#[tractor::test(timeout = 120)]
async fn a_gibibyte_arrives_intact() -> Result<(), Error> {
    const RECORDS: u64 = (1 << 30) / RECORD as u64;
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("producer", &[producer::NS]).await?;
        let (ctx, offer): (_, ShmOffer) = p
            .open_context(producer {
                records: RECORDS,
                crash_after: None,
            })
            .await?;
        let mut rx = ctx.accept_shm_reader(&offer).await?;
        let mut buf = Vec::new();
        let (mut sum, mut count, mut bytes) = (0u64, 0u64, 0usize);
        while rx.recv(&mut buf).await? {
            sum = checksum(sum, &buf);
            count += 1;
            bytes += buf.len();
        }
        assert_eq!(count, RECORDS);
        assert_eq!(bytes, 1 << 30);
        assert_eq!(ctx.result().await?, sum, "checksums match");
        drop(rx);
        p.cancel_actor().await?;
        Ok(())
    })
    .await?;
    assert_eq!(rings_open_here(), 0, "no shared-memory object left");
    Ok(())
}

#[tractor::test(timeout = 60)]
async fn cancelling_mid_transfer_frees_the_ring() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("producer", &[producer::NS]).await?;
        let (ctx, offer): (_, ShmOffer) = p
            .open_context(producer {
                records: u64::MAX,
                crash_after: None,
            })
            .await?;
        let mut rx = ctx.accept_shm_reader(&offer).await?;
        let mut buf = Vec::new();
        for _ in 0..10 {
            assert!(rx.recv(&mut buf).await?);
        }
        assert!(ctx.cancel().await?, "the producer acknowledged");
        // The writer is dropped with its task: the reader drains what was
        // written and then sees the end.
        while rx.recv(&mut buf).await? {}
        let e = ctx.result().await.unwrap_err();
        assert_eq!(
            e.as_remote().map(|r| r.boxed_type()),
            Some("ContextCancelled")
        );
        drop(rx);
        p.cancel_actor().await?;
        Ok(())
    })
    .await?;
    assert_eq!(rings_open_here(), 0, "no shared-memory object left");
    Ok(())
}

#[tractor::test(timeout = 60, backend = "process")]
async fn a_crashed_writer_ends_the_reader_with_an_error() -> Result<(), Error> {
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let r = tractor::open_nursery(|n| async move {
        let p = n.start_actor("crasher", &[producer::NS]).await?;
        let (ctx, offer): (_, ShmOffer) = p
            .open_context(producer {
                records: 1_000,
                crash_after: Some(20),
            })
            .await?;
        let mut rx = ctx.accept_shm_reader(&offer).await?;
        // Read in a task of its own: the crash cancels this body (the
        // nursery sees the child die), and the reader's outcome must still
        // be observed.
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let outcome = loop {
                match rx.recv(&mut buf).await {
                    Ok(true) => continue,
                    other => break other,
                }
            };
            drop(rx);
            drop(ctx);
            let _ = seen_tx.send(format!("{outcome:?}"));
        });
        std::future::pending::<Result<(), Error>>().await
    })
    .await;
    let e = r.expect_err("the crash surfaces in the parent");
    assert!(
        e.leaves()
            .iter()
            .any(|l| matches!(l, Error::ChildDied { name, status, .. }
            if name == "crasher" && status == "killed by SIGABRT")),
        "{e}"
    );
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(20), seen.recv())
        .await
        .expect("the reader ends instead of hanging")
        .expect("the reader reports");
    assert!(
        outcome.contains("PeerGone"),
        "the reader fails with the writer gone: {outcome}"
    );
    assert_eq!(rings_open_here(), 0, "no shared-memory object left");
    Ok(())
}
