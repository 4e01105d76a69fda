//! Property tests: every message type round-trips; arbitrary bytes never
//! panic the decoder and never make it allocate past a bound proportional
//! to the frame limit.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::BytesMut;
use proptest::prelude::*;
use tokio_util::codec::Decoder;
use tractor::ipc::FrameCodec;
use tractor::msg::{self, *};

/// Counts live bytes and their peak while `TRACKING` is on.
struct Counting;
static TRACKING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only adds counters.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if TRACKING.load(Ordering::Relaxed) {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if TRACKING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(
                l.size().min(LIVE.load(Ordering::Relaxed)),
                Ordering::Relaxed,
            );
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("NaN != NaN", |f| !f.is_nan())
            .prop_map(Value::F64),
        ".{0,300}".prop_map(Value::from),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Value::Binary),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((".{0,12}".prop_map(Value::from), inner), 0..8)
                .prop_map(Value::Map),
        ]
    })
}

fn s() -> impl Strategy<Value = String> {
    prop_oneof![".{0,40}", ".{30,70000}".prop_map(|s: String| s)]
}

fn uid() -> impl Strategy<Value = Uid> {
    (".{0,20}", "[0-9a-f-]{36}").prop_map(|(n, u)| Uid::new(n, u))
}

fn kwargs() -> impl Strategy<Value = StrMap> {
    proptest::collection::vec((".{0,16}", value()), 0..6)
}

fn addr() -> impl Strategy<Value = WireAddr> {
    prop_oneof![
        (".{1,20}", any::<u16>()).prop_map(|(host, port)| WireAddr::Tcp { host, port }),
        (".{1,40}", ".{1,20}").prop_map(|(dir, file)| WireAddr::Uds { dir, file }),
    ]
}

fn payload() -> impl Strategy<Value = Payload> {
    (s(), value()).prop_map(|(cid, pld)| Payload { cid, pld })
}

fn start() -> impl Strategy<Value = Msg> {
    (s(), s(), s(), kwargs(), uid(), s()).prop_map(|(cid, ns, func, kwargs, uid, pld_spec)| {
        Msg::Start(Start {
            cid,
            ns,
            func,
            kwargs,
            uid,
            pld_spec,
        })
    })
}

fn message() -> impl Strategy<Value = Msg> {
    let functype = prop_oneof![
        Just(FuncType::AsyncFunc),
        Just(FuncType::AsyncGen),
        Just(FuncType::Context)
    ];
    prop_oneof![
        (
            s(),
            s(),
            any::<Option<i64>>(),
            any::<Option<bool>>(),
            any::<bool>()
        )
            .prop_map(|(name, uuid, pid, is_registrar, is_probe)| Msg::Aid(Aid {
                name,
                uuid,
                pid,
                is_registrar,
                is_probe
            })),
        (
            kwargs(),
            kwargs(),
            proptest::collection::vec((".{0,10}", ".{0,10}"), 0..4),
            proptest::collection::vec(addr(), 0..3),
            proptest::option::of(proptest::collection::vec(addr(), 0..3))
        )
            .prop_map(
                |(parent_main_data, runtime_vars, enable_modules, reg_addrs, bind_addrs)| {
                    Msg::SpawnSpec(SpawnSpec {
                        parent_main_data,
                        runtime_vars,
                        enable_modules,
                        reg_addrs,
                        bind_addrs,
                    })
                }
            ),
        start(),
        (s(), functype).prop_map(|(cid, functype)| Msg::StartAck(StartAck { cid, functype })),
        payload().prop_map(Msg::Started),
        payload().prop_map(Msg::Yield),
        payload().prop_map(Msg::Return),
        s().prop_map(|cid| Msg::Stop(Stop { cid })),
        (s(), any::<bool>()).prop_map(|(cid, pld)| Msg::CancelAck(CancelAck { cid, pld })),
        (
            uid(),
            s(),
            s(),
            proptest::collection::vec(uid(), 0..3),
            proptest::option::of(s()),
            s(),
            proptest::option::of(uid()),
            proptest::option::of(uid()),
            proptest::option::of(s()),
            proptest::option::of(payload()),
            proptest::option::of(kwargs())
        )
            .prop_map(
                |(
                    src_uid,
                    src_type_str,
                    boxed_type_str,
                    relay_path,
                    message,
                    tb_str,
                    canceller,
                    sender,
                    cid,
                    bad,
                    bad_dict,
                )| {
                    Msg::Error(ErrorMsg {
                        src_uid,
                        src_type_str,
                        boxed_type_str,
                        relay_path,
                        message,
                        tb_str,
                        canceller,
                        sender,
                        cid,
                        bad_msg: bad.map(|p| Box::new(Msg::Yield(p))),
                        bad_msg_as_dict: bad_dict,
                    })
                }
            ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_message_round_trips(m in message()) {
        let bytes = msg::encode(&m);
        let back = msg::decode(&bytes).expect("decodes");
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(msg::encode(&back), bytes);
    }

    /// The borrowed decoder (the message loop's, with its short paths for
    /// the hot messages) accepts exactly what the general one accepts, and
    /// reads the same message; payload messages and `Start`s (the short
    /// paths' shapes) are mutated byte by byte so their near misses are
    /// tried too.
    #[test]
    fn the_borrowed_decoder_agrees_with_the_general_one(m in prop_oneof![message(), payload().prop_map(Msg::Yield), payload().prop_map(Msg::Return), start()], flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3), tail in proptest::option::of(any::<u8>())) {
        let mut bytes = msg::encode(&m);
        for (at, byte) in flips {
            let i = at % bytes.len();
            bytes[i] = byte;
        }
        // A byte past the message's end must be refused by both.
        bytes.extend(tail);
        match (msg::decode_ref(&bytes), msg::decode(&bytes)) {
            (Ok(r), Ok(g)) => prop_assert_eq!(r.to_msg(), g),
            (Err(_), Err(_)) => {}
            (r, g) => prop_assert!(false, "borrowed {:?} but general {:?}", r.map(|r| r.to_msg()), g),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = msg::decode(&bytes);
        let mut codec = FrameCodec::new(1024);
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
        let _ = codec.decode_eof(&mut buf);
    }

    #[test]
    fn mutated_valid_frames_never_panic(m in message(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let mut frame = Vec::new();
        tractor::ipc::frame::write_frame_into(&m, &mut frame);
        for (at, byte) in flips {
            let i = at % frame.len();
            frame[i] = byte;
        }
        let mut codec = FrameCodec::new(1 << 20);
        let mut buf = BytesMut::from(&frame[..]);
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
    }
}

/// The peak memory a decode may use: decoded values take more room than
/// their bytes (a one-byte msgpack int becomes a 32-byte `Value`), so the
/// bound is this factor of the frame's size, plus a constant. The worst
/// case is a frame that is one long array of fixints.
const PEAK_FACTOR: usize = 80;
const PEAK_CONST: usize = 64 * 1024;

#[test]
fn decoding_never_allocates_past_the_limit() {
    const LIMIT: usize = 64 * 1024;
    // Worst cases for amplification, all within the limit.
    let mut fixint_array = vec![0xddu8];
    fixint_array.extend_from_slice(&((LIMIT - 5) as u32).to_be_bytes());
    fixint_array.extend(std::iter::repeat_n(0x01u8, LIMIT - 5));
    let mut nested = vec![0x91u8; 120];
    nested.push(0xc0);
    let mut lies = vec![0xdfu8, 0xff, 0xff, 0xff, 0xff]; // map of 4 billion entries
    lies.extend_from_slice(&[0x00; 16]);
    let mut oversized = vec![0xff, 0xff, 0xff, 0xff];
    oversized.extend_from_slice(&[0x82; 64]);
    for (name, payload, framed) in [
        ("fixint array", fixint_array, false),
        ("deep nesting", nested, false),
        ("lying map length", lies, false),
        ("oversized prefix", oversized, true),
    ] {
        let frame = if framed {
            payload
        } else {
            let mut f = (payload.len() as u32).to_le_bytes().to_vec();
            f.extend_from_slice(&payload);
            f
        };
        let mut codec = FrameCodec::new(LIMIT);
        let mut buf = BytesMut::from(&frame[..]);
        LIVE.store(0, Ordering::SeqCst);
        PEAK.store(0, Ordering::SeqCst);
        TRACKING.store(true, Ordering::SeqCst);
        let out = codec.decode(&mut buf);
        TRACKING.store(false, Ordering::SeqCst);
        drop(out);
        let peak = PEAK.load(Ordering::SeqCst);
        assert!(
            peak <= PEAK_FACTOR * LIMIT + PEAK_CONST,
            "{name}: peak {peak} bytes for a {LIMIT}-byte limit"
        );
    }
}
