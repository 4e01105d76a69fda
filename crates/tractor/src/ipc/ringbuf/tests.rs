//! Unit tests of the ring: records and batches of any size arrive once and
//! in order, closes and bad input end a side with a clear error instead of
//! a hang, and a batch wakes a sleeping reader once.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::Ordering;

use proptest::prelude::*;

use super::mem::Event;
use super::*;

#[tokio::test]
async fn records_wrap_around_in_order() {
    let (mut w, fds) = RingFds::create(256).unwrap();
    let mut r = fds.into_reader().unwrap();
    let writer = async move {
        for i in 0..1000u32 {
            let rec = vec![(i % 251) as u8; (i % 50) as usize];
            w.send(&rec).await.unwrap();
        }
    };
    let reader = async move {
        let mut buf = Vec::new();
        for i in 0..1000u32 {
            assert!(r.recv(&mut buf).await.unwrap());
            assert_eq!(buf, vec![(i % 251) as u8; (i % 50) as usize]);
        }
        assert!(
            !r.recv(&mut buf).await.unwrap(),
            "closed after the writer dropped"
        );
    };
    tokio::join!(writer, reader);
}

#[tokio::test]
async fn a_record_larger_than_the_ring_is_refused() {
    let (mut w, _fds) = RingFds::create(64).unwrap();
    let e = w.send(&[0u8; 100]).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "record of 100 bytes cannot fit a ring of 64 bytes"
    );
}

#[tokio::test]
async fn a_batch_holding_a_record_too_large_is_refused_whole() {
    let (mut w, fds) = RingFds::create(64).unwrap();
    let mut r = fds.into_reader().unwrap();
    let big = [0u8; 61];
    let e = w.send_many(&[&b"fits"[..], &big[..]]).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "record of 61 bytes cannot fit a ring of 64 bytes"
    );
    let mut batch = RecvBatch::new();
    assert_eq!(
        r.try_recv_many(&mut batch).unwrap(),
        0,
        "nothing was written"
    );
}

#[tokio::test]
async fn descriptors_cross_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offer.sock");
    let (mut w, fds) = RingFds::create(1024).unwrap();
    let offer = FdOffer::bind(&path).unwrap();
    let (handed, got) = tokio::join!(offer.hand_over(fds), accept_fds(&path));
    handed.unwrap();
    let got = got.unwrap();
    assert!(!path.exists(), "the offer socket is removed");
    let mut r = got.into_reader().unwrap();
    w.send(b"hello").await.unwrap();
    let mut buf = Vec::new();
    assert!(r.recv(&mut buf).await.unwrap());
    assert_eq!(buf, b"hello");
}

#[tokio::test]
async fn the_memory_is_sealed_against_resizing() {
    let (_w, fds) = RingFds::create(4096).unwrap();
    // SAFETY: ftruncate on a descriptor we own.
    let r = unsafe { libc::ftruncate(fds.mem.as_raw_fd(), 0) };
    assert_eq!(r, -1, "a peer cannot shrink the ring under our mapping");
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EPERM)
    );
    // Unsealed memory offered as a ring is refused.
    // SAFETY: memfd_create with a valid C string.
    let raw = unsafe { libc::memfd_create(c"plain".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(raw >= 0);
    // SAFETY: fresh descriptor we own.
    let mem = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: resizing our own memfd.
    assert_eq!(unsafe { libc::ftruncate(mem.as_raw_fd(), 8192) }, 0);
    let bad = RingFds {
        mem,
        data_ready: Event::create_fd().unwrap(),
        space_ready: Event::create_fd().unwrap(),
    };
    let e = bad.map().unwrap_err();
    assert!(e.to_string().contains("not sealed"), "{e}");
}

#[tokio::test]
async fn a_batch_arrives_whole_and_the_batch_buffer_is_reused() {
    let (mut w, fds) = RingFds::create(4096).unwrap();
    let mut r = fds.into_reader().unwrap();
    let recs: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; i as usize]).collect();
    w.send_many(&recs).await.unwrap();
    let mut batch = RecvBatch::new();
    assert_eq!(r.try_recv_many(&mut batch).unwrap(), 40, "one batch");
    assert_eq!(batch.len(), 40);
    assert!(batch.iter().eq(recs.iter().map(|r| &r[..])));
    let grown = batch.buf.as_ptr();
    w.send_many(&recs[..3]).await.unwrap();
    assert!(r.recv_many(&mut batch).await.unwrap());
    assert_eq!(batch.iter().collect::<Vec<_>>(), [&[][..], &[1], &[2, 2]]);
    assert_eq!(batch.buf.as_ptr(), grown, "no new allocation");
    drop(w);
    assert!(
        !r.recv_many(&mut batch).await.unwrap(),
        "closed and drained"
    );
    assert!(batch.is_empty());
}

#[tokio::test]
async fn a_record_larger_than_the_batch_limit_arrives_alone() {
    let (mut w, fds) = RingFds::create(4096).unwrap();
    let mut r = fds.into_reader().unwrap();
    w.send_many(&[vec![1u8; 8], vec![2u8; 300], vec![3u8; 8]])
        .await
        .unwrap();
    let mut batch = RecvBatch::with_limit(100);
    let mut seen = Vec::new();
    while r.try_recv_many(&mut batch).unwrap() > 0 {
        seen.push(batch.iter().map(|r| (r[0], r.len())).collect::<Vec<_>>());
    }
    assert_eq!(seen, [vec![(1, 8)], vec![(2, 300)], vec![(3, 8)]]);
}

#[tokio::test]
async fn a_batch_wakes_a_sleeping_reader_once() {
    let (mut w, fds) = RingFds::create(4096).unwrap();
    let r = fds.into_reader().unwrap();
    // Nobody waits: a busy stream makes no system call.
    w.send_many(&[[0u8; 8]; 10]).await.unwrap();
    assert_eq!(
        r.data_ready.take_count(),
        0,
        "no wake-up while nobody sleeps"
    );
    // The reader said it sleeps: one batch, then more before it runs.
    r.ring.reader_waiting().store(1, Ordering::Relaxed);
    w.send_many(&[[0u8; 8]; 10]).await.unwrap();
    w.send(b"one").await.unwrap();
    w.send(b"two").await.unwrap();
    assert_eq!(r.data_ready.take_count(), 1, "one wake-up per sleep");
}

#[tokio::test]
async fn a_full_ring_whose_reader_is_dropped_fails_the_writer() {
    let (mut w, fds) = RingFds::create(256).unwrap();
    let mut r = fds.into_reader().unwrap();
    let recs = vec![[5u8; 16]; 100];
    let writer = async move { w.send_many(&recs).await };
    let reader = async move {
        let mut batch = RecvBatch::new();
        assert!(r.recv_many(&mut batch).await.unwrap());
        // The writer is now waiting for room again; the reader goes away.
        drop(r);
        batch.len()
    };
    let (sent, read) = tokio::join!(writer, reader);
    assert!(read > 0);
    assert!(
        matches!(sent, Err(RingError::Closed)),
        "the writer fails instead of waiting: {sent:?}"
    );
}

#[tokio::test]
async fn the_last_records_before_a_close_are_read() {
    let (mut w, fds) = RingFds::create(256).unwrap();
    let mut r = fds.into_reader().unwrap();
    w.send_many(&[b"a", b"b", b"c"]).await.unwrap();
    drop(w);
    assert!(r.is_closed());
    let mut batch = RecvBatch::new();
    assert!(r.recv_many(&mut batch).await.unwrap());
    assert_eq!(batch.iter().collect::<Vec<_>>(), [b"a", b"b", b"c"]);
    assert!(!r.recv_many(&mut batch).await.unwrap());
}

#[tokio::test]
async fn a_corrupt_ring_is_reported_not_trusted() {
    let (mut w, fds) = RingFds::create(256).unwrap();
    let mut r = fds.into_reader().unwrap();
    w.send(&[9u8; 60]).await.unwrap();
    // The writer's side scribbles a length over its record's prefix.
    w.ring.put(0, &1_000_000u32.to_le_bytes());
    let mut batch = RecvBatch::new();
    let e = r.try_recv_many(&mut batch).unwrap_err();
    assert_eq!(
        e.to_string(),
        "not a shared-memory ring: corrupt record length 1000000: only 60 bytes were published after its prefix"
    );
    let e = r.try_recv(&mut Vec::new()).unwrap_err();
    assert!(
        e.to_string().contains("corrupt record length 1000000"),
        "{e}"
    );
    // An index more than a ring ahead.
    w.ring.write_pos().store(10_000, Ordering::Release);
    let e = r.try_recv_many(&mut batch).unwrap_err();
    assert_eq!(
        e.to_string(),
        "not a shared-memory ring: write index 10000 is not within one ring (256 bytes) after read index 0"
    );
}

/// Record `i` of a stream: its length from the test case, bytes derived
/// from `i` so that a record out of place is seen.
fn record(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j) as u8).collect()
}

/// Writes `lens.len()` records in chunks of the sizes in `sends` (cycled),
/// one at a time where `single` says so, while a reader on another thread
/// takes batches of the byte limits in `limits` (cycled), or single
/// records; returns what the reader got.
fn stream_through(
    capacity: usize,
    lens: &[usize],
    sends: &[usize],
    limits: &[usize],
    single: &[bool],
) -> Vec<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let recs: Vec<Vec<u8>> = lens
        .iter()
        .enumerate()
        .map(|(i, &l)| record(i, l))
        .collect();
    let (mut w, fds) = rt.block_on(async { RingFds::create(capacity) }).unwrap();
    let (limits, single_r) = (limits.to_vec(), single.to_vec());
    let reader = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut r = fds.into_reader().unwrap();
            let mut got = Vec::new();
            let mut buf = Vec::new();
            for step in 0.. {
                if single_r[step % single_r.len()] {
                    if !r.recv(&mut buf).await.unwrap() {
                        break;
                    }
                    got.push(buf.clone());
                } else {
                    let mut batch = RecvBatch::with_limit(limits[step % limits.len()]);
                    if !r.recv_many(&mut batch).await.unwrap() {
                        break;
                    }
                    assert!(!batch.is_empty());
                    got.extend(batch.iter().map(<[u8]>::to_vec));
                }
            }
            got
        })
    });
    rt.block_on(async move {
        let mut at = 0;
        for step in 0.. {
            if at == recs.len() {
                break;
            }
            let chunk = &recs[at..(at + sends[step % sends.len()]).min(recs.len())];
            if single[step % single.len()] {
                for rec in chunk {
                    w.send(rec).await.unwrap();
                }
            } else {
                w.send_many(chunk).await.unwrap();
            }
            at += chunk.len();
        }
    });
    reader.join().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any mix of batch sizes on both sides, through a ring smaller than
    /// the stream, delivers every record once and in order.
    #[test]
    fn any_batch_sizes_deliver_every_record_once_in_order(
        capacity in 52usize..400,
        lens in prop::collection::vec(0usize..48, 1..300),
        sends in prop::collection::vec(1usize..40, 1..10),
        limits in prop::collection::vec(4usize..400, 1..10),
        single in prop::collection::vec(prop::bool::weighted(0.2), 1..10),
    ) {
        let got = stream_through(capacity, &lens, &sends, &limits, &single);
        let want: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &l)| record(i, l)).collect();
        prop_assert_eq!(got.len(), want.len());
        prop_assert!(got == want, "records out of order or altered");
    }
}
