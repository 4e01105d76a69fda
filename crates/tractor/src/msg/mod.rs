//! The wire messages and their msgpack codec.
//!
//! This layer knows nothing of sockets or actors: bytes in, [`Msg`] out, and
//! back. It is the part that must be byte-for-byte compatible with Python
//! tractor (see `docs/architecture.md` and the golden vectors test).
//!
//! ```
//! use tractor::msg::{self, Msg, Stop};
//!
//! let m = Msg::Stop(Stop { cid: "7e4c2f1a".into() });
//! let bytes = msg::encode(&m);
//! assert_eq!(msg::decode(&bytes).unwrap(), m);
//! ```

mod codec;
mod error;
mod fast;
pub mod payload;
mod raw;
mod raw_owned;
mod scan;
mod typed;
mod types;

pub use codec::{
    MAX_NESTING, MAX_NESTING_CEILING, addr_from_value, addr_to_value, decode, decode_with_depth,
    encode, encode_into, header_fields, kind, msg_from_value, uid_from_value, uid_to_value,
};
pub use error::{DecodeError, DecodeErrorKind};
pub use raw::{MsgRef, PayloadRef, RawValue, StartRef, decode_ref, decode_ref_with_depth};
pub use raw_owned::RawPayload;
pub use typed::{
    PayloadKind, StartHead, encode_payload, encode_raw_payload, encode_start, encode_start_ack,
};
pub use types::*;
