//! The nesting limit (`RuntimeVars::max_nesting_depth`): a payload nested
//! up to the limit decodes on both decode paths; one level more is refused
//! with an error that names the limit and still carries the message's type
//! and `cid`, so the runtime can answer the sender with a `MsgTypeError`.

use tractor::msg::{self, DecodeErrorKind, MAX_NESTING, Msg, Payload, Value};

/// `depth` lists, one inside the other (the innermost empty), as Python
/// builds them.
fn nested(depth: usize) -> Value {
    let mut v = Value::Array(vec![]);
    for _ in 1..depth {
        v = Value::Array(vec![v]);
    }
    v
}

fn yield_of(pld: Value) -> Vec<u8> {
    msg::encode(&Msg::Yield(Payload {
        cid: "c-1".into(),
        pld,
    }))
}

#[test]
fn the_default_limit_takes_128_levels_and_refuses_129_naming_the_cid() {
    let ok = yield_of(nested(MAX_NESTING));
    assert!(matches!(msg::decode(&ok), Ok(Msg::Yield(_))));
    let e = msg::decode(&yield_of(nested(MAX_NESTING + 1))).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::TooDeep { limit: 128 });
    assert_eq!(e.cid.as_deref(), Some("c-1"));
    assert_eq!(e.msg_type.as_deref(), Some("Yield"));
    assert!(e.is_type_error(), "answered as a MsgTypeError");
    assert_eq!(
        e.to_string(),
        "invalid `Yield` message: a value is nested deeper than the 128-level limit (RuntimeVars::max_nesting_depth)"
    );
}

#[test]
fn a_leaf_inside_the_deepest_list_counts_like_an_empty_list() {
    // [[..[1]..]]: the same depth as [[..[]..]].
    let mut v = Value::Array(vec![Value::from(1)]);
    for _ in 1..10 {
        v = Value::Array(vec![v]);
    }
    assert!(msg::decode_with_depth(&yield_of(v.clone()), 10).is_ok());
    assert!(msg::decode_with_depth(&yield_of(v), 9).is_err());
}

#[test]
fn the_limit_is_a_setting_and_maps_count_as_levels() {
    let deep = yield_of(nested(200));
    assert!(msg::decode_with_depth(&deep, 200).is_ok());
    let e = msg::decode_with_depth(&deep, 199).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::TooDeep { limit: 199 });
    let in_map = Value::Map(vec![(Value::from("k"), nested(4))]);
    assert!(msg::decode_with_depth(&yield_of(in_map.clone()), 5).is_ok());
    assert!(msg::decode_with_depth(&yield_of(in_map), 4).is_err());
}

#[test]
fn a_setting_past_the_ceiling_is_capped() {
    let deep = yield_of(nested(msg::MAX_NESTING_CEILING + 1));
    let e = msg::decode_with_depth(&deep, usize::MAX).unwrap_err();
    assert_eq!(
        e.kind,
        DecodeErrorKind::TooDeep {
            limit: msg::MAX_NESTING_CEILING
        }
    );
}

#[test]
fn the_slow_decode_path_has_the_same_limit() {
    // SpawnSpec always takes the slow path; its `_runtime_vars` map is one
    // level, so 127 lists inside it make 128.
    let spec = |depth: usize| {
        msg::encode(&Msg::SpawnSpec(msg::SpawnSpec {
            parent_main_data: vec![],
            runtime_vars: vec![("k".into(), nested(depth))],
            enable_modules: vec![],
            reg_addrs: vec![],
            bind_addrs: None,
        }))
    };
    let ok = msg::decode(&spec(MAX_NESTING - 1));
    assert!(matches!(ok, Ok(Msg::SpawnSpec(_))), "{ok:?}");
    assert!(matches!(msg::decode(&spec(3)), Ok(Msg::SpawnSpec(_))));
    let e = msg::decode(&spec(MAX_NESTING)).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::TooDeep { limit: 128 });
    assert_eq!(e.msg_type.as_deref(), Some("SpawnSpec"));
}
