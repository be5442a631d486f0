//! CPU time spent per scenario, read from `/proc` (user + system, clock ticks of 10 ms): the
//! registry runtime's threads (`registry`; the floors run there too) and its SQLite writer
//! thread, the load generator's
//! threads (`load-client`), and on PostgreSQL the server processes: the backends connected to
//! the benchmark database and the auxiliary processes (WAL writer, checkpointer, ...). Wall-clock
//! figures swing with the machine's load; CPU per operation does much less. The context switches
//! of the registry's and the client's threads count the hand-offs a request takes.

use std::collections::HashMap;

use diesel::sql_types::Integer;
use diesel_async::RunQueryDsl;
use registry::storage::Database;

use crate::BenchError;

/// Linux reports `/proc` times in USER_HZ, 100 per second.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU ticks so far of this process's threads by role and of each PostgreSQL process, and
/// their context switches.
pub struct Sample {
    registry: u64,
    client: u64,
    postgres: HashMap<u32, u64>,
    switches: Switches,
}

/// Context switches of the registry's and the load client's threads, `[voluntary,
/// involuntary]`: a thread went to sleep waiting for work, or was preempted.
#[derive(Clone, Copy, Default)]
struct Switches {
    registry: [u64; 2],
    client: [u64; 2],
}

/// CPU microseconds per operation of one scenario run.
#[derive(Clone, Copy, Default)]
pub struct PerOperation {
    pub registry: f64,
    pub client: f64,
    /// `None` on SQLite.
    pub postgres: Option<f64>,
    /// Context switches per operation of the registry's and of the load client's threads,
    /// `[voluntary, involuntary]`.
    pub registry_switches: [f64; 2],
    pub client_switches: [f64; 2],
}

/// The voluntary and involuntary context switches in a `/proc/.../status`.
fn context_switches(path: &std::path::Path) -> [u64; 2] {
    let status = std::fs::read_to_string(path).unwrap_or_default();
    let count = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    [
        count("voluntary_ctxt_switches:"),
        count("nonvoluntary_ctxt_switches:"),
    ]
}

fn add(total: &mut [u64; 2], more: [u64; 2]) {
    total[0] += more[0];
    total[1] += more[1];
}

/// utime + stime of a `/proc/.../stat` line (fields 14 and 15, after the parenthesised name).
fn ticks(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let mut fields = stat.get(close + 2..)?.split(' ');
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((name, utime + stime))
}

fn read_ticks(path: &str) -> Option<(String, u64)> {
    ticks(&std::fs::read_to_string(path).ok()?)
}

#[derive(diesel::QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

impl Sample {
    pub async fn take(db: &Database) -> Result<Sample, BenchError> {
        let mut registry = 0;
        let mut client = 0;
        let mut switches = Switches::default();
        let tasks = std::fs::read_dir("/proc/self/task")
            .map_err(|e| BenchError::Io("/proc/self/task".into(), e))?;
        for task in tasks.flatten() {
            let path = task.path().join("stat");
            if let Some((name, used)) = path.to_str().and_then(read_ticks) {
                // The runtime's threads, and the SQLite writer thread (`registry-sqlite-writer`,
                // cut to 15 bytes); not the main thread (`registry_load-...`).
                if name == "registry" || name.starts_with("registry-") {
                    registry += used;
                    add(
                        &mut switches.registry,
                        context_switches(&task.path().join("status")),
                    );
                } else if name == "load-client" {
                    client += used;
                    add(
                        &mut switches.client,
                        context_switches(&task.path().join("status")),
                    );
                }
            }
        }
        let mut postgres = HashMap::new();
        if let Database::Postgres(pool) = db {
            let pids: Vec<Pid> = diesel::sql_query(
                "SELECT pid FROM pg_stat_activity \
                 WHERE datname = current_database() OR datname IS NULL",
            )
            .load(&mut pool.get().await?)
            .await?;
            for Pid { pid } in pids {
                let Ok(pid) = u32::try_from(pid) else {
                    continue;
                };
                if let Some((_, used)) = read_ticks(&format!("/proc/{pid}/stat")) {
                    postgres.insert(pid, used);
                }
            }
        }
        Ok(Sample {
            registry,
            client,
            postgres,
            switches,
        })
    }

    /// CPU per operation from `self` to `later` over `operations`.
    pub fn per_operation(&self, later: &Sample, operations: u64) -> PerOperation {
        let micros = |ticks: u64| ticks as f64 / TICKS_PER_SECOND * 1e6 / operations.max(1) as f64;
        let postgres = (!later.postgres.is_empty()).then(|| {
            micros(
                later
                    .postgres
                    .iter()
                    .map(|(pid, used)| {
                        used.saturating_sub(self.postgres.get(pid).copied().unwrap_or(0))
                    })
                    .sum(),
            )
        });
        let per_operation = |later: [u64; 2], earlier: [u64; 2]| {
            [0, 1].map(|i| later[i].saturating_sub(earlier[i]) as f64 / operations.max(1) as f64)
        };
        PerOperation {
            registry: micros(later.registry.saturating_sub(self.registry)),
            client: micros(later.client.saturating_sub(self.client)),
            postgres,
            registry_switches: per_operation(later.switches.registry, self.switches.registry),
            client_switches: per_operation(later.switches.client, self.switches.client),
        }
    }
}
