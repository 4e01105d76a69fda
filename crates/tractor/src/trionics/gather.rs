//! Running one call on many actors at once.

use crate::errors::Error;
use crate::msg::payload;
use crate::runtime::dialog::context::{Context, ContextOptions, Opener, RemoteContextFn};
use crate::runtime::portal::Portal;
use crate::runtime::rpc::RemoteFn;

/// Runs `call` on every portal concurrently; results in portal order.
pub async fn run_on_all<F: RemoteFn>(portals: &[Portal], call: F) -> Vec<Result<F::Output, Error>> {
    let kwargs = match payload::to_kwargs(&call) {
        Ok(k) => k,
        Err(e) => {
            return portals
                .iter()
                .map(|_| Err(Error::Payload(e.clone())))
                .collect();
        }
    };
    let calls = portals.iter().map(|p| {
        let kwargs = kwargs.clone();
        async move {
            let v = p.run_from_ns(F::NS, F::NAME, kwargs).await?;
            Ok(payload::from_value(v)?)
        }
    });
    futures_util::future::join_all(calls).await
}

/// Opens the same context on every portal concurrently. If any fails, the
/// ones that opened are dropped (and so cancelled) and the first error is
/// returned.
pub async fn gather_contexts<F>(
    portals: &[Portal],
    call: F,
) -> Result<Vec<(Context<Opener<F>>, F::Started)>, Error>
where
    F: RemoteContextFn,
{
    let kwargs = payload::to_kwargs(&call)?;
    let opens = portals.iter().map(|p| {
        let kwargs = kwargs.clone();
        async move {
            let (ctx, first) = p
                .open_context_from_ns(F::NS, F::NAME, kwargs, ContextOptions::default())
                .await?;
            Ok((ctx.retype(), payload::from_value::<F::Started>(first)?))
        }
    });
    futures_util::future::join_all(opens)
        .await
        .into_iter()
        .collect()
}
