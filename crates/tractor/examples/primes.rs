//! A parallel worker pool: each worker actor checks a slice of numbers for
//! primality; the root gathers the answers (the counterpart of Python
//! tractor's concurrent-actors primes example).
//!
//! ```text
//! cargo run -p tractor --example primes
//! ```

/// Returns the primes in `[start, end)`.
#[tractor::rpc]
async fn primes_in(start: u64, end: u64) -> Vec<u64> {
    (start..end).filter(|n| is_prime(*n)).collect()
}

fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

#[tractor::main]
async fn main() -> Result<(), tractor::Error> {
    const WORKERS: u64 = 4;
    const LIMIT: u64 = 100_000;
    let found = tractor::open_nursery(|n| async move {
        let chunk = LIMIT / WORKERS;
        let mut portals = Vec::new();
        for w in 0..WORKERS {
            let call = primes_in {
                start: w * chunk,
                end: (w + 1) * chunk,
            };
            portals.push(n.run_in_actor(&format!("worker-{w}"), call).await?);
        }
        let mut all = Vec::new();
        for p in portals {
            all.extend(p.result_as::<Vec<u64>>().await?);
        }
        Ok(all)
    })
    .await?;
    println!(
        "{} primes below {LIMIT}; the last is {}",
        found.len(),
        found.last().copied().unwrap_or(0)
    );
    Ok(())
}
