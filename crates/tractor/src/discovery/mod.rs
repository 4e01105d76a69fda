//! Discovery: the registry and how actors find each other.
//!
//! The registry sits behind one trait ([`backend::RegistryBackend`]): a
//! classic registrar ([`classic`], the actor whose table is
//! [`registry`]) or etcd ([`etcd`]), chosen by the registry address
//! (`/ip4/…` or `etcd://…`).

pub mod api;
pub mod backend;
pub mod classic;
pub mod etcd;
pub mod registry;
pub(crate) mod via_parent;

pub use api::{
    find_actor, get_registry, get_root, open_portal, query_actor, query_registrar, wait_for_actor,
};
