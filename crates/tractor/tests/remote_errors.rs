//! Errors cross actor boundaries boxed, with their origin, type name,
//! message, relay path and traceback; the failing actor keeps serving.

use tractor::{Error, RemoteErrorType};

#[derive(Debug, PartialEq)]
struct Overdrawn(u64);

impl std::fmt::Display for Overdrawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "overdrawn by {}", self.0)
    }
}
impl std::error::Error for Overdrawn {}
impl RemoteErrorType for Overdrawn {
    fn from_message(m: &str) -> Option<Self> {
        m.strip_prefix("overdrawn by ")?.parse().ok().map(Overdrawn)
    }
}

#[tractor::rpc]
async fn withdraw(amount: u64) -> Result<u64, Overdrawn> {
    if amount > 100 {
        Err(Overdrawn(amount - 100))
    } else {
        Ok(100 - amount)
    }
}

mod dangerous {
    /// Lives in its own namespace (`remote_errors::dangerous`).
    #[tractor::rpc]
    pub async fn explode(why: String) -> u32 {
        panic!("boom: {why}");
    }
}
use dangerous::explode;

#[tractor::rpc]
async fn relay_withdraw(amount: u64) -> Result<u64, Error> {
    // Calls `withdraw` one hop further down and passes its error up.
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("bank", &[withdraw::NS]).await?;
        let r = p.run(withdraw { amount }).await;
        p.cancel_actor().await?;
        r
    })
    .await
}

fn remote(e: &Error) -> &tractor::RemoteActorError {
    e.as_remote()
        .unwrap_or_else(|| panic!("expected a remote error, got {e}"))
}

#[tractor::test(timeout = 30)]
async fn application_error_is_boxed_and_registered_types_come_back() -> Result<(), Error> {
    tractor::register_error_type::<Overdrawn>();
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("teller", &[withdraw::NS]).await?;
        let e = p.run(withdraw { amount: 142 }).await.unwrap_err();
        let r = remote(&e);
        assert_eq!(r.src_type(), "Overdrawn");
        assert_eq!(r.boxed_type(), "Overdrawn");
        assert_eq!(r.message(), "overdrawn by 42");
        assert_eq!(r.src_uid().name, "teller");
        assert_eq!(r.downcast_ref::<Overdrawn>(), Some(&Overdrawn(42)));
        assert_eq!(
            e.to_string(),
            "Overdrawn from actor 'teller': overdrawn by 42"
        );
        // The actor keeps serving after an error.
        assert_eq!(p.run(withdraw { amount: 30 }).await?, 70);
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn a_panic_is_an_error_reply_not_a_dead_actor() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("fragile", &[explode::NS, withdraw::NS])
            .await?;
        let e = p
            .run(explode {
                why: "bad input".into(),
            })
            .await
            .unwrap_err();
        let r = remote(&e);
        assert_eq!(r.src_type(), "Panic");
        assert_eq!(r.message(), "boom: bad input");
        assert!(r.traceback().contains("panicked at"), "{}", r.traceback());
        assert_eq!(p.run(withdraw { amount: 1 }).await?, 99, "still serving");
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn unknown_and_disabled_functions_are_error_replies() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("strict", &[withdraw::NS]).await?;
        let e = p
            .run_from_ns(withdraw::NS, "no_such_fn", vec![])
            .await
            .unwrap_err();
        assert_eq!(remote(&e).boxed_type(), "AttributeError");
        assert!(
            remote(&e).message().contains("no function \"no_such_fn\""),
            "{e}"
        );
        let e = p.run(explode { why: "x".into() }).await.unwrap_err();
        assert_eq!(remote(&e).boxed_type(), "ModuleNotExposed");
        assert!(
            remote(&e)
                .message()
                .contains("is not enabled in actor 'strict'"),
            "{e}"
        );
        let e = p
            .run_from_ns(
                withdraw::NS,
                "withdraw",
                vec![("amount".into(), "lots".into())],
            )
            .await
            .unwrap_err();
        assert_eq!(remote(&e).src_type(), "TypeError");
        assert!(
            remote(&e)
                .message()
                .contains("bad arguments for withdraw()"),
            "{e}"
        );
        assert_eq!(p.run(withdraw { amount: 0 }).await?, 100, "still serving");
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn errors_relayed_across_hops_keep_their_origin() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("branch", &[relay_withdraw::NS]).await?;
        let e = p.run(relay_withdraw { amount: 500 }).await.unwrap_err();
        let r = remote(&e);
        assert_eq!(r.src_type(), "Overdrawn");
        assert_eq!(r.boxed_type(), "RemoteActorError");
        assert_eq!(r.src_uid().name, "bank");
        let path: Vec<&str> = r.relay_path().iter().map(|u| u.name.as_str()).collect();
        assert_eq!(path, ["bank", "branch"]);
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

/// Runs `test_panic_backtrace` with `RUST_BACKTRACE` (and
/// `RUST_LIB_BACKTRACE`) removed, or set to `backtrace`; returns the
/// traceback text of its child's panic reply.
fn panic_traceback(backtrace: Option<&str>) -> String {
    let mut cmd =
        std::process::Command::new(tractor::testing::example_path("test_panic_backtrace"));
    cmd.arg("--test-threads=1")
        .env_remove("NEXTEST")
        .env_remove("_TRACTOR_RT_VARS")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    if let Some(v) = backtrace {
        cmd.env("RUST_BACKTRACE", v);
    }
    let out = cmd.output().expect("the panic program runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let begin = text
        .find("TRACEBACK-BEGIN\n")
        .expect("the traceback's first marker")
        + 16;
    let end = text
        .find("\nTRACEBACK-END")
        .expect("the traceback's last marker");
    text[begin..end].to_owned()
}

/// A panic's backtrace is captured only when asked for (capturing and
/// resolving one for every panic is costly): without `RUST_BACKTRACE` the
/// reply says where the panic was and how to get a backtrace.
#[test]
fn a_panic_reply_has_a_backtrace_only_with_rust_backtrace() {
    let without = panic_traceback(None);
    assert!(without.contains("panicked at"), "{without}");
    assert!(without.contains("boom for the backtrace test"), "{without}");
    assert!(
        without.contains("set RUST_BACKTRACE=1 for a backtrace"),
        "{without}"
    );
    assert!(!without.contains("stack backtrace:"), "{without}");
    let with = panic_traceback(Some("1"));
    assert!(with.contains("stack backtrace:"), "{with}");
    assert!(
        with.contains("explode"),
        "the panicking function is a frame: {with}"
    );
    assert!(!with.contains("set RUST_BACKTRACE=1"), "{with}");
}
