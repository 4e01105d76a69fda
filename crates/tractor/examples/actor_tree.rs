//! The main demo: a root actor with 2 branches of 2 leaves each (7
//! processes), printed once it is up; it runs until Ctrl-C, which cancels
//! the whole tree in order (leaves, then branches, then the root).
//!
//! ```text
//! cargo run -p tractor --example actor_tree
//! ```

/// Grows `leaves` leaf actors under this branch and serves until
/// cancelled.
#[tractor::rpc]
async fn grow(branch: u32, leaves: u32) -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        for l in 0..leaves {
            n.start_actor(&format!("leaf-{branch}-{l}"), &[]).await?;
        }
        std::future::pending::<()>().await;
        Ok(())
    })
    .await
}

#[tractor::main(name = "root")]
async fn main() -> Result<(), tractor::Error> {
    const BRANCHES: u32 = 2;
    const LEAVES: u32 = 2;
    tractor::open_nursery(|n| async move {
        let mut branches = Vec::new();
        for b in 0..BRANCHES {
            branches.push(n.start_actor(&format!("branch-{b}"), &[grow::NS]).await?);
        }
        let growing =
            futures_util::future::try_join_all(branches.iter().enumerate().map(|(b, p)| {
                p.run(grow {
                    branch: b as u32,
                    leaves: LEAVES,
                })
            }));
        let show = async {
            let me = tractor::current_actor().expect("in the root actor");
            let addr = me
                .accept_addrs()
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            println!("root (pid {}) registrar at {addr}", std::process::id());
            // The last child of a node hangs from `└──`, and nothing of
            // its parent's line runs on below it.
            let twig = |last: bool| if last { "└──" } else { "├──" };
            for (b, branch) in branches.iter().enumerate() {
                let last_branch = b + 1 == branches.len();
                println!(
                    "{} {} (pid {})",
                    twig(last_branch),
                    branch.name(),
                    branch.pid().unwrap_or(0)
                );
                let stem = if last_branch { "    " } else { "│   " };
                for l in 0..LEAVES {
                    let leaf = tractor::wait_for_actor(&format!("leaf-{b}-{l}")).await?;
                    println!(
                        "{stem}{} {} (pid {})",
                        twig(l + 1 == LEAVES),
                        leaf.name(),
                        leaf.pid().unwrap_or(0)
                    );
                }
            }
            let actors = 1 + branches.len() * (1 + LEAVES as usize);
            println!("tree ready: {actors} actors; press Ctrl-C to cancel it");
            std::future::pending::<()>().await;
            Ok::<(), tractor::Error>(())
        };
        tokio::select! {
            r = growing => r.map(|_| ()),
            r = show => r,
        }
    })
    .await
}
