//! Closed-loop load generation: `concurrency` clients each send one request, wait for the whole
//! answer, and send the next, for a warm-up and then a measured window; bounded in time and in
//! count, it stops by itself.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use crate::BenchError;

/// Most operations one scenario may run (a bound, far above what 2 cores reach in a window).
const MAX_OPERATIONS: u64 = 10_000_000;

/// Shape of one scenario run.
#[derive(Clone, Copy)]
pub struct Load {
    pub concurrency: u32,
    pub warm_up: Duration,
    pub duration: Duration,
}

/// Latency distribution and throughput of a measured window.
#[derive(Clone, Copy, Default)]
pub struct Stats {
    /// Operations in the measured window.
    pub operations: u64,
    /// Operations run, warm-up included (what CPU time is divided by).
    pub all_operations: u64,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// A small deterministic generator (xorshift64*) for picking patients and documents.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A value in `0..bound`.
    pub fn below(&mut self, bound: u32) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32;
        u32::try_from(value % u64::from(bound.max(1))).unwrap_or(0)
    }
}

/// Runs `operation` from `load.concurrency` tasks on `runtime` and measures it; each call gets
/// its task's number (`0..concurrency`) and random generator.
pub async fn run<F, Fut>(runtime: &Handle, load: Load, operation: F) -> Result<Stats, BenchError>
where
    F: Fn(u32, &mut Rng) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BenchError>> + Send,
{
    let operation = Arc::new(operation);
    let start = Instant::now();
    let measure_from = start + load.warm_up;
    let end = measure_from + load.duration;
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..load.concurrency {
        let operation = Arc::clone(&operation);
        let budget = MAX_OPERATIONS / u64::from(load.concurrency.max(1));
        clients.spawn_on(
            async move {
                let mut rng = Rng::new(u64::from(client) + 1);
                let mut latencies = Vec::with_capacity(64 * 1024);
                let mut done = 0u64;
                loop {
                    let began = Instant::now();
                    if began >= end || done >= budget {
                        break;
                    }
                    operation(client, &mut rng).await?;
                    done += 1;
                    let finished = Instant::now();
                    if began >= measure_from && finished <= end {
                        latencies.push(finished - began);
                    }
                }
                Ok::<(Vec<Duration>, u64), BenchError>((latencies, done))
            },
            runtime,
        );
    }
    let mut latencies = Vec::new();
    let mut all_operations = 0;
    while let Some(joined) = clients.join_next().await {
        let (measured, done) = joined??;
        latencies.extend(measured);
        all_operations += done;
    }
    Ok(Stats {
        all_operations,
        ..stats(latencies, load.duration)
    })
}

fn stats(mut latencies: Vec<Duration>, window: Duration) -> Stats {
    if latencies.is_empty() {
        return Stats::default();
    }
    latencies.sort_unstable();
    let at = |fraction: f64| {
        let last = latencies.len() - 1;
        // Nearest-rank percentile.
        let rank = (fraction * latencies.len() as f64).ceil() as usize;
        latencies[rank.saturating_sub(1).min(last)]
    };
    Stats {
        operations: latencies.len() as u64,
        all_operations: latencies.len() as u64,
        per_second: latencies.len() as f64 / window.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        max: latencies[latencies.len() - 1],
    }
}
