//! Dialogs: the conversations two actors hold over one connection, each
//! under its own call id (spec §5): a one-shot `call`, a [`context`]
//! (two tasks, a first value, a result), the [`stream`] inside a context,
//! the one-way [`stream_from`] of a remote async generator, and the
//! [`shm`] channels a context can open.
//!
//! They sit on the actor and its peers (routing by cid) and under the
//! portal, which opens them.

pub(crate) mod call;
pub mod context;
pub mod scoped;
pub mod shm;
pub mod stream;
pub mod stream_from;
