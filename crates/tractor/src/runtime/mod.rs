//! The actor runtime: actors, portals, RPC, cancel scopes, supervision.

pub mod actor;
pub mod cancel;
pub mod debug;
pub mod dialog;
pub mod hooks;
pub(crate) mod inbound;
pub(crate) mod lower;
pub(crate) mod peer;
pub mod portal;
pub(crate) mod queue;
pub mod registry_addr;
pub mod rpc;
pub mod state;
