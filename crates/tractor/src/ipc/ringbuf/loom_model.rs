//! Loom models of the wake-up handshake: the real `publish`/`may_sleep`
//! (instantiated for loom's atomics by the same macro as the ring's), and
//! around them the batched writer and reader loops of `writer.rs` and
//! `reader.rs` step for step, with the data slots in loom cells (so a
//! record read before its publish is reported as a data race) and the
//! eventfds as counting semaphores (so a sleeper nobody wakes is reported
//! as a deadlock).

use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use loom::sync::{Arc, Condvar, Mutex};
use std::sync::atomic::Ordering;

mod lh {
    super::super::handshake::handshake!(
        loom::sync::atomic::AtomicU32,
        loom::sync::atomic::AtomicU64,
        loom::sync::atomic::fence
    );
}

/// Every interleaving of one side publishing a position while the
/// other decides to sleep: the sleeper is always woken (or does not
/// sleep). Without the fences this fails (the lost wake-up).
#[test]
fn a_side_about_to_sleep_is_never_missed_loom() {
    loom::model(|| {
        let pos = Arc::new(AtomicU64::new(0));
        let waiting = Arc::new(AtomicU32::new(0));
        let woken = Arc::new(AtomicBool::new(false));
        let publisher = {
            let (pos, waiting, woken) = (pos.clone(), waiting.clone(), woken.clone());
            loom::thread::spawn(move || {
                if lh::publish(&pos, 1, &waiting) {
                    woken.store(true, Ordering::Relaxed);
                }
            })
        };
        let slept = lh::may_sleep(&waiting, || pos.load(Ordering::Acquire) > 0);
        publisher.join().unwrap();
        assert!(
            !slept || woken.load(Ordering::Relaxed),
            "slept on a published position and nobody woke it"
        );
    });
}

/// An eventfd: a count, taken whole by a wait.
#[derive(Default)]
struct Ev {
    count: Mutex<u64>,
    cv: Condvar,
}

impl Ev {
    fn signal(&self) {
        *self.count.lock().unwrap() += 1;
        self.cv.notify_one();
    }
    fn wait(&self) {
        let mut c = self.count.lock().unwrap();
        while *c == 0 {
            c = self.cv.wait(c).unwrap();
        }
        *c = 0;
    }
}

/// A ring of `CAP` one-record slots.
const CAP: u64 = 2;

#[derive(Default)]
struct Model {
    slots: [UnsafeCell<u32>; CAP as usize],
    write: AtomicU64,
    read: AtomicU64,
    reader_waiting: AtomicU32,
    writer_waiting: AtomicU32,
    closed: AtomicU32,
    data_ready: Ev,
    space_ready: Ev,
}

impl Model {
    /// `try_send_many`: as many as fit, one publish, at most one signal.
    fn try_send_many(&self, recs: &[u32]) -> usize {
        let w = self.write.load(Ordering::Relaxed);
        let free = CAP - (w - self.read.load(Ordering::Acquire));
        let n = (free as usize).min(recs.len());
        for (i, rec) in recs[..n].iter().enumerate() {
            self.slots[((w + i as u64) % CAP) as usize].with_mut(|p| {
                // SAFETY: loom's cell pointer is valid; the slot is the
                // writer's until published (loom reports it if not).
                unsafe { *p = *rec }
            });
        }
        if n > 0 && lh::publish(&self.write, w + n as u64, &self.reader_waiting) {
            self.data_ready.signal();
        }
        n
    }

    /// `wait_room` for one record.
    fn wait_room(&self) {
        let w = self.write.load(Ordering::Relaxed);
        let room = || CAP - (w - self.read.load(Ordering::Acquire)) >= 1;
        loop {
            if room() {
                return;
            }
            if !lh::may_sleep(&self.writer_waiting, room) {
                continue;
            }
            self.space_ready.wait();
            self.writer_waiting.store(0, Ordering::Relaxed);
        }
    }

    /// `try_recv_many`: everything published, one publish of the read
    /// index, at most one signal.
    fn try_recv_many(&self, got: &mut Vec<u32>) -> usize {
        let rd = self.read.load(Ordering::Relaxed);
        let w = self.write.load(Ordering::Acquire);
        for p in rd..w {
            got.push(self.slots[(p % CAP) as usize].with(|v| {
                // SAFETY: loom's cell pointer is valid; a published slot is
                // the reader's until freed (loom reports it if not).
                unsafe { *v }
            }));
        }
        if w != rd && lh::publish(&self.read, w, &self.writer_waiting) {
            self.space_ready.signal();
        }
        (w - rd) as usize
    }

    /// `wait_data`.
    fn wait_data(&self) {
        let rd = self.read.load(Ordering::Relaxed);
        let ready =
            || self.write.load(Ordering::Acquire) != rd || self.closed.load(Ordering::Acquire) != 0;
        loop {
            if ready() {
                return;
            }
            if !lh::may_sleep(&self.reader_waiting, ready) {
                continue;
            }
            self.data_ready.wait();
            self.reader_waiting.store(0, Ordering::Relaxed);
        }
    }
}

/// The writer sends 1..=3 in `batches` through a ring of two slots and
/// closes; the reader drains batches until the close. Every interleaving
/// delivers every record once, in order, with no race on a slot and no
/// side asleep forever.
fn batched_model(batches: &'static [&'static [u32]]) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(move || {
        let m = Arc::new(Model::default());
        let writer = {
            let m = m.clone();
            loom::thread::spawn(move || {
                for batch in batches {
                    let mut sent = 0;
                    loop {
                        sent += m.try_send_many(&batch[sent..]);
                        if sent == batch.len() {
                            break;
                        }
                        m.wait_room();
                    }
                }
                // Drop of the writer: close, then wake the reader.
                m.closed.store(1, Ordering::SeqCst);
                m.data_ready.signal();
            })
        };
        let mut got = Vec::new();
        loop {
            if m.try_recv_many(&mut got) > 0 {
                continue;
            }
            if m.closed.load(Ordering::Acquire) != 0 {
                m.try_recv_many(&mut got);
                break;
            }
            m.wait_data();
        }
        writer.join().unwrap();
        assert_eq!(got, [1, 2, 3], "every record once, in order");
    });
}

#[test]
fn batches_are_delivered_once_in_order_and_nobody_sleeps_forever_loom() {
    batched_model(&[&[1, 2], &[3]]);
}

#[test]
fn a_batch_larger_than_the_ring_goes_through_in_parts_loom() {
    batched_model(&[&[1, 2, 3]]);
}
