//! Typed payloads: converting between Rust values and the dynamic msgpack
//! [`Value`] carried in `pld` and `kwargs`.
//!
//! A Rust type serializes through serde into a [`Value`] exactly as msgspec
//! would encode the equivalent Python value: structs become maps, tuples and
//! `Vec`s arrays, `serde_bytes` buffers `bin`. Going back, a mismatch is a
//! [`PayloadError`] that says which field and what was expected, which the
//! runtime ships as a `MsgTypeError`.

use serde::{Serialize, de::DeserializeOwned};

use super::types::{StrMap, Value};

/// A payload that does not have the expected shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// Converts a serializable Rust value into a payload value.
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, PayloadError> {
    // Through bytes, because only `rmp_serde` can write structs as maps
    // (as msgspec does); `rmpv`'s own serializer writes them as arrays.
    let bytes = rmp_serde::to_vec_named(v).map_err(|e| PayloadError(e.to_string()))?;
    rmpv::decode::read_value(&mut bytes.as_slice()).map_err(|e| PayloadError(e.to_string()))
}

/// Converts a payload value into a Rust value of type `T`.
pub fn from_value<T: DeserializeOwned>(v: Value) -> Result<T, PayloadError> {
    rmpv::ext::from_value(v).map_err(|e| {
        PayloadError(format!(
            "expected {}: {e}",
            std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("value")
        ))
    })
}

/// Converts a serializable struct into a keyword-argument map.
pub fn to_kwargs<T: Serialize + ?Sized>(v: &T) -> Result<StrMap, PayloadError> {
    match to_value(v)? {
        Value::Map(entries) => entries
            .into_iter()
            .map(|(k, v)| match k {
                Value::String(s) if s.is_str() => Ok((s.into_str().unwrap_or_default(), v)),
                other => Err(PayloadError(format!(
                    "keyword names must be strings, got {}",
                    super::kind(&other)
                ))),
            })
            .collect(),
        Value::Nil => Ok(Vec::new()),
        other => Err(PayloadError(format!(
            "keyword arguments must serialize to a map, got {}",
            super::kind(&other)
        ))),
    }
}

/// Converts a borrowed payload value into a Rust value of type `T`
/// (the value stays available, e.g. to report it when it does not fit).
pub fn from_value_ref<T: DeserializeOwned>(v: &Value) -> Result<T, PayloadError> {
    T::deserialize(v.as_ref()).map_err(|e| {
        PayloadError(format!(
            "expected {}: {e}",
            std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("value")
        ))
    })
}

/// Converts a keyword-argument map into a Rust struct.
pub fn from_kwargs<T: DeserializeOwned>(kwargs: StrMap) -> Result<T, PayloadError> {
    from_value(Value::Map(
        kwargs
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Point {
        x: i64,
        label: String,
    }

    #[test]
    fn structs_are_maps_like_msgspec_writes_them() {
        let v = to_value(&Point {
            x: 3,
            label: "a".into(),
        })
        .unwrap();
        assert!(matches!(v, Value::Map(_)), "{v:?}");
        let kw = to_kwargs(&Point {
            x: 3,
            label: "a".into(),
        })
        .unwrap();
        assert_eq!(kw[0].0, "x");
        assert_eq!(
            from_kwargs::<Point>(kw).unwrap(),
            Point {
                x: 3,
                label: "a".into()
            }
        );
    }

    /// The Python ↔ Rust value table of docs/interop.md.
    #[test]
    fn python_values_into_rust_types_as_documented() {
        // ints: within range they fit; past it they do not.
        assert_eq!(from_value::<i64>(Value::from(-5)).unwrap(), -5);
        assert_eq!(from_value::<u64>(Value::from(u64::MAX)).unwrap(), u64::MAX);
        let e = from_value::<i64>(Value::from(1u64 << 63)).unwrap_err();
        assert!(e.to_string().contains("invalid value: integer"), "{e}");
        assert!(from_value::<u8>(Value::from(300)).is_err());
        // A float is never truncated into an int; an int widens to f64.
        assert!(from_value::<i64>(Value::from(1.0)).is_err());
        assert_eq!(from_value::<f64>(Value::from(3)).unwrap(), 3.0);
        // bool is not an int.
        assert!(from_value::<i64>(Value::from(true)).is_err());
        // bytes: not a plain Vec<u8> (that is a list of ints); a byte
        // buffer type (serde_bytes) or Value.
        let bin = Value::Binary(vec![1, 2]);
        assert!(from_value::<Vec<u8>>(bin.clone()).is_err());
        assert_eq!(from_value::<Value>(bin.clone()).unwrap(), bin);
        // None is Option::None.
        assert_eq!(from_value::<Option<i64>>(Value::Nil).unwrap(), None);
    }

    #[test]
    fn a_mismatch_says_what_was_expected() {
        let e = from_value::<Point>(Value::from("nope")).unwrap_err();
        assert!(e.to_string().starts_with("expected Point"), "{e}");
    }
}
