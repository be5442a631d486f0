//! PIX manager load: feeds N synthetic patients through ITI-8 over MLLP (matching on), then
//! measures ITI-9 and ITI-21 latency (p50/p99) on the loaded MPI, and ITI-45 (PIXV3 Query over
//! SOAP/HTTP) latency as a ratio to ITI-9's.
//!
//! The population (deterministic, no data file): surnames and given names drawn by frequency
//! from 150,000 surnames and 20,000 given names with Zipf–Mandelbrot frequencies shaped like a
//! national census (the most common surname 0.95% of people, the top 1,000 47%; the most common
//! given name 2.9%, the top 100 38%), so blocking groups grow with the MPI as they do in a real
//! one; sex by given name; dates of birth uniform over a century. Patient `i` is registered in
//! the GREEN domain; one in ten also in BLUE (a second hospital), six of those ten exactly as in
//! GREEN, four with a keying error (a letter of the surname or day and month swapped), as a
//! second source sees them. Messages are generated as they are sent (nothing is held in
//! memory), patient `i` on connection `i mod C`.
//!
//! `PIX_BENCH_N` patients (default 2000), fed over `PIX_BENCH_CONNECTIONS` concurrent MLLP
//! connections (default 8); the feed rate (cumulative and since the last report) and the load
//! average are printed every tenth of the feed, giving the rate trend by MPI size.
//! `PIX_BENCH_QUERIES` of each query (default 500); `PIX_BENCH_DATABASE_URL` to run on
//! PostgreSQL instead of a temporary SQLite file (`synchronous = FULL` in both cases). Goal at
//! 1,000,000 patients: ≥ 2,000 msg/s on 2 cores, ITI-9 p99 < 5 ms, ITI-21 p99 < 20 ms.
//!
//!     PIX_BENCH_N=1000000 cargo bench -p pix-manager --bench pix_load
//!
//! Measured 2026-11-24 (SQLite; a shared 2-core machine, load average 8-14 from other builds
//! and benches, so CPU ms/msg is the figure to compare, and runs were paired: the two builds
//! compared run at the same time, under the same load). Per-message cost grows with the MPI
//! because the candidates compared grow with it: at 166,000 records a new record met 57
//! candidates on average (6% of them capped at `max_candidates`, 200); the name-code blocks
//! grow linearly (`gs:` name-code pairs held 300-600 records at 166,000). A `perf record` of
//! the writer thread at 110,000-170,000 records: SQLite 70% (its B-tree searches
//! `sqlite3BtreeTableMoveto` 28%; statement preparation of the IN-list queries 7%; the group
//! commit 15%, fsync 6%), matching (`Matcher::assess`) 8%, inserting blocking keys 6%; the
//! writer thread is 89% of the process's CPU time, the second core stays idle.
//! - The feed read each candidate's person from `links` (one lookup per candidate); it now
//!   reads candidates from the blocking keys alone (only active records have keys) and looks
//!   up persons for the stored decisions only. Names keep their Soundex codes, and the
//!   swapped-names comparison stops at the agreeing levels (same outcomes, fewer
//!   allocations). Both together, paired run at N = 250,000 (275,000 messages): CPU ms/msg
//!   0.759 before, 0.737 after (per tenth 0.759/0.853/0.881/0.978 before, 0.736/0.816/
//!   0.849/0.934 after over the last four); wall clock 446 vs 448 msg/s (load 10). The
//!   `links` lookups were not what `sqlite3BtreeTableMoveto` spent its time on: it stays at
//!   25% of the writer after the change. The first alone, sequential A/B at N = 100,000:
//!   0.479 and 0.386 CPU ms/msg before, 0.424 and 0.381 after (load 7-12).
//! - Did not help: the candidate query as one statement per key (`key = ?`, prepared once,
//!   the same first 200 in key and id order, merged in Rust) instead of one `key IN (...)`
//!   list prepared anew each time: paired run at N = 250,000 (stopped at 165,000), CPU
//!   ms/msg per tenth 0.285/0.406/0.481/0.545/0.596/0.654 against 0.273/0.387/0.463/0.518/
//!   0.583/0.656 with the `IN` list (higher in five tenths of six, load 7-10), statement
//!   preparation no lower in the profile (statements are also re-prepared inside
//!   `sqlite3_step`, 3.6% of the writer: not explained yet). Reverted.
//! - The cause of the growth: the same-domain check of each auto-link candidate's person
//!   (`person_has_domain`, `links` joined to `records` on person and domain) was planned by
//!   SQLite, which has no statistics, through the `(domain, local_id)` index: every record of
//!   the domain, one `links` lookup each (800,000 VDBE steps for a domain of 100,000
//!   records; `sqlite3BtreeTableMoveto`, 25% of the writer, came from that one statement).
//!   It now reads the person's records by person and compares their domains (15 steps).
//!   Paired run at N = 150,000 (165,000 messages), with against without: CPU ms/msg 0.334 vs
//!   0.478 (-30%), per tenth 0.259/0.285/0.306/0.326/0.315/0.351/0.332/0.366/0.369 vs
//!   0.266/0.322/0.371/0.415/0.458/0.449/0.477/0.546/0.558 (the growth flattens); 1,058 vs
//!   868 msg/s (load 8-10); ITI-9 p99 3.1 ms, ITI-21 p99 11.4 ms.
//! - All of the above against the code before them (the same commands, paired, N = 250,000,
//!   275,000 messages, load 6-9): 0.378 vs 0.689 CPU ms/msg (-45%), 1,048 vs 723 msg/s; per
//!   tenth 0.251/0.304/0.327/0.349/0.376/0.377/0.399/0.421/0.455 vs 0.278/0.372/0.457/0.525/
//!   0.576/0.658/0.789/0.836/0.894; ITI-9 p99 0.59 ms, ITI-21 p99 4.9 ms at 250,000. The
//!   trend (about +0.09 CPU ms/msg per 100,000 records, the candidates still growing) puts
//!   1,000,000 near 1.1 CPU ms/msg on the one writer thread, under 1,000 msg/s (under load;
//!   the quiet run below shows half that).
//! - Left for the goal: the writer thread is the bottleneck (89% of the process's CPU) and
//!   its cost per message still grows with the candidates; matching on reader connections
//!   with a re-check in the writer, and blocking keys whose blocks stay small as the MPI
//!   grows (the `gs:` name-code blocks grow linearly), remain the candidate designs.
//! - 1,000,000, quiet machine (load 1.0-1.3: the writer thread on one core, the other idle),
//!   2026-11-24 with the records_local_id index: 1,100,000 messages in 562 s = 1,957 msg/s
//!   (goal 2,000), 0.472 CPU ms/msg; per tenth 2,868 msg/s overall at 220,000, then 2,213,
//!   2,055, 1,872, 1,877, 1,787, 1,771, 1,656 msg/s (0.559 CPU ms/msg) in the last; ITI-9 p99
//!   0.73 ms, ITI-21 p99 19.46 ms, ITI-45 p99 0.20 ms. At 50,000 the same day: 3,554 msg/s,
//!   0.256 CPU ms/msg, ITI-9 p99 0.20 ms, ITI-21 p99 0.75 ms. Tried: a 64 MiB page cache for
//!   the writer (`PRAGMA cache_size = -65536`; default 2 MiB, reads through the 2 GiB mmap):
//!   N = 200,000 at load 0.9-1.1, 2,494 vs 2,769 msg/s and 0.373 vs 0.335 CPU ms/msg: worse.
//!   ITI-21 by identifier without a domain (`records_by_local_id`) scanned the whole
//!   `(domain, local_id)` index on SQLite; migration `records_local_id` indexes `local_id`.
//! - 1,000,000, quiet machine (load 1.0-1.9), 2026-11-24 20:21-20:32 UTC, with the prepared
//!   statements and the work moved off the writer (above), on the next session's machine (its
//!   other benches ran 10-35% slower than the previous machine's on unchanged floors):
//!   1,100,000 messages in 635 s = 1,732 msg/s, 0.513 CPU ms/msg (writer 0.485); per tenth
//!   3,121, 2,295, 2,040, 1,820, 1,669, 1,649, 1,567, 1,509, 1,462 msg/s (writer 0.256 ->
//!   0.584 CPU ms/msg); ITI-9 p99 1.05 ms, ITI-21 p99 23.03 ms (p50 2.25), ITI-45 p99 0.46 ms.
//!   No A/B of the two builds at 1,000,000 on one machine yet: the writer's cost still grows
//!   with the MPI (0.26 -> 0.58 ms), the goal needs that growth flattened.
//! - The per-tenth and final lines also give the SQLite writer thread's CPU ms/msg (the one
//!   thread every identity change goes through: its time per message bounds the feed rate).
//!   A `perf record` of the writer at 60,000-70,000 records (2026-11-24): the group commit's
//!   fsync 9.5%, SQLite's parser and planner about 5% (`sqlite3RunParser`, `yy_reduce`,
//!   `resolveExprStep`, `sqlite3WhereBegin`...: diesel never reuses a statement holding an
//!   `IN (?, ...)` list or an upsert's `DO UPDATE`, so the candidate, candidate-record and
//!   person queries and the record insert were parsed and planned for each message), matching
//!   about 4%, `PreparedCache` lookups 1.6%. Now the `IN` lists are one JSON-array parameter
//!   (`IN (SELECT value FROM json_each(?))`, same rows in the same order: unit test), a new
//!   record is inserted with `ON CONFLICT DO NOTHING` and a known one updated by a second
//!   statement, and a feed's JSON, blocking keys and normalised demographics are computed on
//!   the connection's task, not on the writer. Paired run at N = 100,000 (110,000 messages,
//!   load 9.8-11.4, a test build running too), before vs after: writer 0.329 vs 0.290 CPU
//!   ms/msg (-12%), process 0.379 vs 0.341 (-10%), 855 vs 955 msg/s; writer per tenth 0.224/
//!   0.259/0.279/0.313/0.321/0.350/0.351/0.361/0.386 vs 0.192/0.224/0.243/0.271/0.290/0.309/
//!   0.314/0.324/0.330. Command (both binaries at once):
//!   `PIX_BENCH_N=100000 cargo bench -p pix-manager --bench pix_load`.
//! - Then: a record just inserted is not looked up in `links` (it has no link yet), the
//!   `PreparedCache` hashes ids by multiplication instead of SipHash, and ITI-21's `IN` lists
//!   are reusable too. Paired at N = 100,000 against the previous item (load 11.2-12.6):
//!   writer 0.300 vs 0.312 CPU ms/msg (-4%), lower in every tenth (0.194/0.241/0.258/0.279/
//!   0.296/0.301/0.314/0.331/0.361 vs 0.202/0.249/0.270/0.285/0.307/0.319/0.328/0.354/0.373),
//!   process 0.355 vs 0.366. Run-to-run spread under this load is about 7% (the same build
//!   measured 0.290 and 0.312 writer CPU ms/msg in two pairs), so only paired differences
//!   are figures.
//! - Both items together against the code before them, paired at N = 250,000 (275,000
//!   messages, load 9.4-13.3): writer 0.381 vs 0.440 CPU ms/msg (-13%), process 0.439 vs
//!   0.499 (-12%), 830 vs 772 msg/s; writer per tenth 0.230/0.279/0.312/0.334/0.367/0.402/
//!   0.418/0.466/0.461 vs 0.273/0.325/0.361/0.384/0.439/0.470/0.495/0.514/0.527 (-12% in
//!   the last). Query latencies of that pair are not comparable (one binary's queries ran
//!   while the other still fed); run one after the other at N = 20,000 with
//!   `PIX_BENCH_QUERIES=2000` (load 7.1, before/after/before/after): ITI-21 p50 0.23/0.21/
//!   0.30/0.21 ms, p99 7.05/7.41/6.98/6.79 ms; ITI-9 p99 3.99/3.97/4.94/3.99 ms. Projected
//!   1,000,000 on a quiet machine (not run: the quiet run above had the writer at 89% of one
//!   core for 1,957 msg/s): about 2,200-2,250 msg/s if the rate follows the writer's CPU;
//!   still to be measured, and ITI-21's p99 there (19.46 ms before) with it.
//! - Did not help: matching on a read connection before the write is queued (a snapshot's
//!   candidates scored off the writer thread, the writer using them when its log of the writes
//!   since that snapshot showed none that could change them). Paired at N = 100,000 (load
//!   13-17), stopped at 22,000: 319 vs 1,117 msg/s, 0.714 vs 0.306 process CPU ms/msg, and the
//!   writer's own 0.316 vs 0.259, higher, not lower. A read connection starts each snapshot
//!   with a cold page cache (every commit invalidates it) and reads the WAL's pages with
//!   `pread`; the extra hop before each write leaves fewer writes per group commit (each of
//!   the 8 connections waits for its ACK), so more commits per message. Not kept.
//! - 2026-11-24 22:00 UTC, a `perf record --call-graph dwarf` of the writer at 100,000 records
//!   (N = 120,000): the group commit 25% (WAL frames written 16%, fsync 9%, checkpoint 7%);
//!   the savepoint journal 15% (`subjournalPageIfRequired`: each write of a group runs in a
//!   savepoint and SQLite copies each page it changes there first, into a temporary file past
//!   64 KiB, one `pwrite` per page); matching 13%, 12% in `name_orientations` (8% of it
//!   `memcmp`: `nickname_equivalent` read the whole nickname list, a string comparison per
//!   name, for nearly every candidate, and the names' own comparisons); statements parsed and
//!   planned again inside `sqlite3_step` 4.7%
//!   (SQLite 3.50 reads a bound `LIMIT ?` while planning and expires the statement each time it
//!   is bound: the candidate query). Changed: `temp_store = MEMORY` (the savepoint journal in
//!   memory), the nickname groups indexed by name once (same answers: unit test), and the
//!   candidate and ITI-21 key queries with their limit written into the statement
//!   (`LiteralLimit`). Paired runs (the two binaries at once), before vs after:
//!   N = 150,000 with the first and third only (load 6.9-10.3): writer 0.457 vs 0.336 CPU
//!   ms/msg (-26%), per tenth 0.302/0.371/0.389/0.429/0.457/0.465/0.484/0.539/0.498 vs
//!   0.197/0.274/0.291/0.308/0.324/0.361/0.361/0.403/0.388; all three at N = 250,000
//!   (275,000 messages, load 9.6-13.0, a test build running too): writer 0.538 vs 0.392 CPU
//!   ms/msg (-27%), process 0.634 vs 0.483, 309 vs 373 msg/s; per tenth 0.369/0.479/0.483/
//!   0.526/0.533/0.592/0.612/0.567/0.584 vs 0.238/0.342/0.342/0.360/0.408/0.395/0.401/0.464/
//!   0.482 (-36% in the first, -17% in the last: the growth with the MPI is still there, the
//!   commit's pages and the candidates compared grow with it).
//! - ITI-21 read up to 50 × `max_candidates` (10,000) records sharing any blocking key of the
//!   query, each loaded and its JSON parsed, then kept those agreeing with every parameter: a
//!   common name's keys hold thousands at 1,000,000 (p99 23 ms). A record agreeing with the
//!   query's exact values (no trailing `*`) holds every blocking key made of them, so with such
//!   keys the candidates are the records holding all of them (`GROUP BY ... HAVING count`,
//!   read from the keys' index alone), usually one or two; the answers are those of the full
//!   search, also where the old one stopped at its limit (test
//!   `iti21_exact_demographics_find_the_record_beyond_the_candidate_limit`). At N = 250,000
//!   (load 8.9): ITI-21 p50 0.22 ms, p99 0.61 ms (4.9 ms in the 250,000 run above).
//! - The same profile after (N = 120,000, load 6.8-7.9, the window at 105,000-118,000
//!   records): the group commit 33% (WAL frames 22%, fsync 12%, checkpoint 10%), matching 11%
//!   (`name_orientations` 8.8% of a writer 30% cheaper per message: half its time before,
//!   `memcmp` 5.4% of it, the names' own comparisons), blocking-key inserts 8.7%; no
//!   re-preparation, no savepoint-journal writes left. Writer 0.291 CPU ms/msg in all, per
//!   tenth 0.207/0.225/0.260/0.266/0.281/0.290/0.304/0.338/0.345 (perf attached in the last),
//!   against 0.407, 0.242/0.324/0.370/0.363/0.391/0.394/0.473/0.483/0.464 in the profiled
//!   run before (load 7.7-8.4; not paired).
//! - All of the above alone at N = 250,000 (22:33 UTC, load 3.0-3.4): 275,000 messages in
//!   281 s = 978 msg/s, 0.480 CPU ms/msg, writer 0.388 (per tenth 0.253/0.320/0.328/0.347/
//!   0.383/0.423/0.419/0.442/0.451); ITI-9 p99 0.43 ms, ITI-21 p50 0.36 ms, p99 0.76 ms,
//!   ITI-45 p99 0.52 ms. The build before, alone the same evening (load 6-9): writer 0.478,
//!   per tenth 0.283 -> 0.640.
//! - Left: the writer's cost still doubles from the first tenth to the last. Its growing
//!   parts: the candidates compared (up to `max_candidates`) and the pages each group commit
//!   writes and checkpoints (the blocking keys and the random affinity-domain ids, UUID v4,
//!   land on random B-tree pages; a time-ordered id would append instead).
//! - All of the above at 1,000,000, quiet (load 1.0-1.7: the writer on one core, the other
//!   mostly idle), 2026-11-24 22:45-22:56 UTC, on yet another session's machine (no A/B with
//!   the build before at this size): 1,100,000 messages in 625 s = 1,759 msg/s (goal 2,000),
//!   0.543 CPU ms/msg, writer 0.472; per tenth 2,828, 2,122, 2,058, 2,001, 1,770, 1,649,
//!   1,687, 1,558, 1,517 msg/s (writer 0.287 -> 0.555 CPU ms/msg); ITI-9 p99 0.62 ms, ITI-21
//!   p50 0.52 ms, p99 2.63 ms (23.03 in the run before: goal < 20 met), ITI-45 p99 0.70 ms.
//!   The writer's CPU is 83% of the wall clock, the rest mostly its fsyncs. The 27% cut of the
//!   writer's CPU measured at 250,000 (paired) shows here as 1,759 against 1,732 msg/s on
//!   different machines: the goal still needs the growth with the MPI flattened, or a second
//!   thread doing part of the writer's work (its matching, or the WAL checkpoints).
//! - Tried without gain, 2026-11-24 23:10 UTC: the WAL checkpoints on a thread of their own (the
//!   writer's `wal_autocheckpoint = 0`; after commits, a `PASSIVE` checkpoint at most every
//!   50 ms on another connection, a `RESTART` once the WAL held 4,000 frames). Paired at
//!   N = 100,000 (load 3.9-4.7, CI running): 1,249 vs 1,243 msg/s, writer 0.311 vs 0.299 CPU
//!   ms/msg (-4%), process 0.392 vs 0.410: the checkpoints beside the commits copy a page
//!   rewritten by many commits more often, and the `RESTART` still waits for the writer. Not
//!   kept.
//! - Matching ahead of the writer, 2026-11-25 (`storage::ahead`): a feed's candidates read and
//!   scored on a reader connection before the write is queued, taken by the writer unless one
//!   of the feed's blocking keys was written since the group commit the reader saw. Tried once
//!   before without gain (above); two causes found with `perf record --call-graph dwarf` and
//!   removed: SQLite unmaps a connection's whole memory map when a read transaction finds the
//!   WAL changed (every read under a feed: `munmap` plus the page faults after it were 20% of
//!   the readers' time), so readers now map nothing; and each reader read and normalised every
//!   candidate's JSON, so readers now look them up in the writer's `PreparedCache` (shared, the
//!   writer keeps what a reader read for a feed it takes). At N = 100,000, one build after the
//!   other (quiet, load 1.7-2.9): base 2,983 msg/s, writer 0.269 CPU ms/msg; matched ahead
//!   with mmap 2,037 msg/s (process 0.742, writer 0.252); readers without mmap 2,676 (0.531,
//!   0.228); with the shared cache 3,347 (0.397, 0.214). Feeds taken as matched ahead:
//!   109,793 of 110,000 (`pix_feed_matching_total{where}`, printed after the feed).
//! - 1,000,000, quiet (load 1.1-4.2), 2026-11-25 00:24-00:45 UTC, this build then the build
//!   before it (main c28e537) on the same machine, one after the other: 1,100,000 messages in
//!   506 s = **2,174 msg/s** against 618 s = 1,779 msg/s (1.22x; goal 2,000 met), writer
//!   0.299 against 0.460 CPU ms/msg (-35%), process 0.632 against 0.532 (+19%: the readers'
//!   work on the second core); per tenth 3,532, 3,087, 2,833, 2,368, 2,214, 2,062, 1,754,
//!   1,795, 1,925 msg/s against 3,062, 2,376, 1,935, 1,897, 1,615, 1,616, 1,615, 1,614, 1,615;
//!   1,097,996 feeds taken as matched ahead, 2,004 matched again by the writer. ITI-9 p99
//!   0.63 ms (0.56), ITI-21 p99 1.80 ms (1.63), ITI-45 p99 0.50 ms (0.51). `hie mpi link`
//!   writes the same links as the build before on all five accuracy datasets. Left: the
//!   readers' share grows with the MPI (0.16 -> 0.40 CPU ms/msg from the first tenth to the
//!   last): each read starts with an empty page cache (SQLite drops it when the WAL changed)
//!   and reads the key index and the records not yet cached page by page.
//! - PostgreSQL (`PIX_BENCH_DATABASE_URL`, the machine's PostgreSQL 15 with autovacuum off),
//!   N = 100,000, 2026-11-25, quiet: before, 285 msg/s (541 falling to 209 per tenth), ITI-9
//!   p50 15.0 ms, p99 29.6 ms, ITI-21 p99 4.53 ms, ITI-45 p99 26.4 ms: each connection kept the
//!   generic plan of a prepared statement made while the tables were nearly empty, a scan of
//!   `links` for ITI-9 and for the feed's own identity reads. With every statement planned
//!   with its values (`plan_cache_mode = force_custom_plan`): 372 msg/s (1.31x; 458 falling
//!   to 318), ITI-9 p50 0.67 ms, p99 1.23 ms, ITI-21 p99 1.12 ms, ITI-45 p99 1.16 ms. The
//!   feed on PostgreSQL stays far under SQLite's: every identity change waits for the
//!   advisory lock and makes its statements one round trip each.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pix_manager::config::Config;
use schemas::hl7v2::message::Message;
use schemas::hl7v2::mllp::{MllpReader, write_frame};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

const GREEN: &str = "1.3.6.1.4.1.21367.2005.13.20.2000";
const BLUE: &str = "1.3.6.1.4.1.21367.2005.13.20.3000";
/// Consonant-vowel syllables names are spelt from: a name is its rank, scrambled, written in
/// base 60 (two syllables for the first 3,600 ranks, three for the rest), so every rank has
/// its own spelling and common names do not share their first letters by construction.
const CONSONANTS: &[&str] = &["B", "D", "F", "G", "H", "K", "L", "M", "N", "P", "R", "S"];
const VOWELS: &[&str] = &["A", "E", "I", "O", "U"];
/// Distinct surnames (US census 2010: 162,253 surnames held by 100 people or more).
const SURNAMES: usize = 150_000;
/// Distinct given names (US SSA: tens of thousands of names given in a century).
const GIVEN_NAMES: usize = 20_000;
/// Zipf–Mandelbrot offsets: P(rank r) ∝ 1 / (r + q), r from 1. Surnames, q = 10: the most
/// common 0.95% (census: Smith 0.83%), the top 1,000 47% (census: about 42%). Given names,
/// q = 3: the most common 2.9%, the top 100 38%.
const SURNAME_Q: f64 = 10.0;
const GIVEN_Q: f64 = 3.0;

/// A name of `ranks` ranks drawn by frequency: the cumulative distribution, built once.
struct NameList {
    cumulative: Vec<f64>,
}

impl NameList {
    fn zipf_mandelbrot(ranks: usize, q: f64) -> Self {
        let mut total = 0.0;
        let mut cumulative: Vec<f64> = (1..=ranks)
            .map(|r| {
                total += 1.0 / (r as f64 + q);
                total
            })
            .collect();
        cumulative.iter_mut().for_each(|c| *c /= total);
        NameList { cumulative }
    }

    /// The rank (from 0) whose cumulative share first reaches `u` in [0, 1).
    fn rank(&self, u: f64) -> usize {
        self.cumulative
            .partition_point(|&c| c < u)
            .min(self.cumulative.len() - 1)
    }
}

/// The spelling of name `rank` (distinct ranks, distinct spellings).
fn spell(rank: usize) -> String {
    let base = CONSONANTS.len() * VOWELS.len();
    let (syllables, space) = if rank < base * base {
        (2, base * base)
    } else {
        (3, base * base * base)
    };
    // 7,919 is prime to the space: a bijection on it that scrambles neighbouring ranks
    let mut code = (rank.wrapping_mul(7_919) + 17) % space;
    let mut name = String::new();
    for _ in 0..syllables {
        let syllable = code % base;
        code /= base;
        name.push_str(CONSONANTS[syllable / VOWELS.len()]);
        name.push_str(VOWELS[syllable % VOWELS.len()]);
    }
    name
}

/// The synthetic population: deterministic, no data file.
struct Population {
    surnames: NameList,
    given_names: NameList,
}

/// One synthetic patient.
struct Patient {
    surname: String,
    given: String,
    dob: String,
    sex: &'static str,
}

impl Population {
    fn new() -> Self {
        Population {
            surnames: NameList::zipf_mandelbrot(SURNAMES, SURNAME_Q),
            given_names: NameList::zipf_mandelbrot(GIVEN_NAMES, GIVEN_Q),
        }
    }

    /// Patient `i`: surname and given name by frequency, sex by the given name's rank, date of
    /// birth uniform over 1925-2024 (every day of the calendar, February with 28).
    fn patient(&self, i: usize) -> Patient {
        let mut x = (i as u64)
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = || {
            x ^= x >> 33;
            x = x.wrapping_mul(0xff51afd7ed558ccd);
            x ^= x >> 33;
            x
        };
        let mut uniform = || (next() >> 11) as f64 / (1u64 << 53) as f64;
        let surname = spell(self.surnames.rank(uniform()));
        let given_rank = self.given_names.rank(uniform());
        let given = spell(given_rank);
        const DAYS: [u64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let mut day_of_year = next() % 365;
        let year = 1925 + next() % 100;
        let mut month = 0;
        while day_of_year >= DAYS[month] {
            day_of_year -= DAYS[month];
            month += 1;
        }
        Patient {
            surname,
            given,
            dob: format!("{year}{:02}{:02}", month + 1, day_of_year + 1),
            sex: if given_rank.is_multiple_of(2) {
                "F"
            } else {
                "M"
            },
        }
    }

    /// Patient `i` as BLUE has it: every 5th of them (i % 50 in 10, 30) with the surname's
    /// second letter replaced, every 5th other (i % 50 in 20, 40) with day and month swapped
    /// when the day could be a month; else exactly as GREEN.
    fn blue_patient(&self, i: usize) -> Patient {
        let mut p = self.patient(i);
        match i % 50 {
            10 | 30 => {
                let replacement = if &p.surname[1..2] == "E" { "A" } else { "E" };
                p.surname.replace_range(1..2, replacement);
            }
            20 | 40 if &p.dob[6..8] <= "12" => {
                p.dob = format!("{}{}{}", &p.dob[..4], &p.dob[6..8], &p.dob[4..6]);
            }
            _ => {}
        }
        p
    }
}

/// The allocator the PIX manager's binaries use, so the figures are theirs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The 1-minute load average, for the record.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// CPU seconds this process (server and clients) has used, from `/proc/self/stat`; a figure
/// that the other load on a busy machine disturbs less than the wall-clock rate.
fn cpu_seconds() -> f64 {
    stat_cpu_seconds("/proc/self/stat")
}

/// utime + stime of the `stat` file at `path` (a process's or a thread's), in seconds at the
/// usual 100 ticks a second; 0 when it cannot be read.
fn stat_cpu_seconds(path: impl AsRef<std::path::Path>) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

/// CPU seconds the SQLite writer thread (`mpi-sqlite-writer`, named `mpi-sqlite-writ` by the
/// kernel) has used, 0 when there is none (PostgreSQL): the one thread every identity change
/// goes through, whose time per message bounds the feed rate.
fn writer_cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != "mpi-sqlite-writ" {
            continue;
        }
        return stat_cpu_seconds(task.path().join("stat"));
    }
    0.0
}

/// Whether patient `i` is also registered in BLUE.
fn in_blue(i: usize) -> bool {
    i.is_multiple_of(10)
}

fn adt(i: usize, domain: &str, p: &Patient) -> String {
    let Patient {
        surname,
        given,
        dob,
        sex,
    } = p;
    format!(
        "MSH|^~\\&|BENCH|FAC|PIX|HIE|20260101120000||ADT^A04^ADT_A01|{domain}-{i}|P|2.5\r\
         EVN|A04|20260101120000\r\
         PID|||P{i}^^^&{domain}&ISO||{surname}^{given}||{dob}|{sex}\r\
         PV1||O\r"
    )
}

async fn exchange(reader: &mut MllpReader<TcpStream>, message: &str) -> Message {
    write_frame(reader.get_mut(), message.as_bytes())
        .await
        .expect("send");
    let frame = reader.next_frame().await.expect("answer").expect("a frame");
    Message::parse(&frame).expect("answer parses")
}

async fn connect(addr: SocketAddr) -> MllpReader<TcpStream> {
    MllpReader::new(TcpStream::connect(addr).await.expect("connect"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Where the feed's new records were matched: `ahead` on a reader connection, `writer` on the
/// SQLite writer (no reader connection, an update, or a key written since the reader's read).
fn matching_places() -> String {
    let rendered = service_kit::telemetry::metrics_handle().render();
    let counts: Vec<&str> = rendered
        .lines()
        .filter(|line| line.starts_with("pix_feed_matching_total"))
        .collect();
    counts.join(", ")
}

#[tokio::main]
async fn main() {
    let n = env("PIX_BENCH_N", 2000);
    let connections = env("PIX_BENCH_CONNECTIONS", 8).max(1);
    let queries = env("PIX_BENCH_QUERIES", 500).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        mllp_port: 0,
        http_port: 0,
        subscribers: Vec::new(),
        merge_subscribers: Vec::new(),
        database_url: std::env::var("PIX_BENCH_DATABASE_URL").unwrap_or_default(),
        ..Config::default()
    };
    let shutdown = CancellationToken::new();
    let server = pix_manager::server::start(
        &config,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        dir.path(),
        shutdown.clone(),
    )
    .await
    .expect("PIX manager starts");
    let addr = server.mllp_addr;
    println!(
        "pix_load: {n} patients (+10% in a second domain, 4 in 10 of those with a keying error), {connections} MLLP connections, {}, load {}",
        server.manager.db.backend_name(),
        load_average()
    );

    // ITI-8 feed: patient i in GREEN, every tenth also in BLUE, on connection i mod C.
    let total = n + (0..n).filter(|i| in_blue(*i)).count();
    let fed = Arc::new(AtomicUsize::new(0));
    let population = Arc::new(Population::new());
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let writer_started = writer_cpu_seconds();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..connections {
        let fed = Arc::clone(&fed);
        let population = Arc::clone(&population);
        tasks.spawn(async move {
            let mut reader = connect(addr).await;
            for i in (c..n).step_by(connections) {
                let mut messages = vec![adt(i, GREEN, &population.patient(i))];
                if in_blue(i) {
                    messages.push(adt(i, BLUE, &population.blue_patient(i)));
                }
                for message in messages {
                    let ack = exchange(&mut reader, &message).await;
                    assert_eq!(ack.get("MSA-1"), Some("AA"), "{}", ack.encode());
                    fed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let report_every = (total / 10).max(1);
    let mut next_report = report_every;
    let mut last = (0, Instant::now(), cpu_started, writer_started);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while !tasks.is_empty() {
        tokio::select! {
            joined = tasks.join_next() => {
                if let Some(result) = joined {
                    result.expect("feeder");
                }
            }
            _ = tick.tick() => {
                let done = fed.load(Ordering::Relaxed);
                if done >= next_report && done < total {
                    let now = Instant::now();
                    let cpu = cpu_seconds();
                    let writer = writer_cpu_seconds();
                    println!(
                        "  {done:>9} fed: {:>6.0} msg/s overall, {:>6.0} msg/s, {:.3} CPU ms/msg and {:.3} writer CPU ms/msg since last report, load {}",
                        done as f64 / started.elapsed().as_secs_f64(),
                        (done - last.0) as f64 / (now - last.1).as_secs_f64(),
                        (cpu - last.2) * 1000.0 / (done - last.0) as f64,
                        (writer - last.3) * 1000.0 / (done - last.0) as f64,
                        load_average()
                    );
                    last = (done, now, cpu, writer);
                    next_report = (done / report_every + 1) * report_every;
                }
            }
        }
    }
    let elapsed = started.elapsed();
    println!(
        "ITI-8 feed: {total} messages in {:.2} s = {:.0} msg/s, {:.3} CPU ms/msg, {:.3} writer CPU ms/msg ({connections} connections, load {})",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        (cpu_seconds() - cpu_started) * 1000.0 / total as f64,
        (writer_cpu_seconds() - writer_started) * 1000.0 / total as f64,
        load_average()
    );

    println!("  matched {}", matching_places());

    // ITI-9 and ITI-21 latency, one connection, sequential.
    let mut reader = connect(addr).await;
    let step = (n / 10).max(1) * 10;
    let mut pix = Vec::with_capacity(queries);
    let mut pdq = Vec::with_capacity(queries);
    for q in 0..queries {
        let i = (q * 7919 * 10) % step.max(10);
        let i = i.min(n.saturating_sub(1));
        let query = format!(
            "MSH|^~\\&|BENCH|FAC|PIX|HIE|20260101120000||QBP^Q23^QBP_Q21|Q{q}|P|2.5\r\
             QPD|IHE PIX Query|T{q}|P{i}^^^&{GREEN}&ISO|\rRCP|I\r"
        );
        let t = Instant::now();
        let rsp = exchange(&mut reader, &query).await;
        pix.push(t.elapsed());
        assert_eq!(rsp.get("MSA-1"), Some("AA"));
        let Patient {
            surname,
            given,
            dob,
            ..
        } = population.patient(i);
        let query = format!(
            "MSH|^~\\&|BENCH|FAC|PIX|HIE|20260101120000||QBP^Q22^QBP_Q21|D{q}|P|2.5\r\
             QPD|IHE PDQ Query|D{q}|@PID.5.1^{surname}~@PID.5.2^{given}~@PID.7^{dob}\rRCP|I\r"
        );
        let t = Instant::now();
        let rsp = exchange(&mut reader, &query).await;
        pdq.push(t.elapsed());
        assert_eq!(rsp.get("QAK-2"), Some("OK"), "{}", rsp.encode());
    }
    pix.sort();
    pdq.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "ITI-9  PIX query: {queries} queries, p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&pix, 0.5)),
        ms(percentile(&pix, 0.99))
    );
    println!(
        "ITI-21 PDQ query: {queries} queries, p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&pdq, 0.5)),
        ms(percentile(&pdq, 0.99))
    );
    println!("load average after the queries: {}", load_average());
    let pixv3 = pixv3_latency(&server.http_url(), n, queries).await;
    println!(
        "ITI-45 PIXV3 query: {queries} queries, p50 {:.2} ms, p99 {:.2} ms ({:.2}x ITI-9 p99)",
        ms(percentile(&pixv3, 0.5)),
        ms(percentile(&pixv3, 0.99)),
        ms(percentile(&pixv3, 0.99)) / ms(percentile(&pix, 0.99))
    );
    shutdown.cancel();
}

/// ITI-45 latencies (sorted) for the same patients as ITI-9, over one keep-alive HTTP
/// connection, sequential.
async fn pixv3_latency(url: &str, n: usize, queries: usize) -> Vec<Duration> {
    let action = schemas::soap::action::PATIENT_REGISTRY_GET_IDENTIFIERS_QUERY;
    let client = reqwest::Client::new();
    let step = (n / 10).max(1) * 10;
    let mut latencies = Vec::with_capacity(queries);
    for q in 0..queries {
        let i = ((q * 7919 * 10) % step.max(10)).min(n.saturating_sub(1));
        let body = format!(
            r#"<PRPA_IN201309UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0"><id root="1.2.3" extension="Q{q}"/><creationTime value="20260101120000"/><interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201309UV02"/><processingCode code="P"/><processingModeCode code="T"/><acceptAckCode code="AL"/><receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.3.1"/></device></receiver><sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.3.2"/></device></sender><controlActProcess classCode="CACT" moodCode="EVN"><code code="PRPA_TE201309UV02" codeSystem="2.16.840.1.113883.1.6"/><queryByParameter><queryId root="1.2.3.4" extension="Q{q}"/><statusCode code="new"/><responsePriorityCode code="I"/><parameterList><patientIdentifier><value root="{GREEN}" extension="P{i}"/><semanticsText>Patient.id</semanticsText></patientIdentifier></parameterList></queryByParameter></controlActProcess></PRPA_IN201309UV02>"#
        );
        let (envelope, _) = schemas::soap::write_request_envelope(action, url, &body);
        let t = Instant::now();
        let response = client
            .post(url)
            .header("content-type", schemas::soap::content_type(action))
            .body(envelope)
            .send()
            .await
            .expect("ITI-45 answer");
        let text = response.text().await.expect("ITI-45 body");
        latencies.push(t.elapsed());
        assert!(text.contains(r#"<queryResponseCode code="OK"/>"#), "{text}");
    }
    latencies.sort();
    latencies
}
