//! The shared-memory channel: a large transfer arrives intact, batches of
//! small records arrive once and in order, cancelling mid-transfer and a
//! crashing writer or reader (mid-batch, or behind a full ring) end it
//! cleanly and without a hang, and no shared-memory object is left behind.

use tractor::Error;
use tractor::shm::{RecvBatch, ShmOffer};

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

/// Small record `i`: its length and bytes follow from `i`.
fn small(i: u64) -> Vec<u8> {
    (0..(i % 97) as usize)
        .map(|j| (i as usize * 7 + j) as u8)
        .collect()
}

/// Writes `records` small records in batches of 1, 2, ... 64 records
/// (every eighth batch one record at a time), aborting the process before
/// batch `crash_at_batch` if set.
#[tractor::context]
async fn batch_producer(
    ctx: tractor::Context<tractor::Callee<tractor::shm::ShmOffer>>,
    records: u64,
    crash_at_batch: Option<u64>,
) -> Result<u64, Error> {
    let (mut tx, offer) = ctx.open_shm_writer(4096).await?;
    ctx.started(&offer).await?;
    let (mut i, mut b) = (0u64, 0u64);
    while i < records {
        if crash_at_batch == Some(b) {
            std::process::abort();
        }
        let k = (b % 64 + 1).min(records - i);
        let batch: Vec<Vec<u8>> = (i..i + k).map(small).collect();
        if b % 8 == 7 {
            for rec in &batch {
                tx.send(rec).await?;
            }
        } else {
            tx.send_many(&batch).await?;
        }
        i += k;
        b += 1;
    }
    Ok(i)
}

#[tractor::test(timeout = 120)]
async fn batches_of_small_records_arrive_once_in_order() -> Result<(), Error> {
    const RECORDS: u64 = 50_000;
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("producer", &[batch_producer::NS]).await?;
        let (ctx, offer): (_, ShmOffer) = p
            .open_context(batch_producer {
                records: RECORDS,
                crash_at_batch: None,
            })
            .await?;
        let mut rx = ctx.accept_shm_reader(&offer).await?;
        let (mut batch, mut buf, mut next) = (RecvBatch::with_limit(1000), Vec::new(), 0u64);
        loop {
            // Mostly batches, every fifth read a single record.
            if next % 5 == 0 {
                if !rx.recv(&mut buf).await? {
                    break;
                }
                assert_eq!(buf, small(next), "record {next}");
                next += 1;
            } else {
                if !rx.recv_many(&mut batch).await? {
                    break;
                }
                for rec in &batch {
                    assert_eq!(rec, small(next), "record {next}");
                    next += 1;
                }
            }
        }
        assert_eq!(next, RECORDS, "every record once");
        assert_eq!(ctx.result().await?, RECORDS);
        drop(rx);
        p.cancel_actor().await?;
        Ok(())
    })
    .await?;
    assert_eq!(rings_open_here(), 0, "no shared-memory object left");
    Ok(())
}

#[tractor::test(timeout = 60, backend = "process")]
async fn a_writer_dying_mid_batch_ends_the_batch_reader_with_an_error() -> Result<(), Error> {
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let r = tractor::open_nursery(|n| async move {
        let p = n.start_actor("crasher", &[batch_producer::NS]).await?;
        let (ctx, offer): (_, ShmOffer) = p
            .open_context(batch_producer {
                records: 1_000_000,
                crash_at_batch: Some(40),
            })
            .await?;
        let mut rx = ctx.accept_shm_reader(&offer).await?;
        // Read in a task of its own: the crash cancels this body.
        tokio::spawn(async move {
            let mut batch = RecvBatch::new();
            let mut next = 0u64;
            let outcome = loop {
                match rx.recv_many(&mut batch).await {
                    Ok(true) => {
                        for rec in &batch {
                            assert_eq!(rec, small(next), "record {next}");
                            next += 1;
                        }
                    }
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
            .any(|l| matches!(l, Error::ChildDied { name, .. } if name == "crasher")),
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

/// Receives an offer on the context's stream, reads one batch of it and
/// then aborts the process, leaving its writer behind a full ring.
#[tractor::context]
async fn crashing_reader(
    ctx: tractor::Context<tractor::Callee<(), tractor::shm::ShmOffer>>,
) -> Result<(), Error> {
    ctx.started(&()).await?;
    let mut s = ctx.open_stream();
    let offer = s
        .recv()
        .await?
        .ok_or_else(|| Error::other("no offer arrived"))?;
    let mut rx = ctx.accept_shm_reader(&offer).await?;
    let mut batch = RecvBatch::new();
    rx.recv_many(&mut batch).await?;
    std::process::abort();
}

#[tractor::test(timeout = 60, backend = "process")]
async fn a_full_ring_with_a_dead_reader_does_not_hang_the_writer() -> Result<(), Error> {
    const RECORDS: usize = 10_000;
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let r = tractor::open_nursery(|n| async move {
        let p = n.start_actor("reader", &[crashing_reader::NS]).await?;
        let (ctx, ()) = p.open_context(crashing_reader {}).await?;
        let (mut tx, offer) = ctx.open_shm_writer(4096).await?;
        ctx.open_stream().send(&offer).await?;
        tokio::spawn(async move {
            let recs = vec![[3u8; 60]; RECORDS];
            let outcome = tx.send_many(&recs).await;
            drop(tx);
            drop(ctx);
            let _ = seen_tx.send(outcome.map_err(|e| e.to_string()));
        });
        std::future::pending::<Result<(), Error>>().await
    })
    .await;
    let e = r.expect_err("the crash surfaces in the parent");
    assert!(
        e.leaves()
            .iter()
            .any(|l| matches!(l, Error::ChildDied { name, .. } if name == "reader")),
        "{e}"
    );
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(20), seen.recv())
        .await
        .expect("the writer ends instead of hanging")
        .expect("the writer reports");
    let msg = outcome.expect_err("the writer fails with the reader gone");
    assert!(
        msg.starts_with(
            "actor reader disconnected before answering a shared-memory channel it was reading ("
        ) && msg.ends_with(&format!(" of {RECORDS} records of the batch were written)")),
        "{msg}"
    );
    assert_eq!(rings_open_here(), 0, "no shared-memory object left");
    Ok(())
}
