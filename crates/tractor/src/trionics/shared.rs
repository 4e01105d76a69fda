//! [`maybe_open_context`]: local tasks share one remote context.
//!
//! The first task to ask opens the context; later ones with the same
//! portal, function and arguments get the same one (a cache hit). It is
//! reference-counted: when the last [`SharedContext`] is dropped the
//! context is dropped too, which cancels the remote task.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};

use crate::errors::Error;
use crate::msg::payload;
use crate::runtime::dialog::context::{Context, Opener, RemoteContextFn};
use crate::runtime::portal::Portal;

type Cache = tokio::sync::Mutex<HashMap<String, Weak<dyn Any + Send + Sync>>>;

fn cache() -> &'static Cache {
    static C: OnceLock<Cache> = OnceLock::new();
    C.get_or_init(Default::default)
}

struct Entry<F: RemoteContextFn> {
    ctx: Context<Opener<F>>,
    first: F::Started,
}

/// A context with the function `F`, shared by local tasks; clone freely.
pub struct SharedContext<F: RemoteContextFn> {
    entry: Arc<Entry<F>>,
    /// False for the task that opened it, true for those that reused it.
    pub cache_hit: bool,
}

impl<F: RemoteContextFn> Clone for SharedContext<F> {
    fn clone(&self) -> Self {
        SharedContext {
            entry: self.entry.clone(),
            cache_hit: true,
        }
    }
}

impl<F: RemoteContextFn> std::fmt::Debug for SharedContext<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedContext")
            .field("ctx", &self.entry.ctx)
            .field("users", &Arc::strong_count(&self.entry))
            .field("cache_hit", &self.cache_hit)
            .finish()
    }
}

impl<F: RemoteContextFn> SharedContext<F> {
    /// The shared context.
    pub fn context(&self) -> &Context<Opener<F>> {
        &self.entry.ctx
    }

    /// The `started` value it opened with.
    pub fn first(&self) -> &F::Started {
        &self.entry.first
    }

    /// How many local users share it.
    pub fn users(&self) -> usize {
        Arc::strong_count(&self.entry)
    }
}

/// Opens `call` on `portal`, or joins an identical context another local
/// task already opened.
pub async fn maybe_open_context<F>(portal: &Portal, call: F) -> Result<SharedContext<F>, Error>
where
    F: RemoteContextFn + 'static,
    F::Started: Sync,
{
    let kwargs = payload::to_kwargs(&call)?;
    let key = format!("{}|{}|{}|{:?}", portal.uid().uuid, F::NS, F::NAME, kwargs);
    let mut map = cache().lock().await;
    map.retain(|_, w| w.strong_count() > 0);
    if let Some(live) = map.get(&key).and_then(Weak::upgrade)
        && let Ok(entry) = live.downcast::<Entry<F>>()
    {
        return Ok(SharedContext {
            entry,
            cache_hit: true,
        });
    }
    let (ctx, first) = portal.open_context(call).await?;
    let entry = Arc::new(Entry { ctx, first });
    let erased: Arc<dyn Any + Send + Sync> = entry.clone();
    map.insert(key, Arc::downgrade(&erased));
    Ok(SharedContext {
        entry,
        cache_hit: false,
    })
}
