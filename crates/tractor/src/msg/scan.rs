//! One validating pass over a msgpack value.
//!
//! Decoding used to check each envelope field twice: once walking it for
//! well-formedness and the nesting limit, then again reading it, UTF-8
//! included (`from_utf8` and the walk were a quarter of the codec's
//! profile, `docs/performance.md`). [`walk`] does both in one pass: it
//! checks structure and nesting, and while it is at it checks a top-level
//! string's UTF-8 once and whether a top-level map's keys are all strings,
//! handing back what it found so no reader looks at those bytes again.
//!
//! It allocates nothing for values nested up to [`INLINE_LEVELS`] deep
//! (every real envelope field); deeper ones spill the open levels to the
//! heap. Its errors are exactly the old walker's (the slow path's), in the
//! same order, so bad input reads the same.

use super::error::{DecodeError, DecodeErrorKind};

/// Open nesting levels kept on the stack before spilling to the heap.
const INLINE_LEVELS: usize = 16;

/// What one pass found out about a value besides its extent.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Scanned<'a> {
    /// The value itself, when it is a string of valid UTF-8 (and text
    /// was asked for).
    pub text: Option<&'a str>,
    /// True when the value is a map whose keys are all strings of valid
    /// UTF-8 (only when text was asked for).
    pub str_keys: bool,
}

/// The items still to read at each open level of lists and maps.
struct Levels {
    inline: [u64; INLINE_LEVELS],
    spill: Vec<u64>,
    len: usize,
}

impl Levels {
    fn new() -> Self {
        Levels {
            inline: [0; INLINE_LEVELS],
            spill: Vec::new(),
            len: 0,
        }
    }

    fn push(&mut self, items: u64) {
        if self.len < INLINE_LEVELS {
            self.inline[self.len] = items;
        } else {
            self.spill.push(items);
        }
        self.len += 1;
    }

    fn pop(&mut self) {
        if self.len > INLINE_LEVELS {
            self.spill.pop();
        }
        self.len -= 1;
    }

    fn top(&mut self) -> Option<&mut u64> {
        match self.len {
            0 => None,
            n if n <= INLINE_LEVELS => Some(&mut self.inline[n - 1]),
            _ => self.spill.last_mut(),
        }
    }
}

/// What the walk found wrong, as a byte: the inner loop passes this
/// around, not a [`DecodeError`] (several words, which made every item's
/// `Result` a memory round trip in the profile); [`walk`] turns it into
/// the error at the end.
#[derive(Clone, Copy, Debug)]
enum Bad {
    Truncated,
    NeverUsed,
    TooDeep,
}

impl Bad {
    fn error(self, max_depth: usize) -> DecodeError {
        let msgpack = |why: &str| DecodeError::new(DecodeErrorKind::Msgpack(why.to_owned()));
        match self {
            Bad::Truncated => msgpack("truncated object"),
            Bad::NeverUsed => msgpack("byte 0xc1 is never used in msgpack"),
            Bad::TooDeep => DecodeError::new(DecodeErrorKind::TooDeep { limit: max_depth }),
        }
    }
}

fn uint(b: &mut &[u8], n: usize) -> Result<u64, Bad> {
    let (head, rest) = b.split_at_checked(n).ok_or(Bad::Truncated)?;
    *b = rest;
    Ok(head.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x)))
}

/// For marker `m` (its length bytes read from `b`): the bytes of body to
/// skip and the items it opens.
#[inline]
fn head(m: u8, b: &mut &[u8]) -> Result<(u64, u64), Bad> {
    Ok(match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
        0x80..=0x8f => (0, 2 * u64::from(m & 0x0f)),
        0x90..=0x9f => (0, u64::from(m & 0x0f)),
        0xa0..=0xbf => (u64::from(m & 0x1f), 0),
        0xc1 => return Err(Bad::NeverUsed),
        0xc4 | 0xd9 => (uint(b, 1)?, 0),
        0xc5 | 0xda => (uint(b, 2)?, 0),
        0xc6 | 0xdb => (uint(b, 4)?, 0),
        0xc7 => (uint(b, 1)? + 1, 0),
        0xc8 => (uint(b, 2)? + 1, 0),
        0xc9 => (uint(b, 4)? + 1, 0),
        0xca => (4, 0),
        0xcb => (8, 0),
        0xcc | 0xd0 => (1, 0),
        0xcd | 0xd1 => (2, 0),
        0xce | 0xd2 => (4, 0),
        0xcf | 0xd3 => (8, 0),
        0xd4 => (2, 0),
        0xd5 => (3, 0),
        0xd6 => (5, 0),
        0xd7 => (9, 0),
        0xd8 => (17, 0),
        0xdc => (0, uint(b, 2)?),
        0xdd => (0, uint(b, 4)?),
        0xde => (0, 2 * uint(b, 2)?),
        0xdf => (0, 2 * uint(b, 4)?),
    })
}

/// `b` as text, when it is valid UTF-8.
///
/// Envelope strings (ids, names, keys) are short and almost always ASCII;
/// `from_utf8`'s general loop costs more per byte on such strings than a
/// plain ASCII check, which took a fifth of the codec's profile
/// (`docs/performance.md`). Anything not pure ASCII gets the full check.
#[inline]
pub(super) fn utf8(b: &[u8]) -> Option<&str> {
    if b.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(b) })
    } else {
        std::str::from_utf8(b).ok()
    }
}

fn is_str(m: u8) -> bool {
    matches!(m, 0xa0..=0xbf | 0xd9..=0xdb)
}

/// An item's body as text: when its marker `m` is a string's and the
/// bytes are valid UTF-8.
#[inline]
fn as_text(m: u8, body: &[u8]) -> Option<&str> {
    if is_str(m) { utf8(body) } else { None }
}

fn is_container(m: u8) -> bool {
    matches!(m, 0x80..=0x9f | 0xdc..=0xdf)
}

/// One item: its marker and body, checked against what remains. Returns
/// the marker, the body and the items it opens.
#[inline]
fn item<'a>(b: &mut &'a [u8]) -> Result<(u8, &'a [u8], u64), Bad> {
    let (&m, rest) = b.split_first().ok_or(Bad::Truncated)?;
    *b = rest;
    let (skip, items) = head(m, b)?;
    if skip > b.len() as u64 {
        return Err(Bad::Truncated);
    }
    let (body, rest) = b.split_at(skip as usize);
    *b = rest;
    Ok((m, body, items))
}

/// A container just read (marker `m`, opening `items`) that sits at
/// nesting level `depth`: within the limit, and not claiming more items
/// than there are bytes left (every item takes at least one).
#[inline]
fn open(depth: usize, items: u64, b: &[u8], max_depth: usize) -> Result<(), Bad> {
    if depth > max_depth {
        return Err(Bad::TooDeep);
    }
    if items > b.len() as u64 {
        return Err(Bad::Truncated);
    }
    Ok(())
}

/// Walks exactly one msgpack value at the front of `b` (advancing past
/// it), without allocating for ordinary depths: every length is checked
/// against the bytes that remain (so a hostile length costs nothing), the
/// never-used marker `0xc1` is refused, and lists and maps may nest at
/// most `max_depth` levels. With `text`, also reports (in the same pass)
/// a string value's text and whether a map's keys are all strings, UTF-8
/// checked once.
pub(super) fn walk<'a>(
    b: &mut &'a [u8],
    max_depth: usize,
    text: bool,
) -> Result<Scanned<'a>, DecodeError> {
    walk_value(b, max_depth, text).map_err(|e| e.error(max_depth))
}

fn walk_value<'a>(b: &mut &'a [u8], max_depth: usize, text: bool) -> Result<Scanned<'a>, Bad> {
    let (m, body, items) = item(b)?;
    if !is_container(m) {
        return Ok(Scanned {
            text: if text { as_text(m, body) } else { None },
            str_keys: false,
        });
    }
    // A list or map (empty ones too) at the top opens level 1.
    open(1, items, b, max_depth)?;
    let mut str_keys = text && matches!(m, 0x80..=0x8f | 0xde | 0xdf);
    // The top level's items, for as long as none is itself a container
    // (every envelope field but the deepest payloads): no level stack.
    let mut left = items;
    while left > 0 {
        // A key of the map when an even count is left.
        let key = str_keys && left % 2 == 0;
        left -= 1;
        let (m, body, items) = item(b)?;
        if key && as_text(m, body).is_none() {
            str_keys = false;
        }
        if is_container(m) {
            open(2, items, b, max_depth)?;
            let mut levels = Levels::new();
            levels.push(left);
            if items > 0 {
                levels.push(items);
            }
            walk_nested(b, &mut levels, max_depth, &mut str_keys)?;
            break;
        }
    }
    Ok(Scanned {
        text: None,
        str_keys,
    })
}

/// The rest of a value once a container sits inside the top one: the
/// open levels on a stack (the top one first), until all are read.
fn walk_nested(
    b: &mut &[u8],
    levels: &mut Levels,
    max_depth: usize,
    str_keys: &mut bool,
) -> Result<(), Bad> {
    loop {
        let depth = levels.len;
        let Some(top) = levels.top() else { break };
        if *top == 0 {
            levels.pop();
            continue;
        }
        // A key of the top map when its level has an even count left.
        let key = *str_keys && depth == 1 && *top % 2 == 0;
        *top -= 1;
        let (m, body, items) = item(b)?;
        if key && as_text(m, body).is_none() {
            *str_keys = false;
        }
        if is_container(m) {
            // Nested one deeper than the level it sits in.
            open(depth + 1, items, b, max_depth)?;
            if items > 0 {
                levels.push(items);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_shortcut_accepts_and_refuses_what_from_utf8_does() {
        let cases: [&[u8]; 7] = [
            b"",
            b"b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
            "caf\u{e9}".as_bytes(),
            b"\xff",
            b"\xc0\x80",       // an overlong encoding of NUL
            b"ok\xed\xa0\x80", // a surrogate
            b"\xe2\x82",       // a truncated sequence
        ];
        for b in cases {
            assert_eq!(utf8(b), std::str::from_utf8(b).ok(), "{b:?}");
        }
    }

    fn nested(levels: usize) -> Vec<u8> {
        let mut v = vec![0x91; levels];
        v.push(0x01);
        v
    }

    #[test]
    fn depth_is_counted_in_lists_and_maps_past_the_inline_levels() {
        for depth in [1, 2, INLINE_LEVELS, INLINE_LEVELS + 1, 3 * INLINE_LEVELS] {
            let v = nested(depth);
            assert!(
                walk(&mut &v[..], depth, false).is_ok(),
                "{depth} within {depth}"
            );
            let e = walk(&mut &v[..], depth - 1, false).unwrap_err();
            assert_eq!(
                e.kind,
                DecodeErrorKind::TooDeep { limit: depth - 1 },
                "{depth}"
            );
        }
    }

    #[test]
    fn text_and_string_keys_are_reported_in_the_same_pass() {
        let s = [0xa3, b'h', 0xc3, 0xa9];
        let mut b = &s[..];
        let got = walk(&mut b, 4, true).unwrap();
        assert_eq!(got.text, Some("h\u{e9}"));
        assert!(b.is_empty());
        // Invalid UTF-8 is not an error of the walk, only not text.
        let bad_utf8 = [0xa1, 0xff];
        assert_eq!(walk(&mut &bad_utf8[..], 4, true).unwrap().text, None);
        // {"a": [1, {2: 3}], "b": nil}: keys of the top map only.
        let m = [
            0x82, 0xa1, b'a', 0x92, 0x01, 0x81, 0x02, 0x03, 0xa1, b'b', 0xc0,
        ];
        assert!(walk(&mut &m[..], 4, true).unwrap().str_keys);
        let int_key = [0x81, 0x01, 0x02];
        assert!(!walk(&mut &int_key[..], 4, true).unwrap().str_keys);
        let bad_key = [0x81, 0xa1, 0xff, 0x02];
        assert!(!walk(&mut &bad_key[..], 4, true).unwrap().str_keys);
    }

    #[test]
    fn malformed_input_is_refused_with_the_walkers_words() {
        for (bytes, why) in [
            (&[][..], "truncated object"),
            (&[0xc1][..], "byte 0xc1 is never used in msgpack"),
            (&[0x92, 0x01][..], "truncated object"),
            (&[0xa3, b'a'][..], "truncated object"),
            (
                &[0xdd, 0xff, 0xff, 0xff, 0xff, 0x01][..],
                "truncated object",
            ),
            (&[0x91, 0xc1][..], "byte 0xc1 is never used in msgpack"),
        ] {
            let e = walk(&mut &bytes[..], 8, true).unwrap_err();
            assert_eq!(e.kind, DecodeErrorKind::Msgpack(why.into()), "{bytes:?}");
        }
    }

    /// A plain recursive walker, written for clarity: the reference the
    /// fast one (flat top level, then a level stack) must agree with.
    fn reference(b: &mut &[u8], depth: usize, max_depth: usize) -> Result<(), &'static str> {
        let (m, _, items) = item(b).map_err(|e| match e {
            Bad::NeverUsed => "never",
            _ => "truncated",
        })?;
        if !is_container(m) {
            return Ok(());
        }
        if depth > max_depth {
            return Err("deep");
        }
        if items > b.len() as u64 {
            return Err("truncated");
        }
        for _ in 0..items {
            reference(b, depth + 1, max_depth)?;
        }
        Ok(())
    }

    fn value() -> impl proptest::strategy::Strategy<Value = rmpv::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(rmpv::Value::Nil),
            any::<i64>().prop_map(rmpv::Value::from),
            ".{0,40}".prop_map(rmpv::Value::from),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(rmpv::Value::from),
        ];
        leaf.prop_recursive(6, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(rmpv::Value::Array),
                proptest::collection::vec((inner.clone(), inner), 0..6).prop_map(rmpv::Value::Map),
            ]
        })
    }

    proptest::proptest! {
        /// Whole, cut short or with a byte changed, at every nesting
        /// limit: the walk accepts what the reference accepts, ends where
        /// it ends, and refuses with the same reason.
        #[test]
        fn the_walk_agrees_with_a_plain_recursive_one(
            v in value(),
            max_depth in 1usize..8,
            cut in proptest::option::of(0usize..4096),
            flip in proptest::option::of((0usize..4096, proptest::prelude::any::<u8>())),
        ) {
            let mut bytes = Vec::new();
            rmpv::encode::write_value(&mut bytes, &v).unwrap();
            if let Some((at, byte)) = flip {
                let i = at % bytes.len();
                bytes[i] = byte;
            }
            if let Some(c) = cut {
                bytes.truncate(c % (bytes.len() + 1));
            }
            let (mut ours, mut theirs) = (&bytes[..], &bytes[..]);
            let got = walk(&mut ours, max_depth, true);
            let want = reference(&mut theirs, 1, max_depth);
            match (&got, want) {
                (Ok(_), Ok(())) => proptest::prop_assert_eq!(ours.len(), theirs.len()),
                (Err(e), Err(why)) => {
                    let kind = match &e.kind {
                        DecodeErrorKind::TooDeep { .. } => "deep",
                        DecodeErrorKind::Msgpack(m) if m.contains("0xc1") => "never",
                        _ => "truncated",
                    };
                    proptest::prop_assert_eq!(kind, why);
                }
                _ => proptest::prop_assert!(false, "walk {:?}, reference {:?}", got.map(|_| ()), want),
            }
            // A map's keys, for the whole value.
            if let (Ok(s), rmpv::Value::Map(kv)) = (got, &v)
                && flip.is_none()
                && cut.is_none()
            {
                proptest::prop_assert_eq!(s.str_keys, kv.iter().all(|(k, _)| k.is_str()));
            }
        }
    }
}
