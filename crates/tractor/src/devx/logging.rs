//! `tracing` output where every line carries the actor's name.
//!
//! The name is per thread (thread actors) with a per-process fallback
//! (process actors), so the formatter needs no span bookkeeping.

use std::cell::RefCell;
use std::fmt;
use std::sync::OnceLock;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{DefaultFields, Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

thread_local! {
    static NAME: RefCell<Option<String>> = const { RefCell::new(None) };
}
static PROCESS_NAME: OnceLock<String> = OnceLock::new();

/// Records the actor name for log lines from this thread (and, the first
/// time, this process).
pub fn set_actor_name(name: &str) {
    NAME.with(|n| *n.borrow_mut() = Some(name.to_owned()));
    let _ = PROCESS_NAME.set(name.to_owned());
}

fn actor_name() -> String {
    NAME.with(|n| n.borrow().clone())
        .or_else(|| PROCESS_NAME.get().cloned())
        .unwrap_or_else(|| "-".into())
}

struct ActorFormat(Format<tracing_subscriber::fmt::format::Full, ()>);

impl<S, N> FormatEvent<S, N> for ActorFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        ev: &Event<'_>,
    ) -> fmt::Result {
        write!(w, "[{} {}] ", actor_name(), std::process::id())?;
        self.0.format_event(ctx, w, ev)
    }
}

/// Installs the subscriber (once per process) with `level` as the filter
/// (`RUST_LOG` wins when set).
pub fn init(level: &str) {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            // A line that cannot be written (stderr closed: the terminal
            // gone, or `tee` ended by the same Ctrl-C) is dropped. With
            // internal errors on, the subscriber reports the failure with
            // `eprintln!`, which panics on that same stderr, in whatever
            // task logged: the root's signal task, before it cancelled
            // the tree.
            .log_internal_errors(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .fmt_fields(DefaultFields::new())
            .event_format(ActorFormat(Format::default().without_time()))
            .try_init();
    });
}
