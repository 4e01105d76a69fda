//! `#[tractor::main(enable = [paths..])]`: the root enables modules by
//! path. A child actor calls back into the root: a function in an enabled
//! module answers, one outside is refused. Prints one line per outcome.

mod workers {
    pub mod inner {
        /// In an enabled module (a relative path).
        #[tractor::rpc]
        pub async fn hello(who: String) -> String {
            format!("hello {who}")
        }
    }
}

mod extra {
    /// In an enabled module (a `crate::` path).
    #[tractor::rpc]
    pub async fn twice(n: i64) -> i64 {
        n * 2
    }
}

mod hidden {
    /// In a module the root does not enable.
    #[tractor::rpc]
    pub async fn secret() -> String {
        "leaked".into()
    }
}

mod probe {
    /// Runs in the child: calls the root's functions and reports.
    #[tractor::rpc]
    pub async fn call_root() -> Result<Vec<String>, tractor::Error> {
        let root = tractor::find_actor("paths")
            .await?
            .ok_or_else(|| tractor::Error::Config("no root".into()))?;
        let mut out = Vec::new();
        let hello = root
            .run(crate::workers::inner::hello {
                who: "child".into(),
            })
            .await;
        out.push(format!("hello: {hello:?}"));
        let twice = root.run(crate::extra::twice { n: 21 }).await;
        out.push(format!("twice: {twice:?}"));
        match root.run(crate::hidden::secret {}).await {
            Ok(v) => out.push(format!("secret: answered {v}")),
            Err(e) => out.push(format!("secret: refused: {e}")),
        }
        Ok(out)
    }
}

#[tractor::main(name = "paths", enable = [workers::inner, crate::extra])]
async fn main() -> Result<(), tractor::Error> {
    let me = tractor::current_actor().expect("the root runs");
    println!("enabled: {}", me.enabled_namespaces().join(", "));
    tractor::open_nursery(|n| async move {
        let child = n.start_actor("prober", &[probe::call_root::NS]).await?;
        for line in child.run(probe::call_root {}).await? {
            println!("{line}");
        }
        child.cancel_actor().await?;
        Ok(())
    })
    .await
}
