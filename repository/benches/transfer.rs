//! Repository transfer benchmark over HTTP on loopback, with its floors measured in the same run:
//! - ITI-41 of one 150 MB document (MTOM) vs writing 150 MB to the same disk (`dd conv=fsync`);
//! - ITI-43 of that document vs `python3 -m http.server` serving the very file the store holds;
//! - 32 concurrent ITI-43 of 1 MB documents vs 32 concurrent GETs of those files;
//! - peak RSS (VmHWM) of the repository process while it moves 150 MB (goal: under 64 MB);
//! - SHA-1 of 150 MB already in memory vs the same dd: not a goal but the ceiling of ITI-41,
//!   whose bytes all go through one SHA-1 in order (the repository computes or checks the hash);
//! - the latency of ITI-41 of a 20 kB document (a KOS manifest), 50 one after another, next to
//!   one 4 KB write with fsync on the same disk: not a goal, but where the fsyncs the submitter
//!   waits for show.
//!
//! The repository runs as its own process (the `repository` binary), the registry in-process.
//! Run: `cargo bench -p repository --bench transfer` (needs `dd` and `python3`);
//! `REPOSITORY_BIN=path` runs another build of the `repository` binary (an A/B against a base).
//!
//! Each of the five ITI-41 runs is also printed on its own: its ratio to the dd run just before it,
//! the repository's CPU time for it (its threads' `schedstat`), the bench process's own (the
//! client and the in-process registry) and the in-memory SHA-1 of that moment, with the load
//! average. On the shared machine the ratio follows the CPU share the
//! processes get; the CPU time hardly does. On 2026-11-24 (load average 7-10, other helpers
//! building): over 65 ITI-41 runs in 13 bench runs the ratio to dd went from 27 % to 124 % (median
//! about 50 %), the in-memory SHA-1 alone from 68 % to 124 % of dd, and the repository used
//! 153-232 ms of CPU per 150 MB (median about 175 ms). Of that, `perf record` puts about 45 % in
//! SHA-1 (the sha1 crate's SHA-NI code: 1.9 GB/s per CPU second, as fast as OpenSSL's; `openssl
//! speed` divides by CPU time, with `-elapsed` it showed 946 MB/s at that load), 10-20 % in the
//! copy into the aligned buffers, 6-9 % in the socket reads and 0-11 % in zeroing freshly faulted
//! pages; the client and the in-process registry used 40-60 ms. So 80 % of dd (150 MB in about
//! 155 ms) needs about 220 ms of CPU on 2 cores without a share lost to other work. Tried without
//! gain: transparent huge pages off for the process (peak RSS 24-35 instead of 45-57 MiB, but CPU
//! per ITI-41 median 180 vs 169 ms over 15 runs each), mimalloc never purging
//! (`MIMALLOC_PURGE_DELAY=-1`) and glibc's memmove without `rep movsb` (CPU medians 170 and 172 vs
//! 186 ms over 10 runs each, within the spread between sets of runs); the hasher fed before the
//! writer and the writer's queue 2 batches deeper (8 bench runs each, alternating: ITI-41/dd
//! median 51 vs 51.5 %, CPU 159 vs 165 ms, peak RSS 50-58 vs 46-53 MiB).
//!
//! 2026-11-25 (quiet machine, load 0.7-1.8; A/B runs alternate two builds through
//! `REPOSITORY_BIN`, 8-12 bench runs each, medians over their 40-60 ITI-41 of 150 MB). Timed from
//! inside (the part's read and write waits, and `/proc/thread-self/schedstat` of the SHA-1
//! thread): the single direct-writing thread was busy 90-108 ms of each 116-140 ms part (one
//! `pwritev` at a time leaves the disk idle while the thread waits for a core); three in flight
//! into space allocated ahead (ext4 serialises direct writes past the end of the file; Python
//! `os.pwrite` with `O_DIRECT` under 2 busy loops: 2,600-2,900 MB/s with 4 writers into
//! `posix_fallocate`d space against 1,600-2,200 MB/s for one) cut the repository's CPU from 155
//! to 143 ms at the same ratio. The SHA-1 thread then paced the upload: 78-85 ms of CPU, 9-46 ms
//! waiting for a core, both cores busy (`perf record -a`: 0.9 % idle during the part).
//! Moving the copy into aligned buffers off the request task (to the writing threads): no change
//! (68 vs 68 %); leaving it out altogether (an experiment writing stale buffer bytes): 74-78 %
//! against 71 %, the most that reading into the buffers could give by the copy alone; the SHA-1
//! thread at nice -10: no change. Reading the documents straight from the socket into the
//! buffers (`repository::direct_upload`) with 1 MiB buffers: 75 vs 72 % and 70 vs 68 %, MB/s
//! +7 %, the client's CPU 19 vs 25 ms (fewer, larger reads: fewer window updates); 2 MiB buffers
//! 81 vs 78 % (half the handoffs; peak RSS 30-40 MiB), 4 MiB 74 % against 80 %; two writing
//! threads instead of three 78 vs 80 %; `SO_RCVLOWAT` of 256 KiB or 1 MiB during document reads
//! 81 and 80 % against 82 %; `SO_RCVBUF` of 2 or 4 MiB 73 and 73 % against 72 %; the writing
//! threads as `SCHED_BATCH` (no wakeup preemption of the SHA-1 thread) 73 vs 77 %. This build
//! against main ecfe83d: 78 vs 73 % (MB/s 1,398 vs 1,288, repository CPU 144 vs 156 ms); the same
//! build's medians ranged from 72 % to 82 % between periods of the same morning, and three whole
//! bench runs in a slow one gave 63, 72 and 69 %. Timed from inside in a fast period, a 150 MB
//! part took 87-104 ms (the SHA-1 thread 75-80 ms of CPU, 8-24 ms waiting for a core) and the
//! content fsync, the ITI-42 registration and the index mark 5-7 ms more; in a slow one the
//! parts took 115-120 ms, the SHA-1 thread waiting 17-20 ms for bytes the client had not sent.
//!
//! Leaner ITI-41 clients and larger write batches, 2026-11-24 21:42-22:28 (load average 6.2-10.6,
//! other helpers building; the base build of main c383914 through `REPOSITORY_BIN`; kinds of run
//! interleaved; CPU per ITI-41 of 150 MB, medians of 15-85 runs): all tried without gain, the bench
//! keeps reqwest. The clients sent the same MTOM request, written by the same `MtomWriter`, from a
//! std `TcpStream` with the body framed by its Content-Length: (a) the document `sendfile`d from a
//! page-cached file: client and registry 18-26 ms against reqwest's 30-35 ms, but the repository
//! 205-211 ms against 178-181 ms in two sets (180 vs 186 ms in a first one; probably the loopback
//! receive side, charged to the repository, copying from page-cache fragments), in all 224-237
//! against 209-211 ms; with reqwest's chunked framing in 256 KiB chunks, the repository 204 vs 186
//! ms; std's `io::copy` from the file never uses sendfile to a socket and wrote 8 KiB at a time
//! (client 62-125 ms); (b) the document written from one pre-built 1 MiB buffer: repository 179 vs
//! 181 ms, client 27 vs 32 ms, in all 204 vs 209 ms, about 2 % of the shared CPU, within the
//! spread. The client's share was 20-65 ms (median about 30), less than the 40-60 ms estimated
//! above. `perf record` of the repository over the five ITI-41 (load 8): SHA-1 40 % of its samples,
//! the copy into the aligned buffers 11 %, the socket reads' copy 9 %, the loopback network work
//! run in its context (the ACKs its reads send push the client's pending segments) about 10 %,
//! context switches 4 %, the MTOM delimiter search 3 %, pinning the pages of direct writes 2 %, the
//! futex waits and wakes of the 1 MiB batch handoffs about 2 % (`strace -c`: about 1,400 futex
//! calls per ITI-41, 9 per batch, and 700 `recv` of 210 KB on average). Write batches of 2 and 4
//! MiB (fewer handoffs): repository CPU 199 and 186 ms against 201-207 ms for 1 MiB (25 and 70
//! runs, load 7.1-10.5), but the ITI-41/dd median fell (45 % and 50 % against 60 %: the pipeline
//! fills and drains in larger steps) and the peak RSS rose to 51.7 MiB with 4 MiB: kept at 1 MiB.
//! Not tried: reads larger than hyper's default ceiling of about 408 KiB per `recv` (`axum::serve`
//! has no `max_buf_size`; it would take replacing it in service-kit), and moving the aligned copy
//! off the request task (it costs the same on any thread, the hasher already carries about as much
//! CPU as the request task, the writer would leave the disk idle during each copy, and queued
//! request chunks stop hyper from reusing its read buffer).
//!
//! The content's fsyncs beside its index record and the `registered` mark without an fsync
//! (2026-11-24, quiet machine, load 1.3-2.0; this machine's dd 1400-1590 MB/s, SHA-1 in memory
//! 2020-2160 MB/s, repository CPU 172-192 ms per 150 MB in both builds), two bench runs of each
//! build alternating, the base build through `REPOSITORY_BIN` (750836d): ITI-41 150 MB/dd medians
//! 78 % and 80 % (runs 75-87 %) against 81 % and 81 % (runs 67-90 %), the same within the spread;
//! ITI-41 of 20 kB one after another: median 4.03 and 4.17 ms against 4.34 and 4.69 ms (-9 %),
//! a 4 KB write + fsync taking 0.29-0.40 ms on this disk. Peak RSS 26.8-31.2 MiB in all four.
//!
//! On the next session's machine (2026-11-24 22:38-22:58 UTC, quiet: load 0.4-2.0 falling from
//! earlier builds; this build), six bench runs: ITI-41/dd medians 68, 57 (one run disturbed:
//! an ITI-41 at 21 % with 424 ms of repository CPU), 74, 72, 71 and 74 %. ITI-41 itself ran at
//! 1,100-1,350 MB/s as on the machine before (1,169-1,235), but this machine's disk is faster:
//! dd 1,350-1,920 MB/s (1,400-1,590 before), and the SHA-1 of 150 MB in memory only 1,870-1,930
//! MB/s (101-140 % of each dd); repository CPU 151-179 ms per 150 MB, client and registry
//! 21-41 ms; the runs with a slower dd (1,360-1,450 MB/s) gave 75-81 %. A direct write of
//! 150 MiB by `dd oflag=direct` in 2 MiB blocks took 75 ms (2.1 GB/s): the disk is not what
//! holds ITI-41 back, the CPU of the one SHA-1 and the request's copies on 2 shared cores is.
//! ITI-43 92-114 % of http.server (one run 79 %), 32 concurrent ITI-43 1,348-2,125 MB/s; ITI-41
//! of 20 kB median 5.0-6.1 ms (4 KB write + fsync 0.33-0.47 ms); peak RSS 26.1-33.6 MiB.
//!
//! Peak RSS, 2026-11-24 (load 7-15): 45-65 MiB (one run 64.9 MiB, over the goal) came from
//! transparent huge pages: mimalloc madvises its arena MADV_HUGEPAGE and `smaps` showed 28 MiB
//! of AnonHugePages in it after the ITI-41 runs; and each upload allocated its 6 buffers afresh
//! (about 6,000 page faults in 5 uploads, most in the copy into them). With one pool of buffers
//! for the whole store and THP off for the process (`prctl(PR_SET_THP_DISABLE)`): peak RSS
//! 28.3 MiB after ITI-41, 31.0 MiB after ITI-43, repository CPU per ITI-41 106-128 ms (105-181
//! ms before, same load).
//!
//! Three runs each (ITI-41 five since 2026-11-24) on the shared 2-core machine (client and server
//! on the same cores), the run with the median ratio shown. With direct I/O for ITI-41 (three bench
//! runs alternating with the buffered writer, load average 8-12): ITI-41 1094 MB/s vs dd 1392 MB/s
//! (79 %; runs 79/46/88 %) where the buffered writer had 372 vs 1358 MB/s (27 %; runs 27/32/22 %);
//! ITI-43 103-774 % of http.server; peak RSS 56-62 MiB (direct) and 46-66 MiB (buffered; two more
//! alternating runs each at load 8: ITI-41/dd 44/72 % vs 41/81 %). Under a load average of 14, 15
//! ITI-41 each: median ratio 0.62 (direct) vs 0.23 (buffered): the page-cache copy, large-folio
//! compaction and writeback it avoids were about a quarter of the repository's CPU samples under
//! `perf record`. Earlier, buffered pipeline at load 2.7: ITI-41 792 vs dd 1325 MB/s (60 %), ITI-43
//! 1926 vs 1778 MB/s (108 %), peak RSS 48-53 MiB; the first FileStore (tokio file, 256 KiB
//! BufWriter, 64 KiB reads), load 3.3: ITI-41 518 vs 1392 MB/s (37 %), ITI-43 1036 vs 1187 MB/s
//! (87 %). curl as the client reads both the static server and ITI-43 at the speed this client
//! does. The 32 concurrent row had no usable floor until 2026-11-25: `python3 -m http.server`
//! listens with a backlog of 5, so 32 simultaneous connections waited for SYN retries (17 MB/s);
//! the bench now runs the same server classes with a backlog of 128 ([`STATIC_SERVER`]).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use schemas::ebrim::ResponseStatus;
use schemas::ihe::{DocumentRequest, RetrieveDocumentSetRequest};
use schemas::mtom::BodyStream;
use schemas::soap::{self, action};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use support::{Content, REPOSITORY_UID};

const MB: usize = 1_000_000;
const LARGE: usize = 150 * MB;
const SMALL: usize = MB;
const CONCURRENT: usize = 32;
const RUNS: usize = 3;
/// ITI-41 runs, each right after its own dd (the ratio that varies most with the machine's load).
const ITI41_RUNS: usize = 5;
const CHUNK: usize = 256 * 1024;
/// A KOS manifest of a large study is some tens of kilobytes.
const MANIFEST_SIZE: usize = 20_000;
const SMALL_ITI41_RUNS: usize = 50;

/// `total` bytes as `CHUNK`-sized clones of one buffer (no generation cost in the client).
fn body(total: usize) -> BodyStream {
    let block = Bytes::from((0..CHUNK).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>());
    let count = total.div_ceil(CHUNK);
    Box::pin(futures::stream::iter(0..count).map(move |n| {
        let len = CHUNK.min(total - n * CHUNK);
        Ok(block.slice(0..len))
    }))
}

struct RepositoryProcess {
    child: Child,
    url: String,
}

impl RepositoryProcess {
    async fn start(data_dir: &Path, registry_url: &str) -> Self {
        let config = data_dir.join("hie.toml");
        std::fs::create_dir_all(data_dir).expect("data folder");
        std::fs::write(
            &config,
            format!(
                "[general]\ndata_dir = {:?}\n\n[repository]\nhttp_port = 0\nregistry_url = {registry_url:?}\nmax_envelope_bytes = 16777216\n",
                data_dir.display().to_string()
            ),
        )
        .expect("config written");
        let binary = std::env::var_os("REPOSITORY_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_repository")));
        let mut child = Command::new(binary)
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the repository binary starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut url = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("repository: SOAP ") {
                url = rest.split(' ').next().unwrap_or_default().to_owned();
                break;
            }
        }
        assert!(!url.is_empty(), "the repository did not print its endpoint");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        RepositoryProcess { child, url }
    }

    /// CPU time the process's threads used so far (those still running: the runtime's workers
    /// and the blocking threads, idle ones kept for seconds, so a delta over one request counts
    /// the threads that served it).
    fn cpu_time(&self) -> Duration {
        threads_cpu_time(&format!("/proc/{}/task", self.child.id().expect("running")))
    }

    /// Peak resident set size (VmHWM) so far, in bytes.
    fn peak_rss(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .expect("VmHWM")
    }
}

/// CPU time used so far by the threads listed in `tasks` (a `/proc/<pid>/task` folder), from
/// their `schedstat`.
fn threads_cpu_time(tasks: &str) -> Duration {
    let tasks = std::fs::read_dir(tasks).expect("proc tasks");
    let nanos = tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split(' ').next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// ITI-41 of `size` bytes; the uniqueId.
async fn provide(client: &reqwest::Client, url: &str, size: usize) -> String {
    let uid = support::new_unique_id();
    let answer = support::provide_and_register_with(
        client,
        url,
        support::one_document_submission(&uid),
        vec![("Document01", Content::Part(body(size)))],
    )
    .await;
    assert_eq!(answer.status, ResponseStatus::Success, "{answer:?}");
    uid
}

/// ITI-43 of one document, the answer consumed as it streams in; the bytes received.
async fn retrieve_raw(client: &reqwest::Client, url: &str, uid: &str) -> usize {
    let request = RetrieveDocumentSetRequest {
        requests: vec![DocumentRequest {
            home_community_id: None,
            repository_unique_id: REPOSITORY_UID.to_owned(),
            document_unique_id: uid.to_owned(),
        }],
    };
    let (envelope, _) =
        soap::write_request_envelope(action::RETRIEVE_DOCUMENT_SET, url, &request.to_xml());
    let response = client
        .post(url)
        .header(
            "content-type",
            soap::content_type(action::RETRIEVE_DOCUMENT_SET),
        )
        .body(envelope)
        .send()
        .await
        .expect("ITI-43 answered");
    consume(response).await
}

async fn consume(response: reqwest::Response) -> usize {
    assert!(response.status().is_success(), "{response:?}");
    let mut stream = response.bytes_stream();
    let mut total = 0;
    while let Some(chunk) = stream.next().await {
        total += chunk.expect("body chunk").len();
    }
    total
}

fn mb_per_s(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / MB as f64 / elapsed.as_secs_f64()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `dd` of `size` bytes into `dir` with fsync: the disk's write floor, MB/s.
async fn dd_floor(dir: &Path, size: usize) -> f64 {
    let target = dir.join("dd-floor.bin");
    let started = Instant::now();
    let status = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", target.display()))
        .arg("bs=1000000")
        .arg(format!("count={}", size / MB))
        .arg("conv=fsync")
        .stderr(Stdio::null())
        .status()
        .await
        .expect("dd runs");
    let elapsed = started.elapsed();
    assert!(status.success(), "dd failed");
    std::fs::remove_file(&target).expect("dd file removed");
    mb_per_s(size, elapsed)
}

/// One 4 KB write and its fsync into `dir`: the latency floor of a durable commit, ms.
async fn fsync_floor(dir: &Path) -> f64 {
    let target = dir.join("fsync-floor.bin");
    let path = target.clone();
    let elapsed = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let started = Instant::now();
        let mut file = std::fs::File::create(&path).expect("fsync floor file");
        file.write_all(&[7u8; 4096]).expect("fsync floor write");
        file.sync_all().expect("fsync");
        started.elapsed()
    })
    .await
    .expect("fsync floor task");
    std::fs::remove_file(&target).expect("fsync floor file removed");
    elapsed.as_secs_f64() * 1000.0
}

/// SHA-1 of `size` bytes already in memory, fed as the ITI-41 body's chunks: the speed of one
/// core at the hash every ITI-41 byte goes through in order (no I/O), MB/s.
async fn sha1_ceiling(size: usize) -> f64 {
    use sha1::Digest;
    let mut chunks = body(size);
    let mut hasher = sha1::Sha1::new();
    let started = Instant::now();
    while let Some(chunk) = chunks.next().await {
        hasher.update(chunk.expect("in-memory chunk"));
    }
    let elapsed = started.elapsed();
    std::hint::black_box(hasher.finalize());
    mb_per_s(size, elapsed)
}

/// Python's `http.server` (what `python3 -m http.server` runs: `ThreadingHTTPServer` and
/// `SimpleHTTPRequestHandler`) serving `root` on a free loopback port, with a listen backlog
/// of 128 instead of its 5, so 32 simultaneous connections are accepted at once (with 5 they
/// waited for SYN retries and the 32 concurrent GETs measured 17 MB/s).
const STATIC_SERVER: &str = "
import functools, http.server, sys
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
Server(('127.0.0.1', int(sys.argv[1])), handler).serve_forever()
";

/// [`STATIC_SERVER`] serving `root` on a free loopback port.
async fn static_server(root: &Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("port")
        .port();
    let child = Command::new("python3")
        .args(["-c", STATIC_SERVER, &port.to_string()])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 http.server starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client.get(&base).send().await.is_ok() {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("python3 http.server did not answer");
}

/// The file the store holds for `uid`, relative to the store root.
async fn stored_file(data_dir: &Path, uid: &str) -> PathBuf {
    let index = repository::storage::DocumentIndex::open(&data_dir.join("repository.db"))
        .await
        .expect("index");
    let row = index
        .find_registered(REPOSITORY_UID, uid)
        .await
        .expect("index query")
        .expect("registered row");
    let key = row.key.as_str();
    PathBuf::from(&key[0..2]).join(&key[2..4]).join(key)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let shutdown = CancellationToken::new();
    let registry = support::start_registry(&dir.path().join("registry"), &shutdown).await;
    let data_dir = dir.path().join("repository");
    let repository = RepositoryProcess::start(&data_dir, &registry.endpoint_url()).await;
    let url = repository.url.clone();
    let client = reqwest::Client::new();
    let rss_start = repository.peak_rss();
    let load_start = load_average();

    // ITI-41 of 150 MB, against dd with fsync on the same disk just before it.
    let mut iti41 = Vec::new();
    let mut dd = Vec::new();
    let mut sha1 = Vec::new();
    let mut iti41_runs = Vec::new();
    let mut large = String::new();
    for _ in 0..ITI41_RUNS {
        let floor = dd_floor(&data_dir, LARGE).await;
        dd.push(floor);
        let ceiling = sha1_ceiling(LARGE).await;
        sha1.push(ceiling);
        let cpu = repository.cpu_time();
        let bench_cpu = threads_cpu_time("/proc/self/task");
        let started = Instant::now();
        large = provide(&client, &url, LARGE).await;
        let speed = mb_per_s(LARGE, started.elapsed());
        let bench_cpu = threads_cpu_time("/proc/self/task") - bench_cpu;
        iti41.push(speed);
        iti41_runs.push(format!(
            "{:.0}% ({speed:.0} vs {floor:.0} MB/s, repository CPU {} ms, client and registry {} ms, SHA-1 in memory {:.0}%)",
            100.0 * speed / floor,
            (repository.cpu_time() - cpu).as_millis(),
            bench_cpu.as_millis(),
            100.0 * ceiling / floor
        ));
    }
    let rss_after_iti41 = repository.peak_rss();

    // ITI-43 of 150 MB, against http.server serving the stored file.
    let store_root = data_dir.join("documents");
    let (_server, base) = static_server(&store_root).await;
    let large_path = stored_file(&data_dir, &large).await;
    let mut iti43 = Vec::new();
    let mut http = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let got = consume(
            client
                .get(format!("{base}/{}", large_path.display()))
                .send()
                .await
                .expect("GET"),
        )
        .await;
        http.push(mb_per_s(got, started.elapsed()));
        assert_eq!(got, LARGE);
        let started = Instant::now();
        let got = retrieve_raw(&client, &url, &large).await;
        assert!(got > LARGE, "ITI-43 returned only {got} bytes");
        iti43.push(mb_per_s(LARGE, started.elapsed()));
    }
    let rss_after_iti43 = repository.peak_rss();

    // 32 concurrent ITI-43 of 1 MB, against 32 concurrent GETs of the same files.
    let mut small = Vec::new();
    for _ in 0..CONCURRENT {
        small.push(provide(&client, &url, SMALL).await);
    }
    let mut small_paths = Vec::new();
    for uid in &small {
        small_paths.push(stored_file(&data_dir, uid).await);
    }
    let (check, parts) = support::retrieve(&url, &[(REPOSITORY_UID, &small[0])]).await;
    assert_eq!(check.response.status, ResponseStatus::Success);
    assert_eq!(parts[0].size, SMALL as u64);
    let mut iti43_concurrent = Vec::new();
    let mut http_concurrent = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let gets = small_paths.iter().map(|path| {
            let client = client.clone();
            let target = format!("{base}/{}", path.display());
            tokio::spawn(
                async move { consume(client.get(target).send().await.expect("GET")).await },
            )
        });
        for got in futures::future::join_all(gets).await {
            assert_eq!(got.expect("GET task"), SMALL);
        }
        http_concurrent.push(mb_per_s(CONCURRENT * SMALL, started.elapsed()));
        let started = Instant::now();
        let retrievals = small.iter().map(|uid| {
            let client = client.clone();
            let url = url.clone();
            let uid = uid.clone();
            tokio::spawn(async move { retrieve_raw(&client, &url, &uid).await })
        });
        for got in futures::future::join_all(retrievals).await {
            assert!(got.expect("ITI-43 task") > SMALL);
        }
        iti43_concurrent.push(mb_per_s(CONCURRENT * SMALL, started.elapsed()));
    }

    // ITI-41 of a document the size of a KOS manifest, one after another: its latency is mostly
    // the fsyncs on the submitter's wait, next to one 4 KB write with fsync on the same disk.
    let mut small_latency = Vec::new();
    let mut fsync_latency = Vec::new();
    for _ in 0..SMALL_ITI41_RUNS {
        fsync_latency.push(fsync_floor(&data_dir).await);
        let started = Instant::now();
        provide(&client, &url, MANIFEST_SIZE).await;
        small_latency.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    let dd = median(dd);
    let rows = [
        (
            "ITI-41 one 150 MB document",
            median(iti41),
            "dd bs=1MB conv=fsync",
            dd,
        ),
        (
            "SHA-1 of 150 MB in memory",
            median(sha1),
            "dd bs=1MB conv=fsync",
            dd,
        ),
        (
            "ITI-43 one 150 MB document",
            median(iti43),
            "http.server GET of the stored file",
            median(http),
        ),
        (
            "32 concurrent ITI-43 of 1 MB",
            median(iti43_concurrent),
            "http.server, 32 concurrent GETs",
            median(http_concurrent),
        ),
    ];
    println!(
        "repository transfer benchmark (median of {RUNS} runs, ITI-41 {ITI41_RUNS}, MB = 10^6 bytes, loopback)"
    );
    println!(
        "| {:<30} | {:>10} | {:<36} | {:>10} | {:>6} |",
        "operation", "MB/s", "floor", "MB/s", "ratio"
    );
    for (name, value, floor_name, floor) in rows {
        println!(
            "| {name:<30} | {value:>10.1} | {floor_name:<36} | {floor:>10.1} | {:>5.0}% |",
            100.0 * value / floor
        );
    }
    println!(
        "ITI-41 runs vs the dd just before each: {}",
        iti41_runs.join(", ")
    );
    println!(
        "ITI-41 of {MANIFEST_SIZE} bytes, {SMALL_ITI41_RUNS} one after another: median {:.2} ms; one 4 KB write + fsync on the same disk: median {:.2} ms",
        median(small_latency),
        median(fsync_latency)
    );
    println!(
        "load average {load_start} at start, {} at end (2 cores shared with the client)",
        load_average()
    );
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "repository peak RSS (VmHWM): {:.1} MiB at start, {:.1} MiB after ITI-41 150 MB, {:.1} MiB after ITI-43 150 MB (goal < 64 MiB)",
        mib(rss_start),
        mib(rss_after_iti41),
        mib(rss_after_iti43)
    );
    drop(repository);
    shutdown.cancel();
}
