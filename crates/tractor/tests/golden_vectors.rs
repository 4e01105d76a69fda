//! Every golden vector made by Python tractor's own codec decodes to the
//! expected message and re-encodes to identical bytes.

use std::path::PathBuf;

use tractor::msg::{self, Msg};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/tractor")
}

fn index() -> Vec<serde_json::Value> {
    let raw = std::fs::read_to_string(vectors_dir().join("vectors.json"))
        .expect("golden vectors at ../shared/vectors/tractor");
    let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

/// The JSON form `vectors.json` uses for a decoded value: bytes as
/// `{"$bytes": hex}`.
fn to_json(v: &msg::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        msg::Value::Nil => J::Null,
        msg::Value::Boolean(b) => J::Bool(*b),
        msg::Value::Integer(i) => match i.as_i64() {
            Some(n) => J::from(n),
            None => J::from(i.as_u64().unwrap()),
        },
        msg::Value::F32(f) => J::from(f64::from(*f)),
        msg::Value::F64(f) => J::from(*f),
        msg::Value::String(s) => J::String(s.as_str().unwrap().to_owned()),
        msg::Value::Binary(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            serde_json::json!({ "$bytes": hex })
        }
        msg::Value::Array(a) => J::Array(a.iter().map(to_json).collect()),
        msg::Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_owned(), to_json(v)))
                .collect(),
        ),
        msg::Value::Ext(..) => panic!("no ext types on the wire"),
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn every_vector_round_trips_byte_for_byte() {
    let vectors = index();
    assert!(vectors.len() >= 30, "expected the full vector set");
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let bytes = std::fs::read(vectors_dir().join(format!("{name}.msgpack"))).unwrap();
        assert_eq!(
            bytes,
            unhex(v["hex"].as_str().unwrap()),
            "{name}: index hex"
        );
        let decoded = msg::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            decoded.msg_type(),
            v["msg_type"].as_str().unwrap(),
            "{name}"
        );
        // The decoded value, seen as plain data, is the one in the index.
        let as_value = rmpv::decode::read_value(&mut msg::encode(&decoded).as_slice()).unwrap();
        assert_eq!(to_json(&as_value), v["value"], "{name}: decoded value");
        assert_eq!(msg::encode(&decoded), bytes, "{name}: re-encoding differs");
    }
}

#[test]
fn every_frame_is_length_prefix_plus_payload() {
    for v in index() {
        let name = v["name"].as_str().unwrap();
        let frame = std::fs::read(vectors_dir().join(format!("{name}.frame"))).unwrap();
        let payload = std::fs::read(vectors_dir().join(format!("{name}.msgpack"))).unwrap();
        let mut want = (payload.len() as u32).to_le_bytes().to_vec();
        want.extend_from_slice(&payload);
        assert_eq!(frame, want, "{name}");
        let m: Msg = msg::decode(&frame[4..]).unwrap();
        let mut out = Vec::new();
        tractor::ipc::frame::write_frame_into(&m, &mut out);
        assert_eq!(out, frame, "{name}: framing");
    }
}

/// The borrowed decoder reads every vector as the owned one does, and the
/// typed encoders, fed the payloads read as bytes, write the vector back
/// byte for byte.
#[test]
fn every_vector_decodes_borrowed_and_re_encodes_typed_byte_for_byte() {
    use msg::{MsgRef, PayloadKind, StartHead};
    let mut typed = 0;
    for v in index() {
        let name = v["name"].as_str().unwrap();
        let bytes = std::fs::read(vectors_dir().join(format!("{name}.msgpack"))).unwrap();
        let r = msg::decode_ref(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.to_msg(), msg::decode(&bytes).unwrap(), "{name}");
        let mut out = Vec::new();
        let kind = match &r {
            MsgRef::Started(_) => Some(PayloadKind::Started),
            MsgRef::Yield(_) => Some(PayloadKind::Yield),
            MsgRef::Return(_) => Some(PayloadKind::Return),
            _ => None,
        };
        match (&r, kind) {
            (MsgRef::Start(s), _) => {
                let uid = msg::Uid::new(s.uid.0, s.uid.1);
                let head = StartHead {
                    cid: s.cid,
                    ns: s.ns,
                    func: s.func,
                    uid: &uid,
                    pld_spec: s.pld_spec,
                };
                let kwargs: msg::Value = s.kwargs.decode().unwrap();
                msg::encode_start(head, &kwargs, &mut out).unwrap();
            }
            (MsgRef::Started(p) | MsgRef::Yield(p) | MsgRef::Return(p), Some(k)) => {
                let pld: msg::Value = p.pld.decode().unwrap();
                msg::encode_payload(k, p.cid, &pld, &mut out).unwrap();
            }
            _ => continue,
        }
        assert_eq!(out, bytes, "{name}: typed re-encoding differs");
        typed += 1;
    }
    assert!(
        typed >= 15,
        "only {typed} vectors went through the typed path"
    );
}
