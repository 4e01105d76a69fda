//! Encoding typed values straight into the write buffer.
//!
//! A `Start`'s keyword arguments and a `Started`/`Yield`/`Return`'s
//! payload are serialized by serde directly after the envelope, in the
//! same buffer, structs as maps with named fields (as msgspec writes them)
//! — no [`Value`](super::Value) tree and no intermediate buffer. The bytes
//! are identical to building the [`Msg`](super::Msg) with
//! [`super::payload::to_kwargs`] / [`super::payload::to_value`] and
//! [`super::encode`] (the tests hold them to it).

use serde::Serialize;

use super::payload::PayloadError;
use super::raw::RawValue;
use super::types::Uid;

/// The three messages that carry a `pld`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    /// First value of a context.
    Started,
    /// A stream item.
    Yield,
    /// Final result.
    Return,
}

impl PayloadKind {
    /// Every kind, for the decoder's check of the exact envelope.
    pub(super) const ALL: [PayloadKind; 3] = [
        PayloadKind::Started,
        PayloadKind::Yield,
        PayloadKind::Return,
    ];

    /// The envelope as the encoder writes it, up to the cid's value: a
    /// map of three, `msg_type` and this kind's tag, the `cid` key (what
    /// `header(3, tag)` and `key("cid")` write, one copy instead of five
    /// small writes; a test holds them equal). The decoder reads a frame
    /// that starts with it the short way (`raw::payload_fast`).
    pub(super) fn head(self) -> &'static [u8] {
        match self {
            PayloadKind::Started => b"\x83\xa8msg_type\xa7Started\xa3cid",
            PayloadKind::Yield => b"\x83\xa8msg_type\xa5Yield\xa3cid",
            PayloadKind::Return => b"\x83\xa8msg_type\xa6Return\xa3cid",
        }
    }
}

/// The `pld` key, after a payload message's cid.
pub(super) const PLD_KEY: &[u8] = b"\xa3pld";

/// A `Start` as the encoder lays it out: the fixed runs of bytes before
/// each value (map of seven, the tag, each key; `uid`'s includes the
/// header of its two-item array). The decoder reads a frame laid out so
/// the short way (`raw::start_fast`); a test holds these to what the
/// general encoder writes.
pub(super) mod start_layout {
    /// Up to the cid's value.
    pub const HEAD: &[u8] = b"\x87\xa8msg_type\xa5Start\xa3cid";
    /// Before the namespace.
    pub const NS: &[u8] = b"\xa2ns";
    /// Before the function name.
    pub const FUNC: &[u8] = b"\xa4func";
    /// Before the keyword arguments.
    pub const KWARGS: &[u8] = b"\xa6kwargs";
    /// Before the uid's two strings.
    pub const UID: &[u8] = b"\xa3uid\x92";
    /// Before the payload-type string.
    pub const PLD_SPEC: &[u8] = b"\xa8pld_spec";
}

/// Appends `s` as a msgpack string, in the smallest form (the bytes
/// `rmp::encode::write_str` writes, without its fallible writer plumbing:
/// this runs several times per message).
#[inline]
pub(super) fn str_into(buf: &mut Vec<u8>, s: &str) {
    let n = s.len();
    if n < 32 {
        buf.push(0xa0 | n as u8);
    } else if n < 256 {
        buf.extend_from_slice(&[0xd9, n as u8]);
    } else if n < 65536 {
        buf.push(0xda);
        buf.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        buf.push(0xdb);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    }
    buf.extend_from_slice(s.as_bytes());
}

/// Appends the envelope of a payload message, up to the payload.
fn payload_head(kind: PayloadKind, cid: &str, buf: &mut Vec<u8>) {
    buf.extend_from_slice(kind.head());
    str_into(buf, cid);
    buf.extend_from_slice(PLD_KEY);
}

/// A `Start`'s envelope: everything but the keyword arguments.
#[derive(Clone, Copy, Debug)]
pub struct StartHead<'a> {
    /// The call id.
    pub cid: &'a str,
    /// Namespace.
    pub ns: &'a str,
    /// Function name.
    pub func: &'a str,
    /// The caller's uid.
    pub uid: &'a Uid,
    /// The payload-type string.
    pub pld_spec: &'a str,
}

pub(super) fn serialize<T: Serialize + ?Sized>(
    v: &T,
    buf: &mut Vec<u8>,
) -> Result<(), PayloadError> {
    serialize_to(v, &mut *buf)
}

/// [`serialize`] into any writer (an inline buffer, for a small value).
pub(super) fn serialize_to<T: Serialize + ?Sized, W: std::io::Write>(
    v: &T,
    w: W,
) -> Result<(), PayloadError> {
    v.serialize(&mut rmp_serde::Serializer::new(w).with_struct_map())
        .map_err(|e| PayloadError(e.to_string()))
}

/// Appends a `Started`, `Yield` or `Return` with payload `pld` to `buf`.
/// On error `buf` is left as it was.
pub fn encode_payload<T: Serialize + ?Sized>(
    kind: PayloadKind,
    cid: &str,
    pld: &T,
    buf: &mut Vec<u8>,
) -> Result<(), PayloadError> {
    let start = buf.len();
    payload_head(kind, cid, buf);
    serialize(pld, buf).inspect_err(|_| buf.truncate(start))
}

/// Appends a `Started`, `Yield` or `Return` whose payload is already
/// encoded (`pld`'s bytes are copied as they are).
pub fn encode_raw_payload(kind: PayloadKind, cid: &str, pld: RawValue<'_>, buf: &mut Vec<u8>) {
    payload_head(kind, cid, buf);
    buf.extend_from_slice(pld.as_bytes());
}

/// Appends a `StartAck` for call `cid`, acknowledging a function of kind
/// `functype`: the bytes [`super::encode`] writes for
/// `Msg::StartAck`, without an owned copy of the cid.
pub fn encode_start_ack(cid: &str, functype: super::FuncType, buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"\x83\xa8msg_type\xa8StartAck\xa3cid");
    str_into(buf, cid);
    buf.extend_from_slice(b"\xa8functype");
    str_into(buf, functype.as_str());
}

/// Appends a `Start` calling with keyword arguments `kwargs` (a struct or
/// a string-keyed map; `()`/`None` for none) to `buf`. On error `buf` is
/// left as it was.
pub fn encode_start<K: Serialize + ?Sized>(
    head: StartHead<'_>,
    kwargs: &K,
    buf: &mut Vec<u8>,
) -> Result<(), PayloadError> {
    use start_layout as l;
    let start = buf.len();
    // The envelope's strings and fixed runs, plus room for small kwargs:
    // one capacity check instead of one per write.
    buf.reserve(
        96 + head.cid.len()
            + head.ns.len()
            + head.func.len()
            + head.uid.name.len()
            + head.uid.uuid.len()
            + head.pld_spec.len(),
    );
    buf.extend_from_slice(l::HEAD);
    str_into(buf, head.cid);
    buf.extend_from_slice(l::NS);
    str_into(buf, head.ns);
    buf.extend_from_slice(l::FUNC);
    str_into(buf, head.func);
    buf.extend_from_slice(l::KWARGS);
    let at = buf.len();
    if let Err(e) = serialize(kwargs, buf).and_then(|()| check_kwargs(buf, at)) {
        buf.truncate(start);
        return Err(e);
    }
    buf.extend_from_slice(l::UID);
    str_into(buf, &head.uid.name);
    str_into(buf, &head.uid.uuid);
    buf.extend_from_slice(l::PLD_SPEC);
    str_into(buf, head.pld_spec);
    Ok(())
}

/// The keyword arguments just written at `buf[at..]` must be a map with
/// string keys (nil means none: an empty map), as
/// [`super::payload::to_kwargs`] requires.
fn check_kwargs(buf: &mut [u8], at: usize) -> Result<(), PayloadError> {
    use rmp::decode as d;
    if buf[at..] == [0xc0] {
        buf[at] = 0x80;
        return Ok(());
    }
    let mut b = &buf[at..];
    let Ok(n) = d::read_map_len(&mut b) else {
        let v = rmpv::decode::read_value(&mut &buf[at..]).unwrap_or(rmpv::Value::Nil);
        return Err(PayloadError(format!(
            "keyword arguments must serialize to a map, got {}",
            super::kind(&v)
        )));
    };
    for _ in 0..n {
        // A string key is read in place; anything else is read as a value
        // only to name its kind in the error.
        let mut key = b;
        if super::fast::read_str(&mut b).is_none() {
            let k = rmpv::decode::read_value(&mut key).unwrap_or(rmpv::Value::Nil);
            return Err(PayloadError(format!(
                "keyword names must be strings, got {}",
                super::kind(&k)
            )));
        }
        super::codec::skip_one(&mut b, super::MAX_NESTING_CEILING)
            .map_err(|e| PayloadError(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::codec::{header, key};
    use crate::msg::payload::{to_kwargs, to_value};
    use crate::msg::*;

    #[derive(Serialize)]
    struct Args<'a> {
        x: i64,
        label: &'a str,
        data: Option<Vec<u32>>,
        #[serde(with = "serde_bytes_like")]
        blob: Vec<u8>,
    }

    /// `bin`, as a `serde_bytes` field would write it.
    mod serde_bytes_like {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[test]
    fn a_start_ack_is_what_the_general_encoder_writes() {
        for functype in [FuncType::AsyncFunc, FuncType::AsyncGen, FuncType::Context] {
            for cid in ["", "c", &"x".repeat(40), &"y".repeat(300)] {
                let mut buf = Vec::new();
                encode_start_ack(cid, functype, &mut buf);
                let general = encode(&Msg::StartAck(StartAck {
                    cid: cid.to_owned(),
                    functype,
                }));
                assert_eq!(
                    buf,
                    general,
                    "{functype:?} with a cid of {} bytes",
                    cid.len()
                );
            }
        }
    }

    fn args() -> Args<'static> {
        Args {
            x: -70000,
            label: "é",
            data: Some(vec![1, 300, 70000]),
            blob: vec![0, 255],
        }
    }

    #[test]
    fn the_payload_heads_are_what_the_general_encoder_writes() {
        for kind in PayloadKind::ALL {
            let tag = match kind {
                PayloadKind::Started => "Started",
                PayloadKind::Yield => "Yield",
                PayloadKind::Return => "Return",
            };
            let mut general = Vec::new();
            header(&mut general, 3, tag);
            key(&mut general, "cid");
            assert_eq!(kind.head(), &general[..], "{tag}");
            let mut pld = Vec::new();
            key(&mut pld, "pld");
            assert_eq!(PLD_KEY, &pld[..]);
        }
    }

    #[test]
    fn the_start_layout_is_what_the_general_encoder_writes() {
        use start_layout as l;
        let mut general = Vec::new();
        header(&mut general, 7, "Start");
        key(&mut general, "cid");
        assert_eq!(l::HEAD, &general[..]);
        for (run, k) in [
            (l::NS, "ns"),
            (l::FUNC, "func"),
            (l::KWARGS, "kwargs"),
            (l::PLD_SPEC, "pld_spec"),
        ] {
            let mut general = Vec::new();
            key(&mut general, k);
            assert_eq!(run, &general[..], "{k}");
        }
        let mut general = Vec::new();
        key(&mut general, "uid");
        rmp::encode::write_array_len(&mut general, 2).unwrap();
        assert_eq!(l::UID, &general[..]);
    }

    #[test]
    fn strings_take_rmps_smallest_form_at_every_length() {
        for n in [0, 1, 31, 32, 255, 256, 65535, 65536, 70000] {
            let s = "é".repeat(n / 2) + &"a".repeat(n % 2);
            let mut ours = Vec::new();
            str_into(&mut ours, &s);
            let mut rmps = Vec::new();
            rmp::encode::write_str(&mut rmps, &s).unwrap();
            assert_eq!(ours, rmps, "length {n}");
        }
    }

    #[test]
    fn a_typed_start_is_byte_identical_to_the_dynamic_one() {
        let u = Uid::new("root", "u1");
        let head = StartHead {
            cid: "c1",
            ns: "m",
            func: "f",
            uid: &u,
            pld_spec: ANY_PLD_SPEC,
        };
        let mut buf = vec![9];
        encode_start(head, &args(), &mut buf).unwrap();
        let dynamic = encode(&Msg::Start(Start {
            cid: "c1".into(),
            ns: "m".into(),
            func: "f".into(),
            kwargs: to_kwargs(&args()).unwrap(),
            uid: u.clone(),
            pld_spec: ANY_PLD_SPEC.into(),
        }));
        assert_eq!(buf[1..], dynamic[..]);
        // No kwargs at all: an empty map, as to_kwargs gives.
        let mut none = Vec::new();
        encode_start(head, &(), &mut none).unwrap();
        let MsgRef::Start(s) = decode_ref(&none).unwrap() else {
            panic!()
        };
        assert_eq!(s.kwargs.as_bytes(), [0x80]);
    }

    #[test]
    fn a_typed_payload_is_byte_identical_to_the_dynamic_one() {
        for kind in [
            PayloadKind::Started,
            PayloadKind::Yield,
            PayloadKind::Return,
        ] {
            let mut buf = Vec::new();
            encode_payload(kind, "c", &args(), &mut buf).unwrap();
            let p = Payload {
                cid: "c".into(),
                pld: to_value(&args()).unwrap(),
            };
            let m = match kind {
                PayloadKind::Started => Msg::Started(p),
                PayloadKind::Yield => Msg::Yield(p),
                PayloadKind::Return => Msg::Return(p),
            };
            assert_eq!(buf, encode(&m), "{kind:?}");
        }
    }

    #[test]
    fn kwargs_that_are_not_a_string_keyed_map_are_refused_and_leave_the_buffer() {
        let u = Uid::new("a", "b");
        let head = StartHead {
            cid: "c",
            ns: "m",
            func: "f",
            uid: &u,
            pld_spec: ANY_PLD_SPEC,
        };
        let mut buf = vec![1, 2];
        let e = encode_start(head, &5, &mut buf).unwrap_err();
        assert_eq!(
            e.to_string(),
            "keyword arguments must serialize to a map, got int"
        );
        let e =
            encode_start(head, &std::collections::BTreeMap::from([(1, 2)]), &mut buf).unwrap_err();
        assert_eq!(e.to_string(), "keyword names must be strings, got int");
        assert_eq!(buf, [1, 2]);
        // The same words as the dynamic path.
        assert_eq!(
            to_kwargs(&5).unwrap_err().to_string(),
            "keyword arguments must serialize to a map, got int"
        );
    }
}
