//! [`RawPayload`]: a payload kept as the msgpack bytes it arrived as.
//!
//! The reader decodes a frame in place ([`super::decode_ref`]) and hands a
//! `Started`/`Yield`/`Return`'s `pld` to its dialog as a slice of the
//! frame (a [`Bytes`] sharing the read buffer: no copy, no [`Value`]
//! tree). Whoever reads it deserializes it straight into the type it
//! expects; the dynamic API builds a [`Value`] on demand.

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::payload::PayloadError;
use super::raw::RawValue;
use super::types::Value;

/// The bytes of exactly one well-formed msgpack value, owned (usually a
/// slice of the frame it came in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPayload(Bytes);

impl RawPayload {
    /// The payload of a frame: `pld`, borrowed from `frame` by
    /// [`super::decode_ref`], becomes a slice of it (no copy).
    pub fn of_frame(frame: &Bytes, pld: RawValue<'_>) -> RawPayload {
        RawPayload(frame.slice_ref(pld.as_bytes()))
    }

    /// `nil`.
    pub fn nil() -> RawPayload {
        RawPayload(Bytes::from_static(&[0xc0]))
    }

    /// A dynamic value, encoded.
    pub fn from_value(v: &Value) -> RawPayload {
        let mut buf = Vec::with_capacity(16);
        // Writing to a Vec cannot fail.
        let _ = rmpv::encode::write_value(&mut buf, v);
        RawPayload(Bytes::from(buf))
    }

    /// A typed value, encoded as the typed send path writes it (structs
    /// as maps with named fields): the bytes [`Self::from_value`] gives
    /// for the value's [`super::payload::to_value`], with no tree between.
    ///
    /// A small value (what most calls return) is written on the stack and
    /// kept in one allocation of its size, or none for a one-byte value
    /// (`()`, `None`, a bool, a small integer).
    pub fn encoded<T: Serialize + ?Sized>(v: &T) -> Result<RawPayload, PayloadError> {
        let mut stack = [0u8; SMALL];
        let mut rest = &mut stack[..];
        if super::typed::serialize_to(v, &mut rest).is_ok() {
            let len = SMALL - rest.len();
            return Ok(RawPayload(small(&stack[..len])));
        }
        // Larger than the stack buffer (or not serializable: the general
        // path says why). Serialized again, not spilled as it grows: a
        // single pass through a `SmallVec` writer cost the typed codec a
        // sixth of its speed (`docs/performance.md`, "Eighth session").
        let mut buf = Vec::with_capacity(2 * SMALL);
        super::typed::serialize(v, &mut buf)?;
        Ok(RawPayload(Bytes::from(buf)))
    }

    /// The value's msgpack bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The borrowed form.
    pub fn as_raw(&self) -> RawValue<'_> {
        RawValue::trusted(&self.0)
    }

    /// Deserializes the value straight into `T`; a mismatch says what
    /// was expected (as [`super::payload::from_value`] does).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.as_raw().decode()
    }

    /// The value as a dynamic [`Value`] (for the untyped API).
    pub fn to_value(&self) -> Value {
        self.as_raw().to_value()
    }
}

/// How large a value [`RawPayload::encoded`] tries on the stack first.
const SMALL: usize = 64;

/// Every byte value once: a one-byte msgpack value (nil, a bool, a fixint)
/// is a static slice of it.
static ONE_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as u8;
        i += 1;
    }
    t
};

/// `bytes` owned: a static slice for one byte, else one exact allocation.
fn small(bytes: &[u8]) -> Bytes {
    match bytes {
        [b] => Bytes::from_static(std::slice::from_ref(&ONE_BYTE[*b as usize])),
        _ => Bytes::copy_from_slice(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{Msg, MsgRef, Payload, decode_ref, encode};

    #[test]
    fn a_frames_payload_is_a_slice_of_it_and_decodes_typed_or_dynamic() {
        let pld = Value::Array(vec![Value::from(7), Value::from("x")]);
        let frame = Bytes::from(encode(&Msg::Yield(Payload {
            cid: "c".into(),
            pld: pld.clone(),
        })));
        let MsgRef::Yield(p) = decode_ref(&frame).unwrap() else {
            panic!("a Yield")
        };
        let raw = RawPayload::of_frame(&frame, p.pld);
        assert_eq!(
            raw.as_bytes().as_ptr(),
            p.pld.as_bytes().as_ptr(),
            "no copy"
        );
        assert_eq!(raw.decode::<(u8, String)>().unwrap(), (7, "x".into()));
        assert_eq!(raw.to_value(), pld);
        assert_eq!(RawPayload::from_value(&pld), raw);
        let e = raw.decode::<u8>().unwrap_err();
        assert!(e.to_string().starts_with("expected u8: "), "{e}");
        assert_eq!(RawPayload::nil().to_value(), Value::Nil);
    }

    #[test]
    fn values_of_every_size_encode_as_the_general_path_does() {
        // One byte (static), small (on the stack), at the stack buffer's
        // edge, and past it (the general path).
        let values = [
            Value::Nil,
            Value::from(true),
            Value::from(5),
            Value::from(-3),
            Value::from("x"),
            Value::from("y".repeat(SMALL - 2)),
            Value::from("z".repeat(SMALL - 1)),
            Value::from("w".repeat(SMALL)),
            Value::from("v".repeat(10 * SMALL)),
        ];
        for v in values {
            assert_eq!(
                RawPayload::encoded(&v).unwrap(),
                RawPayload::from_value(&v),
                "{v}"
            );
        }
        assert_eq!(RawPayload::encoded(&()).unwrap(), RawPayload::nil());
        let e = RawPayload::encoded(&NotSerializable).unwrap_err();
        assert!(e.to_string().contains("refused on purpose"), "{e}");
    }

    struct NotSerializable;

    impl Serialize for NotSerializable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("refused on purpose"))
        }
    }
}
