//! [`maybe_open_context`]: local tasks share one remote context.
//!
//! The first task to ask opens the context; later ones with the same
//! portal, function and arguments get the same one (a cache hit). It is
//! reference-counted: when the last [`SharedContext`] is dropped the
//! context is dropped too, which cancels the remote task.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};

use serde::de::DeserializeOwned;

use crate::errors::Error;
use crate::msg::payload;
use crate::runtime::dialog::context::{Context, Opener, RemoteContextFn};
use crate::runtime::portal::Portal;

type Cache = tokio::sync::Mutex<HashMap<String, Weak<dyn Any + Send + Sync>>>;

fn cache() -> &'static Cache {
    static C: OnceLock<Cache> = OnceLock::new();
    C.get_or_init(Default::default)
}

struct Entry<S> {
    ctx: Context<Opener>,
    first: S,
}

/// A context shared by local tasks; clone freely.
pub struct SharedContext<S> {
    entry: Arc<Entry<S>>,
    /// False for the task that opened it, true for those that reused it.
    pub cache_hit: bool,
}

impl<S> Clone for SharedContext<S> {
    fn clone(&self) -> Self {
        SharedContext {
            entry: self.entry.clone(),
            cache_hit: true,
        }
    }
}

impl<S> std::fmt::Debug for SharedContext<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedContext")
            .field("ctx", &self.entry.ctx)
            .field("users", &Arc::strong_count(&self.entry))
            .field("cache_hit", &self.cache_hit)
            .finish()
    }
}

impl<S> SharedContext<S> {
    /// The shared context.
    pub fn context(&self) -> &Context<Opener> {
        &self.entry.ctx
    }

    /// The `started` value it opened with.
    pub fn first(&self) -> &S {
        &self.entry.first
    }

    /// How many local users share it.
    pub fn users(&self) -> usize {
        Arc::strong_count(&self.entry)
    }
}

/// Opens `call` on `portal`, or joins an identical context another local
/// task already opened.
pub async fn maybe_open_context<F, S>(portal: &Portal, call: F) -> Result<SharedContext<S>, Error>
where
    F: RemoteContextFn,
    S: DeserializeOwned + Send + Sync + 'static,
{
    let kwargs = payload::to_kwargs(&call)?;
    let key = format!("{}|{}|{}|{:?}", portal.uid().uuid, F::NS, F::NAME, kwargs);
    let mut map = cache().lock().await;
    map.retain(|_, w| w.strong_count() > 0);
    if let Some(live) = map.get(&key).and_then(Weak::upgrade)
        && let Ok(entry) = live.downcast::<Entry<S>>()
    {
        return Ok(SharedContext {
            entry,
            cache_hit: true,
        });
    }
    let (ctx, first) = portal.open_context::<F, S>(call).await?;
    let entry = Arc::new(Entry { ctx, first });
    let erased: Arc<dyn Any + Send + Sync> = entry.clone();
    map.insert(key, Arc::downgrade(&erased));
    Ok(SharedContext {
        entry,
        cache_hit: false,
    })
}
