//! `tractor call NAME NS.FUNC --kwargs JSON`: prints a plain function's
//! result, or an async generator's items one per line as they arrive; a
//! context function is refused at its `StartAck` with what to use.

use tractor::RegistryAddr;
use tractor::discovery::api::{CallOutcome, call_or_stream_once_ns, my_aid, prefer_addr};
use tractor::msg::{self, Value};

use super::Failure;
use crate::json;

pub async fn run(
    registry: &RegistryAddr,
    name: &str,
    target: &str,
    kwargs: &str,
) -> Result<(), Failure> {
    let (ns, func) = target.rsplit_once('.').ok_or_else(|| {
        Failure::Error(format!(
            "{target:?} is not NAMESPACE.FUNCTION (e.g. my_crate::workers.add or self.cancel)"
        ))
    })?;
    let kw: serde_json::Value = serde_json::from_str(kwargs)
        .map_err(|e| Failure::Error(format!("--kwargs is not valid JSON: {e}")))?;
    let serde_json::Value::Object(obj) = kw else {
        return Err(Failure::Error("--kwargs must be a JSON object".into()));
    };
    let kwargs: Vec<(String, Value)> = obj
        .iter()
        .map(|(k, v)| (k.clone(), json::to_value(v)))
        .collect();
    let addrs: Vec<msg::WireAddr> = tractor::discovery::api::find_in(registry, name).await?;
    let addr = prefer_addr(&addrs).ok_or_else(|| {
        Failure::Error(format!(
            "no actor named {name:?} is registered at {registry}"
        ))
    })?;
    let (me, max) = my_aid();
    // An async generator's items are printed as they come, one compact
    // JSON document a line; a plain function's result is pretty-printed.
    let mut print_item = |v: Value| {
        println!("{}", json::from_value(&v));
    };
    let out = match call_or_stream_once_ns(&addr, &me, ns, func, kwargs, max, &mut print_item).await
    {
        Ok(CallOutcome::Returned(v)) => v,
        Ok(CallOutcome::Streamed(_)) => return Ok(()),
        Err(e @ tractor::Error::FuncType { .. }) => {
            return Err(Failure::Error(format!(
                "{e} (tractor call runs plain async functions and streams async generators)"
            )));
        }
        // A one-line traceback is the `Type: message` line the error
        // already shows.
        Err(tractor::Error::Remote(e)) if e.traceback().trim_end().contains('\n') => {
            return Err(Failure::Error(format!(
                "{e}\n\nremote traceback:\n{}",
                e.traceback().trim_end()
            )));
        }
        Err(e) => return Err(e.into()),
    };
    println!("{}", serde_json::to_string_pretty(&json::from_value(&out))?);
    Ok(())
}
