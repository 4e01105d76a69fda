//! Helpers for sharing remote dialogs among local tasks (the counterpart of
//! Python tractor's `trionics`): a broadcast receiver over one stream,
//! reference-counted shared contexts, and running one call on many actors.

mod broadcast;
mod gather;
mod shared;

pub use broadcast::BroadcastReceiver;
pub use gather::{gather_contexts, run_on_all};
pub use shared::{SharedContext, maybe_open_context};
