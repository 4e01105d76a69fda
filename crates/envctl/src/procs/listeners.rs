//! Listener truth: who holds the socket listening on a port.

use super::{Ident, group_members, table};

/// Pids holding a socket that listens on `port`.
pub fn listener_pids(port: u16) -> Vec<u32> {
    let inodes = table::listen_inodes(port);
    if inodes.is_empty() {
        return Vec::new();
    }
    table::all()
        .into_iter()
        .filter(|p| {
            table::socket_inodes(p.pid)
                .iter()
                .any(|i| inodes.contains(i))
        })
        .map(|p| p.pid)
        .collect()
}

/// True if something listens on `port`.
pub fn port_has_listener(port: u16) -> bool {
    !table::listen_inodes(port).is_empty()
}

/// True if the process group of `id` (the service or a child of it) owns
/// the listener on `port`. Only the group's members' sockets are read,
/// not every process's: this runs once per service in every `health`.
pub fn owns_listener(id: &Ident, port: u16) -> bool {
    let inodes = table::listen_inodes(port);
    if inodes.is_empty() {
        return false;
    }
    group_members(id.pid)
        .into_iter()
        .any(|p| table::socket_inodes(p).iter().any(|i| inodes.contains(i)))
}
