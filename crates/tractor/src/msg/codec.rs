//! Encoding and decoding of [`Msg`] to and from msgpack bytes.
//!
//! Encoding is written by hand on top of `rmp` so every byte matches
//! msgspec's output: a map, `msg_type` first, fields in declaration order,
//! every field present, shortest integer and string headers, floats as
//! float64 (spec §2). Decoding is lenient the way msgspec is (keys in any
//! order, unknown keys ignored, defaulted fields optional) and strict about
//! everything else, with an error that names the message type, the field
//! and what was wrong.

use rmp::encode as enc;
use rmpv::Value;

use super::error::{DecodeError, DecodeErrorKind};
use super::types::*;

/// How deeply a payload value may nest lists and maps by default
/// (`RuntimeVars::max_nesting_depth`): deep enough for any real payload,
/// shallow enough that decoding never exhausts a stack. A list holding a
/// list is two levels; the message's own map does not count.
pub const MAX_NESTING: usize = 128;

/// The largest nesting limit a setting may ask for: decoding a value
/// recurses once per level, and this many levels stay far inside a
/// thread's stack.
pub const MAX_NESTING_CEILING: usize = 1024;

// ---------------------------------------------------------------- encoding

/// Appends the msgpack encoding of `msg` to `buf`.
///
/// Writing to a `Vec` cannot fail, so neither can this.
pub fn encode_into(msg: &Msg, buf: &mut Vec<u8>) {
    let w = buf;
    match msg {
        Msg::Aid(m) => {
            header(w, 6, "Aid");
            kstr(w, "name", &m.name);
            kstr(w, "uuid", &m.uuid);
            key(w, "pid");
            match m.pid {
                Some(p) => int(w, p),
                None => nil(w),
            }
            key(w, "is_registrar");
            opt_bool(w, m.is_registrar);
            key(w, "is_probe");
            boolean(w, m.is_probe);
        }
        Msg::SpawnSpec(m) => {
            header(w, 6, "SpawnSpec");
            key(w, "_parent_main_data");
            str_map(w, &m.parent_main_data);
            key(w, "_runtime_vars");
            str_map(w, &m.runtime_vars);
            key(w, "enable_modules");
            map_len(w, m.enable_modules.len());
            for (k, v) in &m.enable_modules {
                string(w, k);
                string(w, v);
            }
            key(w, "reg_addrs");
            addrs(w, &m.reg_addrs);
            key(w, "bind_addrs");
            match &m.bind_addrs {
                Some(a) => addrs(w, a),
                None => nil(w),
            }
        }
        Msg::Start(m) => {
            header(w, 7, "Start");
            kstr(w, "cid", &m.cid);
            kstr(w, "ns", &m.ns);
            kstr(w, "func", &m.func);
            key(w, "kwargs");
            str_map(w, &m.kwargs);
            key(w, "uid");
            uid(w, &m.uid);
            kstr(w, "pld_spec", &m.pld_spec);
        }
        Msg::StartAck(m) => {
            header(w, 3, "StartAck");
            kstr(w, "cid", &m.cid);
            kstr(w, "functype", m.functype.as_str());
        }
        Msg::Started(m) => payload(w, "Started", m),
        Msg::Yield(m) => payload(w, "Yield", m),
        Msg::Return(m) => payload(w, "Return", m),
        Msg::Stop(m) => {
            header(w, 2, "Stop");
            kstr(w, "cid", &m.cid);
        }
        Msg::CancelAck(m) => {
            header(w, 3, "CancelAck");
            kstr(w, "cid", &m.cid);
            key(w, "pld");
            boolean(w, m.pld);
        }
        Msg::Error(m) => {
            header(w, 12, "Error");
            key(w, "src_uid");
            uid(w, &m.src_uid);
            kstr(w, "src_type_str", &m.src_type_str);
            kstr(w, "boxed_type_str", &m.boxed_type_str);
            key(w, "relay_path");
            array_len(w, m.relay_path.len());
            for u in &m.relay_path {
                uid(w, u);
            }
            key(w, "message");
            opt_str(w, m.message.as_deref());
            kstr(w, "tb_str", &m.tb_str);
            key(w, "canceller");
            opt_uid(w, m.canceller.as_ref());
            key(w, "sender");
            opt_uid(w, m.sender.as_ref());
            key(w, "cid");
            opt_str(w, m.cid.as_deref());
            key(w, "_bad_msg");
            match &m.bad_msg {
                Some(b) => encode_into(b, w),
                None => nil(w),
            }
            key(w, "_bad_msg_as_dict");
            match &m.bad_msg_as_dict {
                Some(d) => str_map(w, d),
                None => nil(w),
            }
        }
    }
}

/// The msgpack encoding of `msg` as a new buffer.
pub fn encode(msg: &Msg) -> Vec<u8> {
    let mut buf = Vec::with_capacity(128);
    encode_into(msg, &mut buf);
    buf
}

// The `rmp` writers return `Result` only because they are generic over
// `Write`; for a `Vec<u8>` they cannot fail, so the results are dropped.

pub(super) fn header(w: &mut Vec<u8>, fields: usize, tag: &str) {
    map_len(w, fields);
    kstr(w, "msg_type", tag);
}

fn map_len(w: &mut Vec<u8>, n: usize) {
    let _ = enc::write_map_len(w, n as u32);
}

fn array_len(w: &mut Vec<u8>, n: usize) {
    let _ = enc::write_array_len(w, n as u32);
}

fn string(w: &mut Vec<u8>, s: &str) {
    super::typed::str_into(w, s);
}

pub(super) fn key(w: &mut Vec<u8>, k: &str) {
    string(w, k);
}

pub(super) fn kstr(w: &mut Vec<u8>, k: &str, v: &str) {
    string(w, k);
    string(w, v);
}

fn nil(w: &mut Vec<u8>) {
    let _ = enc::write_nil(w);
}

fn boolean(w: &mut Vec<u8>, b: bool) {
    let _ = enc::write_bool(w, b);
}

fn int(w: &mut Vec<u8>, i: i64) {
    let _ = enc::write_sint(w, i);
}

fn opt_bool(w: &mut Vec<u8>, b: Option<bool>) {
    match b {
        Some(b) => boolean(w, b),
        None => nil(w),
    }
}

fn opt_str(w: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(w, s),
        None => nil(w),
    }
}

pub(super) fn uid(w: &mut Vec<u8>, u: &Uid) {
    array_len(w, 2);
    string(w, &u.name);
    string(w, &u.uuid);
}

fn opt_uid(w: &mut Vec<u8>, u: Option<&Uid>) {
    match u {
        Some(u) => uid(w, u),
        None => nil(w),
    }
}

fn value(w: &mut Vec<u8>, v: &Value) {
    let _ = rmpv::encode::write_value(w, v);
}

fn str_map(w: &mut Vec<u8>, m: &StrMap) {
    map_len(w, m.len());
    for (k, v) in m {
        string(w, k);
        value(w, v);
    }
}

fn addr(w: &mut Vec<u8>, a: &WireAddr) {
    array_len(w, 2);
    match a {
        WireAddr::Tcp { host, port } => {
            string(w, host);
            let _ = enc::write_uint(w, u64::from(*port));
        }
        WireAddr::Uds { dir, file } => {
            string(w, dir);
            string(w, file);
        }
    }
}

fn addrs(w: &mut Vec<u8>, a: &[WireAddr]) {
    array_len(w, a.len());
    for x in a {
        addr(w, x);
    }
}

fn payload(w: &mut Vec<u8>, tag: &str, m: &Payload) {
    header(w, 3, tag);
    kstr(w, "cid", &m.cid);
    key(w, "pld");
    value(w, &m.pld);
}

/// Encodes a [`WireAddr`] as a dynamic value (for payloads such as the
/// registrar's replies).
pub fn addr_to_value(a: &WireAddr) -> Value {
    match a {
        WireAddr::Tcp { host, port } => {
            Value::Array(vec![Value::from(host.as_str()), Value::from(*port)])
        }
        WireAddr::Uds { dir, file } => {
            Value::Array(vec![Value::from(dir.as_str()), Value::from(file.as_str())])
        }
    }
}

/// Encodes a [`Uid`] as a dynamic value.
pub fn uid_to_value(u: &Uid) -> Value {
    Value::Array(vec![
        Value::from(u.name.as_str()),
        Value::from(u.uuid.as_str()),
    ])
}

// ---------------------------------------------------------------- decoding

/// Decodes one message from exactly `bytes` (one frame's payload), with
/// the default nesting limit [`MAX_NESTING`].
pub fn decode(bytes: &[u8]) -> Result<Msg, DecodeError> {
    decode_with_depth(bytes, MAX_NESTING)
}

/// Decodes one message from exactly `bytes`, refusing payload values
/// nested deeper than `max_depth` levels (capped at
/// [`MAX_NESTING_CEILING`]). A message refused for its depth still names
/// its `msg_type` and `cid` when they precede the deep value (as they do
/// in every message Python or we encode), so the sender can be told.
pub fn decode_with_depth(bytes: &[u8], max_depth: usize) -> Result<Msg, DecodeError> {
    let max_depth = max_depth.clamp(1, MAX_NESTING_CEILING);
    if bytes.is_empty() {
        return Err(DecodeError::new(DecodeErrorKind::Empty));
    }
    // Valid messages take the fast path; it validates what it reads and
    // gives up on anything odd, and the slow path then says precisely
    // what is wrong.
    if let Some(m) = super::fast::decode(bytes, max_depth) {
        return Ok(m);
    }
    if let Err(mut e) = well_formed(bytes, max_depth) {
        if let DecodeErrorKind::TooDeep { .. } = e.kind {
            (e.msg_type, e.cid) = header_fields_within(bytes, max_depth);
        }
        return Err(e);
    }
    let mut rd = bytes;
    // `well_formed` enforced the limit exactly; rmpv counts two steps per
    // list or map (and one per leaf), so its own bound must be looser.
    let v = rmpv::decode::read_value_with_max_depth(&mut rd, 2 * (max_depth + 1) + 4)
        .map_err(|e| DecodeError::new(DecodeErrorKind::Msgpack(e.to_string())))?;
    if !rd.is_empty() {
        return Err(DecodeError::new(DecodeErrorKind::TrailingBytes {
            extra: rd.len(),
        }));
    }
    msg_from_value(v)
}

/// Checks that `bytes` is exactly one well-formed msgpack object, without
/// allocating for ordinary depths: every length is checked against the
/// bytes that remain (so a hostile length costs nothing), the never-used
/// marker `0xc1` is refused (the value decoder would read it as nil), and
/// nesting is bounded by `max_depth` levels of lists and maps (see
/// [`super::scan::walk`], the one walker).
pub(super) fn skip_one(b: &mut &[u8], max_depth: usize) -> Result<(), DecodeError> {
    super::scan::walk(b, max_depth, false).map(|_| ())
}

fn well_formed(mut b: &[u8], max_depth: usize) -> Result<(), DecodeError> {
    // One more level for the message's own map.
    skip_one(&mut b, max_depth + 1).map_err(|e| match e.kind {
        DecodeErrorKind::TooDeep { .. } => {
            DecodeError::new(DecodeErrorKind::TooDeep { limit: max_depth })
        }
        _ => e,
    })?;
    if !b.is_empty() {
        return Err(DecodeError::new(DecodeErrorKind::TrailingBytes {
            extra: b.len(),
        }));
    }
    Ok(())
}

/// The `msg_type` and `cid` of a message that cannot be decoded whole (too
/// deep, or only its first bytes read because it is too large): the
/// top-level keys are read in order until a value cannot be skipped.
pub fn header_fields(b: &[u8]) -> (Option<String>, Option<String>) {
    header_fields_within(b, MAX_NESTING_CEILING)
}

fn header_fields_within(mut b: &[u8], max_depth: usize) -> (Option<String>, Option<String>) {
    let (mut msg_type, mut cid) = (None, None);
    let Ok(n) = rmp::decode::read_map_len(&mut b) else {
        return (msg_type, cid);
    };
    for _ in 0..n {
        let Some(key) = super::fast::read_str(&mut b) else {
            break;
        };
        let mut val = b;
        match key {
            "msg_type" => msg_type = super::fast::read_str(&mut val).map(str::to_owned),
            "cid" => cid = super::fast::read_str(&mut val).map(str::to_owned),
            _ => {}
        }
        if skip_one(&mut b, max_depth).is_err() {
            break;
        }
    }
    (msg_type, cid)
}

/// Converts an already-decoded msgpack value into a [`Msg`].
pub fn msg_from_value(v: Value) -> Result<Msg, DecodeError> {
    let Value::Map(entries) = v else {
        return Err(DecodeError::new(DecodeErrorKind::NotAMap {
            found: kind(&v),
        }));
    };
    let mut f = Fields::new(entries)?;
    let tag = match f.take("msg_type") {
        None => return Err(f.err(DecodeErrorKind::MissingTag)),
        Some(Value::String(s)) if s.is_str() => s.into_str().unwrap_or_default(),
        Some(other) => {
            return Err(f.err(DecodeErrorKind::FieldType {
                field: "msg_type",
                expected: "str",
                found: kind(&other),
            }));
        }
    };
    f.msg_type = Some(tag.clone());
    // Pick up the cid early so a field error can still be routed to its call.
    if let Some(Value::String(s)) = f.peek("cid") {
        f.cid = s.as_str().map(str::to_owned);
    }
    let msg = match tag.as_str() {
        "Aid" => Msg::Aid(Aid {
            name: f.req_str("name")?,
            uuid: f.req_str("uuid")?,
            pid: f.opt("pid", |v| v.as_i64(), "int")?,
            is_registrar: f.opt("is_registrar", |v| v.as_bool(), "bool")?,
            is_probe: f.opt("is_probe", |v| v.as_bool(), "bool")?.unwrap_or(false),
        }),
        "SpawnSpec" => Msg::SpawnSpec(SpawnSpec {
            parent_main_data: f.req_map("_parent_main_data")?,
            runtime_vars: f.req_map("_runtime_vars")?,
            enable_modules: {
                let m = f.req_map("enable_modules")?;
                let mut out = Vec::with_capacity(m.len());
                for (k, v) in m {
                    match v {
                        Value::String(s) if s.is_str() => {
                            out.push((k, s.into_str().unwrap_or_default()))
                        }
                        other => {
                            return Err(f.err(DecodeErrorKind::FieldType {
                                field: "enable_modules",
                                expected: "map of str to str",
                                found: kind(&other),
                            }));
                        }
                    }
                }
                out
            },
            reg_addrs: f.req_with("reg_addrs", addrs_from_value, "array of addresses")?,
            bind_addrs: f.opt("bind_addrs", addrs_from_value, "array of addresses")?,
        }),
        "Start" => Msg::Start(Start {
            cid: f.req_str("cid")?,
            ns: f.req_str("ns")?,
            func: f.req_str("func")?,
            kwargs: f.req_map("kwargs")?,
            uid: f.req_with("uid", uid_from_value, "[name, uuid]")?,
            pld_spec: f
                .opt("pld_spec", |v| v.as_str().map(str::to_owned), "str")?
                .unwrap_or_else(|| ANY_PLD_SPEC.to_owned()),
        }),
        "StartAck" => {
            let cid = f.req_str("cid")?;
            let s = f.req_str("functype")?;
            let functype = FuncType::parse(&s).ok_or_else(|| {
                f.err(DecodeErrorKind::BadValue {
                    field: "functype",
                    reason: format!("{s:?} is not one of \"asyncfunc\", \"asyncgen\", \"context\""),
                })
            })?;
            Msg::StartAck(StartAck { cid, functype })
        }
        "Started" => Msg::Started(f.payload()?),
        "Yield" => Msg::Yield(f.payload()?),
        "Return" => Msg::Return(f.payload()?),
        "Stop" => Msg::Stop(Stop {
            cid: f.req_str("cid")?,
        }),
        "CancelAck" => Msg::CancelAck(CancelAck {
            cid: f.req_str("cid")?,
            pld: f.req_with("pld", |v| v.as_bool(), "bool")?,
        }),
        "Error" => Msg::Error(ErrorMsg {
            src_uid: f.req_with("src_uid", uid_from_value, "[name, uuid]")?,
            src_type_str: f.req_str("src_type_str")?,
            boxed_type_str: f.req_str("boxed_type_str")?,
            relay_path: f.req_with(
                "relay_path",
                |v| match v {
                    Value::Array(a) => a.iter().map(uid_from_value).collect(),
                    _ => None,
                },
                "array of [name, uuid]",
            )?,
            message: f.opt("message", |v| v.as_str().map(str::to_owned), "str")?,
            tb_str: f
                .opt("tb_str", |v| v.as_str().map(str::to_owned), "str")?
                .unwrap_or_default(),
            canceller: f.opt("canceller", uid_from_value, "[name, uuid]")?,
            sender: f.opt("sender", uid_from_value, "[name, uuid]")?,
            cid: f.opt("cid", |v| v.as_str().map(str::to_owned), "str")?,
            bad_msg: match f.take("_bad_msg") {
                None | Some(Value::Nil) => None,
                Some(v) => {
                    let inner = msg_from_value(v).map_err(|e| {
                        f.err(DecodeErrorKind::BadValue {
                            field: "_bad_msg",
                            reason: e.to_string(),
                        })
                    })?;
                    match inner {
                        Msg::Started(_) | Msg::Yield(_) | Msg::Return(_) => Some(Box::new(inner)),
                        other => {
                            return Err(f.err(DecodeErrorKind::BadValue {
                                field: "_bad_msg",
                                reason: format!(
                                    "must be Started, Yield or Return, got {}",
                                    other.msg_type()
                                ),
                            }));
                        }
                    }
                }
            },
            bad_msg_as_dict: match f.take("_bad_msg_as_dict") {
                None | Some(Value::Nil) => None,
                Some(v) => Some(f.map_of(v, "_bad_msg_as_dict")?),
            },
        }),
        other => {
            return Err(f.err(DecodeErrorKind::UnknownMsgType(other.to_owned())));
        }
    };
    Ok(msg)
}

/// Reads an unwrapped address (`[host, port]` or `[dir, file]`).
pub fn addr_from_value(v: &Value) -> Option<WireAddr> {
    let Value::Array(a) = v else { return None };
    if a.len() != 2 {
        return None;
    }
    let first = a[0].as_str()?.to_owned();
    match &a[1] {
        Value::Integer(i) => Some(WireAddr::Tcp {
            host: first,
            port: u16::try_from(i.as_u64()?).ok()?,
        }),
        Value::String(s) => Some(WireAddr::Uds {
            dir: first,
            file: s.as_str()?.to_owned(),
        }),
        _ => None,
    }
}

fn addrs_from_value(v: &Value) -> Option<Vec<WireAddr>> {
    match v {
        Value::Array(a) => a.iter().map(addr_from_value).collect(),
        _ => None,
    }
}

/// Reads a `[name, uuid]` uid.
pub fn uid_from_value(v: &Value) -> Option<Uid> {
    let Value::Array(a) = v else { return None };
    match a.as_slice() {
        [n, u] => Some(Uid::new(n.as_str()?, u.as_str()?)),
        _ => None,
    }
}

/// A short name for a value's msgpack kind, for error messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "bool",
        Value::Integer(_) => "int",
        Value::F32(_) | Value::F64(_) => "float",
        Value::String(_) => "str",
        Value::Binary(_) => "bytes",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Ext(..) => "ext",
    }
}

/// The fields of one message map, taken out by name as they are decoded.
struct Fields {
    entries: Vec<(String, Value)>,
    msg_type: Option<String>,
    cid: Option<String>,
}

impl Fields {
    fn new(raw: Vec<(Value, Value)>) -> Result<Self, DecodeError> {
        let mut entries = Vec::with_capacity(raw.len());
        for (k, v) in raw {
            match k {
                Value::String(s) if s.is_str() => {
                    entries.push((s.into_str().unwrap_or_default(), v))
                }
                other => {
                    return Err(DecodeError::new(DecodeErrorKind::NonStringKey {
                        found: kind(&other),
                    }));
                }
            }
        }
        Ok(Fields {
            entries,
            msg_type: None,
            cid: None,
        })
    }

    fn err(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            kind,
            msg_type: self.msg_type.clone(),
            cid: self.cid.clone(),
        }
    }

    fn peek(&self, name: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| k == name)?;
        Some(self.entries.swap_remove(i).1)
    }

    fn req_with<T>(
        &mut self,
        field: &'static str,
        conv: impl FnOnce(&Value) -> Option<T>,
        expected: &'static str,
    ) -> Result<T, DecodeError> {
        let v = self
            .take(field)
            .ok_or_else(|| self.err(DecodeErrorKind::MissingField(field)))?;
        conv(&v).ok_or_else(|| {
            self.err(DecodeErrorKind::FieldType {
                field,
                expected,
                found: kind(&v),
            })
        })
    }

    fn opt<T>(
        &mut self,
        field: &'static str,
        conv: impl FnOnce(&Value) -> Option<T>,
        expected: &'static str,
    ) -> Result<Option<T>, DecodeError> {
        match self.take(field) {
            None | Some(Value::Nil) => Ok(None),
            Some(v) => conv(&v).map(Some).ok_or_else(|| {
                self.err(DecodeErrorKind::FieldType {
                    field,
                    expected,
                    found: kind(&v),
                })
            }),
        }
    }

    fn req_str(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let v = self
            .take(field)
            .ok_or_else(|| self.err(DecodeErrorKind::MissingField(field)))?;
        match v {
            Value::String(s) if s.is_str() => Ok(s.into_str().unwrap_or_default()),
            other => Err(self.err(DecodeErrorKind::FieldType {
                field,
                expected: "str",
                found: kind(&other),
            })),
        }
    }

    fn req_map(&mut self, field: &'static str) -> Result<StrMap, DecodeError> {
        let v = self
            .take(field)
            .ok_or_else(|| self.err(DecodeErrorKind::MissingField(field)))?;
        self.map_of(v, field)
    }

    fn map_of(&self, v: Value, field: &'static str) -> Result<StrMap, DecodeError> {
        let Value::Map(raw) = v else {
            return Err(self.err(DecodeErrorKind::FieldType {
                field,
                expected: "map",
                found: kind(&v),
            }));
        };
        let mut out = Vec::with_capacity(raw.len());
        for (k, v) in raw {
            match k {
                Value::String(s) if s.is_str() => out.push((s.into_str().unwrap_or_default(), v)),
                other => {
                    return Err(self.err(DecodeErrorKind::FieldType {
                        field,
                        expected: "map with str keys",
                        found: kind(&other),
                    }));
                }
            }
        }
        Ok(out)
    }

    fn payload(&mut self) -> Result<Payload, DecodeError> {
        let cid = self.req_str("cid")?;
        let pld = self
            .take("pld")
            .ok_or_else(|| self.err(DecodeErrorKind::MissingField("pld")))?;
        Ok(Payload { cid, pld })
    }
}
