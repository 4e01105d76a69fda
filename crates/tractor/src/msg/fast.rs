//! The fast path of decoding: a valid message goes straight from bytes to
//! [`Msg`], reading the envelope's fields in place instead of building a
//! dynamic value tree for the whole frame first. Only payload values
//! (`pld`, keyword-argument values) become [`Value`]s.
//!
//! Anything unexpected — a missing field, a wrong kind, a rare message
//! type — makes this return `None`, and the caller takes the slow path,
//! which produces the precise, field-naming error. So this file decides
//! speed, never correctness: the golden vectors and the property tests
//! hold both paths to the same answers.

use rmp::decode as d;
use rmpv::Value;

use super::scan::{Scanned, walk};
use super::types::*;

/// At most this many keys are looked at (every message has ≤ 12).
pub(super) const MAX_FIELDS: usize = 16;

/// The top-level fields of one message, each value left as its bytes.
pub(super) struct Fields<'a> {
    keys: [&'a str; MAX_FIELDS],
    vals: [&'a [u8]; MAX_FIELDS],
    /// What the one validating pass found in each value.
    scans: [Scanned<'a>; MAX_FIELDS],
    n: usize,
}

impl<'a> Fields<'a> {
    /// Splits `bytes` (exactly one map with string keys) into its fields,
    /// checking every value is well-formed within `max_depth` in one pass
    /// that also checks string values' UTF-8 (once: readers take the text
    /// it found); `None` on anything else.
    pub(super) fn read(bytes: &'a [u8], max_depth: usize) -> Option<Fields<'a>> {
        let mut rd = bytes;
        let n = d::read_map_len(&mut rd).ok()? as usize;
        if n > MAX_FIELDS {
            return None;
        }
        let mut f = Fields {
            keys: [""; MAX_FIELDS],
            vals: [&[]; MAX_FIELDS],
            scans: [Scanned::default(); MAX_FIELDS],
            n,
        };
        for i in 0..n {
            f.keys[i] = read_str(&mut rd)?;
            let start = rd;
            f.scans[i] = walk(&mut rd, max_depth, true).ok()?;
            f.vals[i] = &start[..start.len() - rd.len()];
        }
        rd.is_empty().then_some(f)
    }

    fn index(&self, name: &str) -> Option<usize> {
        (0..self.n).find(|i| self.keys[*i] == name)
    }

    /// The bytes of field `name`'s value.
    pub(super) fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.index(name).map(|i| self.vals[i])
    }

    fn str(&self, name: &str) -> Option<String> {
        self.str_ref(name).map(str::to_owned)
    }

    /// Field `name`, a string, borrowed.
    pub(super) fn str_ref(&self, name: &str) -> Option<&'a str> {
        self.index(name).and_then(|i| self.scans[i].text)
    }

    fn opt_str(&self, name: &str) -> Option<Option<String>> {
        match self.get(name) {
            None | Some([0xc0]) => Some(None),
            Some(_) => self.str_ref(name).map(|s| Some(s.to_owned())),
        }
    }

    fn opt_bool(&self, name: &str) -> Option<Option<bool>> {
        match self.get(name) {
            None | Some([0xc0]) => Some(None),
            Some([0xc2]) => Some(Some(false)),
            Some([0xc3]) => Some(Some(true)),
            _ => None,
        }
    }

    fn opt_int(&self, name: &str) -> Option<Option<i64>> {
        match self.get(name) {
            None | Some([0xc0]) => Some(None),
            Some(mut b) => d::read_int(&mut b).ok().map(Some),
        }
    }

    fn uid(&self, name: &str) -> Option<Uid> {
        let mut b = self.get(name)?;
        read_uid(&mut b)
    }

    fn opt_uid(&self, name: &str) -> Option<Option<Uid>> {
        match self.get(name) {
            None | Some([0xc0]) => Some(None),
            Some(mut b) => read_uid(&mut b).map(Some),
        }
    }

    fn value(&self, name: &str) -> Option<Value> {
        let mut b = self.get(name)?;
        rmpv::decode::read_value(&mut b).ok()
    }

    fn str_map(&self, name: &str) -> Option<StrMap> {
        let mut b = self.get(name)?;
        let n = d::read_map_len(&mut b).ok()?;
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let k = read_str(&mut b)?.to_owned();
            let v = rmpv::decode::read_value(&mut b).ok()?;
            out.push((k, v));
        }
        Some(out)
    }
}

/// A string of valid UTF-8, borrowed; `None` (with `b` left anywhere)
/// for anything else. The marker is read here rather than through
/// `rmp::decode::read_str_len`, whose reader and error plumbing was a
/// visible part of decoding an envelope of short strings, and rather than
/// through the walker's `scan::item`, whose match over every marker made
/// the typed codec 18 % slower when this called it (5.7 against 7.0 M
/// ops/s, alternated).
#[inline]
pub(super) fn read_str<'a>(b: &mut &'a [u8]) -> Option<&'a str> {
    let (&m, rest) = b.split_first()?;
    let (len, rest) = match m {
        0xa0..=0xbf => ((m & 0x1f) as usize, rest),
        0xd9 => {
            let (&n, r) = rest.split_first()?;
            (n as usize, r)
        }
        0xda => {
            let (n, r) = rest.split_first_chunk::<2>()?;
            (u16::from_be_bytes(*n) as usize, r)
        }
        0xdb => {
            let (n, r) = rest.split_first_chunk::<4>()?;
            (u32::from_be_bytes(*n) as usize, r)
        }
        _ => return None,
    };
    let (s, rest) = rest.split_at_checked(len)?;
    *b = rest;
    super::scan::utf8(s)
}

/// `[name, uuid]`, borrowed.
pub(super) fn read_uid_ref<'a>(b: &mut &'a [u8]) -> Option<(&'a str, &'a str)> {
    if d::read_array_len(b).ok()? != 2 {
        return None;
    }
    Some((read_str(b)?, read_str(b)?))
}

fn read_uid(b: &mut &[u8]) -> Option<Uid> {
    if d::read_array_len(b).ok()? != 2 {
        return None;
    }
    let name = read_str(b)?.to_owned();
    let uuid = read_str(b)?.to_owned();
    Some(Uid { name, uuid })
}

fn payload(f: &Fields<'_>) -> Option<Payload> {
    Some(Payload {
        cid: f.str("cid")?,
        pld: f.value("pld")?,
    })
}

/// Decodes one message that fills `bytes` exactly, or `None` to ask for
/// the slow path.
pub(super) fn decode(bytes: &[u8], max_depth: usize) -> Option<Msg> {
    let f = Fields::read(bytes, max_depth)?;
    Some(match f.str_ref("msg_type")? {
        "Aid" => Msg::Aid(Aid {
            name: f.str("name")?,
            uuid: f.str("uuid")?,
            pid: f.opt_int("pid")?,
            is_registrar: f.opt_bool("is_registrar")?,
            is_probe: f.opt_bool("is_probe")?.unwrap_or(false),
        }),
        "Start" => Msg::Start(Start {
            cid: f.str("cid")?,
            ns: f.str("ns")?,
            func: f.str("func")?,
            kwargs: f.str_map("kwargs")?,
            uid: f.uid("uid")?,
            pld_spec: f
                .opt_str("pld_spec")?
                .unwrap_or_else(|| ANY_PLD_SPEC.to_owned()),
        }),
        "StartAck" => Msg::StartAck(StartAck {
            cid: f.str("cid")?,
            functype: FuncType::parse(&f.str("functype")?)?,
        }),
        "Started" => Msg::Started(payload(&f)?),
        "Yield" => Msg::Yield(payload(&f)?),
        "Return" => Msg::Return(payload(&f)?),
        "Stop" => Msg::Stop(Stop { cid: f.str("cid")? }),
        "CancelAck" => Msg::CancelAck(CancelAck {
            cid: f.str("cid")?,
            pld: f.opt_bool("pld")??,
        }),
        "Error" => {
            // A nested offending message is rare: the slow path has it.
            if !matches!(f.get("_bad_msg"), None | Some([0xc0])) {
                return None;
            }
            let relay_path = {
                let mut b = f.get("relay_path")?;
                let n = d::read_array_len(&mut b).ok()?;
                (0..n)
                    .map(|_| read_uid(&mut b))
                    .collect::<Option<Vec<_>>>()?
            };
            Msg::Error(ErrorMsg {
                src_uid: f.uid("src_uid")?,
                src_type_str: f.str("src_type_str")?,
                boxed_type_str: f.str("boxed_type_str")?,
                relay_path,
                message: f.opt_str("message")?,
                tb_str: f.opt_str("tb_str")?.unwrap_or_default(),
                canceller: f.opt_uid("canceller")?,
                sender: f.opt_uid("sender")?,
                cid: f.opt_str("cid")?,
                bad_msg: None,
                bad_msg_as_dict: match f.get("_bad_msg_as_dict") {
                    None | Some([0xc0]) => None,
                    Some(_) => Some(f.str_map("_bad_msg_as_dict")?),
                },
            })
        }
        // SpawnSpec and anything unknown: the slow path.
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::read_str;

    #[test]
    fn strings_of_every_length_form_are_read_and_anything_else_refused() {
        for n in [0, 1, 31, 32, 255, 256, 65535, 65536, 70000] {
            let s = "é".repeat(n / 2) + &"a".repeat(n % 2);
            let mut bytes = Vec::new();
            rmp::encode::write_str(&mut bytes, &s).unwrap();
            bytes.push(0x07);
            let mut b = &bytes[..];
            assert_eq!(read_str(&mut b), Some(&s[..]), "length {n}");
            assert_eq!(b, [0x07], "the rest is left after the string");
            // Cut short anywhere: refused.
            for cut in [1, bytes.len() / 2, bytes.len() - 2] {
                if cut < bytes.len() - 1 {
                    assert_eq!(
                        read_str(&mut &bytes[..cut]),
                        None,
                        "length {n} cut at {cut}"
                    );
                }
            }
        }
        // Not a string, or not UTF-8.
        for bad in [&[0x07][..], &[0xc4, 0x01, b'a'], &[0xa2, 0xff, 0xfe], &[]] {
            assert_eq!(read_str(&mut &bad[..]), None, "{bad:?}");
        }
    }
}
