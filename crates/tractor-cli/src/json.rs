//! Between JSON (what people type and read) and msgpack values (the wire).

use tractor::msg::Value;

/// A JSON value as a msgpack value.
pub fn to_value(j: &serde_json::Value) -> Value {
    tractor::msg::payload::to_value(j).unwrap_or(Value::Nil)
}

/// A msgpack value as JSON (bytes become arrays of numbers; non-string
/// map keys are written as their JSON text).
pub fn from_value(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Boolean(b) => J::Bool(*b),
        Value::Integer(i) => i
            .as_i64()
            .map(J::from)
            .or_else(|| i.as_u64().map(J::from))
            .unwrap_or(J::Null),
        Value::F32(f) => J::from(f64::from(*f)),
        Value::F64(f) => J::from(*f),
        Value::String(s) => J::String(s.as_str().unwrap_or_default().to_owned()),
        Value::Binary(b) => J::Array(b.iter().map(|x| J::from(*x)).collect()),
        Value::Array(a) => J::Array(a.iter().map(from_value).collect()),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.as_str().unwrap_or_default().to_owned(),
                        other => from_value(other).to_string(),
                    };
                    (key, from_value(v))
                })
                .collect(),
        ),
        Value::Ext(t, d) => serde_json::json!({ "ext": t, "data": d }),
    }
}
