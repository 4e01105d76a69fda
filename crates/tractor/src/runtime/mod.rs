//! The actor runtime: state, actors, portals, RPC, supervision.

pub mod state;
