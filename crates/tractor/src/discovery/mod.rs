//! Discovery: the registrar and how actors find each other.

pub mod api;
pub mod registry;

pub use api::{
    find_actor, get_registry, get_root, open_portal, query_actor, query_registrar, wait_for_actor,
};
