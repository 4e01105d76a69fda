//! Decoding that leaves payloads as bytes until someone asks.
//!
//! [`decode_ref`] reads the envelope of the hot messages (`Start`,
//! `Started`, `Yield`, `Return`, `StartAck`, `Stop`) in place, borrowing
//! every string from the frame, and leaves `pld` and `kwargs` as
//! [`RawValue`]s: the bytes of one msgpack value, as msgspec's `Raw` does.
//! A typed reader then deserializes a `RawValue` straight into its target
//! type ([`RawValue::decode`]), with no [`Value`] tree in between; the
//! dynamic form stays one call away ([`RawValue::to_value`]).
//!
//! It accepts exactly what [`super::decode`] accepts and, on anything
//! else, returns the very error [`super::decode`] gives (it asks it), so
//! bad input is reported as precisely as before.

use serde::Deserialize;

use super::codec::{MAX_NESTING, decode_with_depth};
use super::fast::{MAX_FIELDS, read_str, read_uid_ref};
use super::payload::PayloadError;
use super::scan::walk;
use super::types::*;

/// The bytes of exactly one well-formed msgpack value, borrowed from a
/// frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawValue<'a>(&'a [u8]);

impl<'a> RawValue<'a> {
    /// Bytes the caller knows to be one well-formed value (checked when
    /// their frame was read).
    pub(super) fn trusted(bytes: &'a [u8]) -> RawValue<'a> {
        RawValue(bytes)
    }

    /// The value's msgpack bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Deserializes the value straight into `T` (borrowing strings from
    /// the frame where `T` does); a mismatch says what was expected.
    pub fn decode<T: Deserialize<'a>>(&self) -> Result<T, PayloadError> {
        rmp_serde::from_slice(self.0).map_err(|fast| {
            // rmp-serde's direct decode names a msgpack marker on a type
            // mismatch ("wrong msgpack marker FixStr(3)"); decoding once
            // more through a borrowed value tree gives serde's words
            // ("invalid type: string \"two\", expected i64"), which is what
            // a person (or a Python peer's MsgTypeError) should read. Only
            // on the error path.
            let e = rmpv::decode::read_value_ref(&mut &self.0[..])
                .ok()
                .and_then(|v| rmpv::ext::deserialize_from::<T, _>(v).err())
                .map(|e| e.to_string())
                .unwrap_or_else(|| fast.to_string());
            PayloadError(format!(
                "expected {}: {e}",
                std::any::type_name::<T>()
                    .rsplit("::")
                    .next()
                    .unwrap_or("value")
            ))
        })
    }

    /// The keys of a map whose keys are all strings, in order; `None`
    /// for anything else.
    pub fn map_keys(&self) -> Option<Vec<&'a str>> {
        let mut b = self.0;
        let n = rmp::decode::read_map_len(&mut b).ok()?;
        let mut keys = Vec::with_capacity(n as usize);
        for _ in 0..n {
            keys.push(read_str(&mut b)?);
            walk(&mut b, super::MAX_NESTING_CEILING, false).ok()?;
        }
        Some(keys)
    }

    /// A `Start`'s keyword arguments (a map with string keys, as the
    /// reader only keeps them raw when they are one) as a dynamic map.
    pub fn to_kwargs(&self) -> StrMap {
        match self.to_value() {
            Value::Map(m) => m
                .into_iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), v))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The value as a dynamic [`Value`] (for code that inspects payloads
    /// of no fixed type).
    pub fn to_value(&self) -> Value {
        // Checked well-formed (and within the nesting limit) when the
        // frame was read, so this cannot fail.
        rmpv::decode::read_value(&mut &self.0[..]).unwrap_or(Value::Nil)
    }
}

/// `Start`, borrowed from its frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StartRef<'a> {
    /// The call id.
    pub cid: &'a str,
    /// Namespace.
    pub ns: &'a str,
    /// Function name.
    pub func: &'a str,
    /// The keyword arguments: a map with string keys, as bytes.
    pub kwargs: RawValue<'a>,
    /// The caller's `(name, uuid)`.
    pub uid: (&'a str, &'a str),
    /// The payload-type string (`"typing.Any"` when absent).
    pub pld_spec: &'a str,
}

/// `Started`, `Yield` or `Return`, borrowed from its frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PayloadRef<'a> {
    /// The call/context id.
    pub cid: &'a str,
    /// The value, as bytes.
    pub pld: RawValue<'a>,
}

/// One message, its hot kinds borrowed from the frame.
#[derive(Clone, Debug, PartialEq)]
pub enum MsgRef<'a> {
    /// Call request.
    Start(StartRef<'a>),
    /// Call accepted.
    StartAck {
        /// The call id.
        cid: &'a str,
        /// What the function turned out to be.
        functype: FuncType,
    },
    /// First value of a context.
    Started(PayloadRef<'a>),
    /// A stream item.
    Yield(PayloadRef<'a>),
    /// Final result.
    Return(PayloadRef<'a>),
    /// End of a stream.
    Stop {
        /// The context id.
        cid: &'a str,
    },
    /// Every other message (handshakes, errors, cancel acks), owned.
    Other(Box<Msg>),
}

impl MsgRef<'_> {
    /// The owned [`Msg`] this is (payloads become [`Value`]s).
    pub fn to_msg(&self) -> Msg {
        let payload = |p: &PayloadRef<'_>| Payload {
            cid: p.cid.to_owned(),
            pld: p.pld.to_value(),
        };
        match self {
            MsgRef::Start(s) => Msg::Start(Start {
                cid: s.cid.to_owned(),
                ns: s.ns.to_owned(),
                func: s.func.to_owned(),
                kwargs: s.kwargs.to_kwargs(),
                uid: Uid::new(s.uid.0, s.uid.1),
                pld_spec: s.pld_spec.to_owned(),
            }),
            MsgRef::StartAck { cid, functype } => Msg::StartAck(StartAck {
                cid: (*cid).to_owned(),
                functype: *functype,
            }),
            MsgRef::Started(p) => Msg::Started(payload(p)),
            MsgRef::Yield(p) => Msg::Yield(payload(p)),
            MsgRef::Return(p) => Msg::Return(payload(p)),
            MsgRef::Stop { cid } => Msg::Stop(Stop {
                cid: (*cid).to_owned(),
            }),
            MsgRef::Other(m) => (**m).clone(),
        }
    }
}

/// Decodes one message from exactly `bytes`, borrowing from them, with
/// the default nesting limit [`MAX_NESTING`].
pub fn decode_ref(bytes: &[u8]) -> Result<MsgRef<'_>, super::DecodeError> {
    decode_ref_with_depth(bytes, MAX_NESTING)
}

/// [`decode_ref`] with a nesting limit, as [`decode_with_depth`] takes.
pub fn decode_ref_with_depth(
    bytes: &[u8],
    max_depth: usize,
) -> Result<MsgRef<'_>, super::DecodeError> {
    let depth = max_depth.clamp(1, super::MAX_NESTING_CEILING);
    if let Some(m) = payload_fast(bytes, depth) {
        return Ok(m);
    }
    if let Some(s) = start_fast(bytes, depth) {
        return Ok(MsgRef::Start(s));
    }
    if let Some(m) = HotFields::read(bytes, depth).and_then(|f| f.msg()) {
        return Ok(m);
    }
    // Not a hot message, or not a valid one: the owned decoder decides,
    // and says precisely what is wrong.
    decode_with_depth(bytes, max_depth).map(|m| MsgRef::Other(Box::new(m)))
}

/// A `Started`, `Yield` or `Return` laid out exactly as encoders write
/// one (ours, `typed::payload_head`, and msgspec's: the tag, `cid`, `pld`,
/// in that order), read without the general loop over keys: the two
/// fixed runs of bytes are compared whole, the cid is read and checked as
/// a string, the payload walked as [`HotFields::read`] walks every value.
/// A frame of that shape is accepted or refused exactly as the general
/// path would (it has no other keys and no duplicates); `None` for any
/// other frame, which then takes the general path.
fn payload_fast(bytes: &[u8], max_depth: usize) -> Option<MsgRef<'_>> {
    let (kind, mut rd) = super::PayloadKind::ALL
        .into_iter()
        .find_map(|k| Some((k, bytes.strip_prefix(k.head())?)))?;
    let cid = read_str(&mut rd)?;
    let mut rd = rd.strip_prefix(super::typed::PLD_KEY)?;
    let pld = rd;
    walk(&mut rd, max_depth, true).ok()?;
    if !rd.is_empty() {
        return None;
    }
    let p = PayloadRef {
        cid,
        pld: RawValue(pld),
    };
    Some(match kind {
        super::PayloadKind::Started => MsgRef::Started(p),
        super::PayloadKind::Yield => MsgRef::Yield(p),
        super::PayloadKind::Return => MsgRef::Return(p),
    })
}

/// A `Start` laid out exactly as [`super::encode_start`] and
/// [`super::encode`] write one (`typed::start_layout`: the seven keys in
/// their order, `uid` a two-item array), read by comparing the fixed runs
/// of bytes whole and reading each value in its place. What it accepts
/// [`HotFields`] would read the same (no other keys, no duplicates, every
/// string checked as UTF-8, the keyword arguments walked as a map with
/// string keys); `None` for anything else, which then takes the general
/// path and its precise errors.
fn start_fast(bytes: &[u8], max_depth: usize) -> Option<StartRef<'_>> {
    use super::typed::start_layout as l;
    let mut rd = bytes.strip_prefix(l::HEAD)?;
    let cid = read_str(&mut rd)?;
    rd = rd.strip_prefix(l::NS)?;
    let ns = read_str(&mut rd)?;
    rd = rd.strip_prefix(l::FUNC)?;
    let func = read_str(&mut rd)?;
    rd = rd.strip_prefix(l::KWARGS)?;
    let kwargs = rd;
    if !walk(&mut rd, max_depth, true).ok()?.str_keys {
        return None;
    }
    let kwargs = RawValue(&kwargs[..kwargs.len() - rd.len()]);
    rd = rd.strip_prefix(l::UID)?;
    let uid = (read_str(&mut rd)?, read_str(&mut rd)?);
    rd = rd.strip_prefix(l::PLD_SPEC)?;
    let pld_spec = match rd {
        [0xc0] => ANY_PLD_SPEC,
        _ => read_str(&mut rd).filter(|_| rd.is_empty())?,
    };
    Some(StartRef {
        cid,
        ns,
        func,
        kwargs,
        uid,
        pld_spec,
    })
}

/// The fields of the hot messages, read in one validating pass (every
/// value walked as [`super::fast`]'s `Fields::read` walks them, keys
/// checked as UTF-8 the same way, the first of duplicate keys kept), into
/// a few words on the stack: a general field table is most of a
/// kilobyte, and building and returning one per stream item was a
/// visible part of the reader's time (`docs/performance.md`).
#[derive(Default)]
struct HotFields<'a> {
    /// The string fields: present, and their text when they are strings.
    msg_type: Option<Option<&'a str>>,
    cid: Option<Option<&'a str>>,
    ns: Option<Option<&'a str>>,
    func: Option<Option<&'a str>>,
    functype: Option<Option<&'a str>>,
    /// The value's bytes, then its text when it is a string.
    pld_spec: Option<(&'a [u8], Option<&'a str>)>,
    pld: Option<&'a [u8]>,
    /// The value's bytes, and whether it is a map with string keys.
    kwargs: Option<(&'a [u8], bool)>,
    uid: Option<&'a [u8]>,
}

impl<'a> HotFields<'a> {
    fn read(bytes: &'a [u8], max_depth: usize) -> Option<HotFields<'a>> {
        let mut rd = bytes;
        let n = rmp::decode::read_map_len(&mut rd).ok()? as usize;
        if n > MAX_FIELDS {
            return None;
        }
        let mut f = HotFields::default();
        for _ in 0..n {
            let key = read_str(&mut rd)?;
            let start = rd;
            let scan = walk(&mut rd, max_depth, true).ok()?;
            let val = &start[..start.len() - rd.len()];
            let text = scan.text;
            // The first of duplicate keys counts, as in `Fields`.
            match key {
                "msg_type" => _ = f.msg_type.get_or_insert(text),
                "cid" => _ = f.cid.get_or_insert(text),
                "ns" => _ = f.ns.get_or_insert(text),
                "func" => _ = f.func.get_or_insert(text),
                "functype" => _ = f.functype.get_or_insert(text),
                "pld_spec" => _ = f.pld_spec.get_or_insert((val, text)),
                "pld" => _ = f.pld.get_or_insert(val),
                "kwargs" => _ = f.kwargs.get_or_insert((val, scan.str_keys)),
                "uid" => _ = f.uid.get_or_insert(val),
                _ => {}
            }
        }
        rd.is_empty().then_some(f)
    }

    /// The message, or `None` for the general decoder to decide.
    fn msg(&self) -> Option<MsgRef<'a>> {
        let payload = || {
            Some(PayloadRef {
                cid: self.cid??,
                pld: RawValue(self.pld?),
            })
        };
        Some(match self.msg_type?? {
            "Start" => MsgRef::Start(StartRef {
                cid: self.cid??,
                ns: self.ns??,
                func: self.func??,
                kwargs: match self.kwargs? {
                    (b, true) => RawValue(b),
                    (_, false) => return None,
                },
                uid: {
                    let mut b = self.uid?;
                    read_uid_ref(&mut b).filter(|_| b.is_empty())?
                },
                pld_spec: match self.pld_spec {
                    None | Some(([0xc0], _)) => ANY_PLD_SPEC,
                    Some((_, text)) => text?,
                },
            }),
            "StartAck" => MsgRef::StartAck {
                cid: self.cid??,
                functype: FuncType::parse(self.functype??)?,
            },
            "Started" => MsgRef::Started(payload()?),
            "Yield" => MsgRef::Yield(payload()?),
            "Return" => MsgRef::Return(payload()?),
            "Stop" => MsgRef::Stop { cid: self.cid?? },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{decode, encode};

    #[test]
    fn a_hot_envelope_keeps_the_first_of_duplicate_keys_and_ignores_fields_it_does_not_read() {
        // {"msg_type": "Yield", "cid": "a", "cid": "b", "ns": 5, "pld": 7}
        let mut b = vec![0x85];
        for (k, v) in [
            ("msg_type", &[0xa5, b'Y', b'i', b'e', b'l', b'd'][..]),
            ("cid", &[0xa1, b'a'][..]),
            ("cid", &[0xa1, b'b'][..]),
            ("ns", &[0x05][..]),
            ("pld", &[0x07][..]),
        ] {
            b.push(0xa0 | k.len() as u8);
            b.extend_from_slice(k.as_bytes());
            b.extend_from_slice(v);
        }
        match decode_ref(&b).unwrap() {
            MsgRef::Yield(p) => {
                assert_eq!(p.cid, "a", "the first cid");
                assert_eq!(p.pld.decode::<i64>().unwrap(), 7);
            }
            other => panic!("not decoded on the hot path: {other:?}"),
        }
        // A non-string cid sends it to the general decoder, which refuses it.
        let bad = [
            0x82, 0xa8, b'm', b's', b'g', b'_', b't', b'y', b'p', b'e', 0xa4, b'S', b't', b'o',
            b'p', 0xa3, b'c', b'i', b'd', 0x05,
        ];
        assert!(decode_ref(&bad).is_err());
    }

    fn start() -> Msg {
        Msg::Start(Start {
            cid: "c1".into(),
            ns: "m".into(),
            func: "add".into(),
            kwargs: vec![("x".into(), Value::from(1)), ("y".into(), Value::from("é"))],
            uid: Uid::new("root", "u1"),
            pld_spec: ANY_PLD_SPEC.into(),
        })
    }

    #[test]
    fn a_type_mismatch_is_said_in_serdes_words_not_as_a_msgpack_marker() {
        let bytes = rmp_serde::to_vec("two").unwrap();
        let e = RawValue::trusted(&bytes).decode::<i64>().unwrap_err();
        assert_eq!(
            e.0,
            "expected i64: error while decoding value: invalid type: string \"two\", expected i64",
            "the words of payload::from_value, the dynamic path's"
        );
        let bytes = rmp_serde::to_vec(&[1, 2]).unwrap();
        let e = RawValue::trusted(&bytes).decode::<String>().unwrap_err();
        assert!(
            e.0.starts_with("expected String: error while decoding value: invalid type: sequence"),
            "{}",
            e.0
        );
        // A match still decodes straight.
        let bytes = rmp_serde::to_vec(&7i64).unwrap();
        assert_eq!(RawValue::trusted(&bytes).decode::<i64>().unwrap(), 7);
    }

    #[test]
    fn a_start_is_borrowed_and_its_kwargs_decode_straight_into_a_struct() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Args<'a> {
            x: i64,
            y: &'a str,
        }
        let bytes = encode(&start());
        let MsgRef::Start(s) = decode_ref(&bytes).unwrap() else {
            panic!("not a Start");
        };
        assert_eq!(
            (s.cid, s.ns, s.func, s.uid),
            ("c1", "m", "add", ("root", "u1"))
        );
        assert_eq!(
            s.kwargs.decode::<Args<'_>>().unwrap(),
            Args { x: 1, y: "é" }
        );
        assert_eq!(decode_ref(&bytes).unwrap().to_msg(), start());
    }

    #[test]
    fn a_payload_stays_bytes_until_read() {
        let m = Msg::Yield(Payload {
            cid: "c".into(),
            pld: Value::Array(vec![Value::from(1), Value::Binary(vec![9])]),
        });
        let bytes = encode(&m);
        let MsgRef::Yield(p) = decode_ref(&bytes).unwrap() else {
            panic!("not a Yield");
        };
        assert_eq!(
            p.pld.as_bytes(),
            &bytes[bytes.len() - p.pld.as_bytes().len()..]
        );
        assert_eq!(p.pld.to_value(), m_pld(&m));
        let e = p.pld.decode::<Vec<i64>>().unwrap_err();
        assert!(e.to_string().starts_with("expected Vec<i64>"), "{e}");
    }

    fn m_pld(m: &Msg) -> Value {
        match m {
            Msg::Yield(p) => p.pld.clone(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn bad_input_gets_exactly_the_owned_decoders_error() {
        let good = encode(&start());
        let mut cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0xc1],
            good[..good.len() - 1].to_vec(),
            [good.clone(), vec![0]].concat(),
        ];
        // Start with kwargs that are not a map, then with a non-string key.
        let mut w = Vec::new();
        super::super::codec::header(&mut w, 7, "Start");
        for (k, v) in [("cid", "c"), ("ns", "m"), ("func", "f")] {
            super::super::codec::kstr(&mut w, k, v);
        }
        let tail = |w: &mut Vec<u8>| {
            super::super::codec::key(w, "uid");
            super::super::codec::uid(w, &Uid::new("a", "b"));
            super::super::codec::kstr(w, "pld_spec", ANY_PLD_SPEC);
        };
        let mut not_map = w.clone();
        super::super::codec::key(&mut not_map, "kwargs");
        rmp::encode::write_sint(&mut not_map, 3).unwrap();
        tail(&mut not_map);
        cases.push(not_map);
        let mut int_key = w.clone();
        super::super::codec::key(&mut int_key, "kwargs");
        rmp::encode::write_map_len(&mut int_key, 1).unwrap();
        rmp::encode::write_sint(&mut int_key, 1).unwrap();
        rmp::encode::write_sint(&mut int_key, 2).unwrap();
        tail(&mut int_key);
        cases.push(int_key);
        // A Return with no pld, a StartAck with an unknown functype.
        let mut no_pld = Vec::new();
        super::super::codec::header(&mut no_pld, 2, "Return");
        super::super::codec::kstr(&mut no_pld, "cid", "c");
        cases.push(no_pld);
        let mut ack = Vec::new();
        super::super::codec::header(&mut ack, 3, "StartAck");
        super::super::codec::kstr(&mut ack, "cid", "c");
        super::super::codec::kstr(&mut ack, "functype", "coroutine");
        cases.push(ack);
        for (i, bytes) in cases.iter().enumerate() {
            let want = decode(bytes).expect_err(&format!("case {i} is bad"));
            let got = decode_ref(bytes).expect_err(&format!("case {i} is refused"));
            assert_eq!(got, want, "case {i}");
        }
        // A nil pld_spec defaults, as the owned decoder does.
        assert!(decode_ref(&good).is_ok());
    }
}
