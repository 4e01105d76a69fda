//! `#[tractor::rpc]` lowers a return value by its type, not its spelling:
//! a `Result` behind an alias sends `Err` back as an error (it used to be
//! sent as an `Ok` value, the whole enum); `output = T` types the call.

use tractor::Error;

#[derive(Debug, thiserror::Error)]
#[error("not enough: {0}")]
struct Short(u32);

/// A `Result` under another name.
type MyRes<T> = Result<T, Short>;

#[tractor::rpc(output = u32)]
async fn halve(n: u32) -> MyRes<u32> {
    if n % 2 == 1 { Err(Short(n)) } else { Ok(n / 2) }
}

mod nested {
    /// An alias with the error fixed elsewhere, spelled through a module.
    pub type Answer = Result<String, std::io::Error>;

    #[tractor::rpc(output = String)]
    pub async fn greet(who: String) -> Answer {
        if who.is_empty() {
            Err(std::io::Error::other("nobody to greet"))
        } else {
            Ok(format!("hello {who}"))
        }
    }
}
use nested::greet;

#[tractor::test(timeout = 30, backend = "thread")]
async fn a_result_behind_an_alias_is_sent_as_value_or_error() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("halver", &[halve::NS, greet::NS]).await?;
        let two: u32 = p.run(halve { n: 4 }).await?;
        assert_eq!(two, 2);
        let e = p.run(halve { n: 3 }).await.expect_err("3 is odd: an error");
        let r = e
            .as_remote()
            .unwrap_or_else(|| panic!("a remote error, got {e}"));
        assert_eq!(r.boxed_type(), "Short", "{e}");
        assert!(e.to_string().contains("not enough: 3"), "{e}");
        // Untyped, the value is the `Ok` payload, not the enum.
        let v = p
            .run_from_ns(halve::NS, "halve", vec![("n".into(), 8.into())])
            .await?;
        assert_eq!(v.as_u64(), Some(4), "{v}");
        let hi: String = p.run(greet { who: "you".into() }).await?;
        assert_eq!(hi, "hello you");
        let e = p
            .run(greet { who: String::new() })
            .await
            .expect_err("an error");
        assert!(e.to_string().contains("nobody to greet"), "{e}");
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}
