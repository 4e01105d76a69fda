//! `codec_start_msg`: encode + decode of a `Start` calling `add(x, y)`,
//! ops per second per round, through the dynamic path the runtime uses
//! today ([`dynamic`]) and through the typed, borrowed path ([`typed`]).

use std::time::Instant;

use tractor::msg::*;

const CID: &str = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e";
const UUID: &str = "3f2a8c4e-6b1d-4e0a-8f7c-1a2b3c4d5e6f";

/// Ops per second of each of `ops`, one sample per round each: within a
/// round every op runs `n` times in turn (the first op rotating from round
/// to round), so a slow moment of a noisy machine falls on all of them
/// alike instead of on whichever ran then. Run one after another, the
/// floor and the figure drifted apart by up to 2× between runs of the same
/// binary.
pub fn interleaved<const K: usize>(
    n: usize,
    rounds: usize,
    mut ops: [&mut dyn FnMut(); K],
) -> [Vec<f64>; K] {
    let mut out: [Vec<f64>; K] = std::array::from_fn(|_| Vec::with_capacity(rounds));
    for r in 0..rounds {
        for k in (0..K).map(|i| (i + r) % K) {
            let op = &mut ops[k];
            let t = Instant::now();
            for _ in 0..n {
                op();
            }
            out[k].push(n as f64 / t.elapsed().as_secs_f64());
        }
    }
    out
}

/// One op: [`Msg`] with `Value` kwargs → bytes → [`Msg`].
pub fn dynamic() -> impl FnMut() {
    let m = Msg::Start(Start {
        cid: CID.into(),
        ns: "myapp.workers".into(),
        func: "add".into(),
        kwargs: vec![("x".into(), Value::from(1)), ("y".into(), Value::from(2))],
        uid: Uid::new("root", UUID),
        pld_spec: ANY_PLD_SPEC.into(),
    });
    let mut buf = Vec::with_capacity(256);
    move || {
        buf.clear();
        encode_into(&m, &mut buf);
        std::hint::black_box(decode(&buf).expect("decodes"));
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Add {
    x: i64,
    y: i64,
}

/// One op: a typed struct → bytes ([`encode_start`]) → a borrowed
/// envelope ([`decode_ref`]) → the typed struct again.
pub fn typed() -> impl FnMut() {
    let uid = Uid::new("root", UUID);
    let mut buf = Vec::with_capacity(256);
    move || {
        let head = StartHead {
            cid: CID,
            ns: "myapp.workers",
            func: "add",
            uid: &uid,
            pld_spec: ANY_PLD_SPEC,
        };
        buf.clear();
        encode_start(head, &Add { x: 1, y: 2 }, &mut buf).expect("encodes");
        let MsgRef::Start(s) = decode_ref(&buf).expect("decodes") else {
            unreachable!("a Start was encoded")
        };
        std::hint::black_box(s.kwargs.decode::<Add>().expect("typed kwargs"));
        std::hint::black_box(s.cid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_op_runs_in_every_round_and_the_first_one_rotates() {
        let order = std::cell::RefCell::new(String::new());
        let (mut a, mut b, mut c) = (
            || order.borrow_mut().push('a'),
            || order.borrow_mut().push('b'),
            || order.borrow_mut().push('c'),
        );
        let [ra, rb, rc] = interleaved(2, 3, [&mut a, &mut b, &mut c]);
        assert_eq!(*order.borrow(), "aabbccbbccaaccaabb");
        assert!([ra, rb, rc].iter().all(|r| r.len() == 3));
    }
}
