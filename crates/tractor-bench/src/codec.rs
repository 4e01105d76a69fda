//! `codec_start_msg`: encode + decode of a `Start` calling `add(x, y)`,
//! ops per second per round, through the dynamic path the runtime uses
//! today ([`dynamic`]) and through the typed, borrowed path ([`typed`]).

use std::time::Instant;

use tractor::msg::*;

const CID: &str = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e";
const UUID: &str = "3f2a8c4e-6b1d-4e0a-8f7c-1a2b3c4d5e6f";

fn rounds(n: usize, rounds: usize, mut op: impl FnMut()) -> Vec<f64> {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                op();
            }
            n as f64 / t.elapsed().as_secs_f64()
        })
        .collect()
}

/// [`Msg`] with `Value` kwargs → bytes → [`Msg`].
pub fn dynamic(n: usize, r: usize) -> Vec<f64> {
    let m = Msg::Start(Start {
        cid: CID.into(),
        ns: "myapp.workers".into(),
        func: "add".into(),
        kwargs: vec![("x".into(), Value::from(1)), ("y".into(), Value::from(2))],
        uid: Uid::new("root", UUID),
        pld_spec: ANY_PLD_SPEC.into(),
    });
    let mut buf = Vec::with_capacity(256);
    rounds(n, r, || {
        buf.clear();
        encode_into(&m, &mut buf);
        std::hint::black_box(decode(&buf).expect("decodes"));
    })
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Add {
    x: i64,
    y: i64,
}

/// A typed struct → bytes ([`encode_start`]) → a borrowed envelope
/// ([`decode_ref`]) → the typed struct again.
pub fn typed(n: usize, r: usize) -> Vec<f64> {
    let uid = Uid::new("root", UUID);
    let head = StartHead {
        cid: CID,
        ns: "myapp.workers",
        func: "add",
        uid: &uid,
        pld_spec: ANY_PLD_SPEC,
    };
    let mut buf = Vec::with_capacity(256);
    rounds(n, r, || {
        buf.clear();
        encode_start(head, &Add { x: 1, y: 2 }, &mut buf).expect("encodes");
        let MsgRef::Start(s) = decode_ref(&buf).expect("decodes") else {
            unreachable!("a Start was encoded")
        };
        std::hint::black_box(s.kwargs.decode::<Add>().expect("typed kwargs"));
        std::hint::black_box(s.cid);
    })
}
