#!/usr/bin/env bash
# Whole-study retrieve through the Imaging Document Source vs the PACS itself, in the same run.
#
#   cargo build --release -p imaging-source && bash imaging-source/benches/retrieve.sh
#
# Needs root, Orthanc + DICOMweb plugin, curl, python3 with pydicom and numpy, and ../shared/tools
# (or $HIE_SHARED_DIR). Writes a 300-slice CT (~158 MB, make_study.py preset ct300), starts
# Orthanc in a private network namespace (orthanc_lab.sh), uploads the study, starts the release
# `imaging-source` binary in the same namespace with Orthanc as its PACS (instance store empty, so
# every instance is streamed from Orthanc), then alternates RUNS times
#   - Orthanc's own WADO-RS whole-study retrieve (multipart; the floor), and
#   - RAD-69 for the 300 instances through imaging-source (MTOM answer), and
#   - WADO-RS whole study through imaging-source (relayed from Orthanc's),
# each read to the end by the same curl, in the same namespace, after the same warm-up (Orthanc's
# page cache is warm for every path). Prints per run and median MB/s (10^6 bytes of the study's
# files, the same for every path) and the ratio of each run to the floor run just before it, the
# CPU time the service and Orthanc spent per RAD-69 retrieve (ns on a CPU summed over their
# threads, /proc/PID/task/*/schedstat; median of the runs), the load average before and after,
# and the service's peak RSS (VmHWM). The first RAD-69 request (printed as "cold") also reads the study's
# WADO-RS metadata from Orthanc, which imaging-source then keeps for 5 minutes (the runs after it
# only send the Retrieve Study); nothing else is kept between requests.
#
# BASE_BIN=/path/to/other/imaging-source (e.g. a build of the main branch) also runs that binary
# on port 18085 and measures its RAD-69 in the same runs, right after the same floor run, the two
# taking turns going first (A/B in one run).
#
# Measured 2026-11-24 19:25-19:43 UTC, after the PACS answer is read off its socket 256 KiB at a
# time into recycled buffers (`dicomweb::PacsAnswer`, replacing hyper's client and its 8 KiB
# pieces) and the HTTP listener sets TCP_NODELAY. A = that (7a1de38), B = 750836d (BASE_BIN),
# RUNS=15, same runs, load average 11.2-12.3 throughout (2 cores, four helpers):
#   run 1: CPU per RAD-69 90.1 vs 104.8 ms; RAD-69 531 vs 451 MB/s = 74 % vs 63 % of the floor's
#          718; WADO-RS via us 77 %; Orthanc 166 ms of CPU per retrieve; peak RSS 66 MB.
#   run 2: CPU 95.2 vs 90.8 ms; 519 vs 537 MB/s = 75 % vs 78 % of 693; WADO-RS 77 %; RSS 71 MB.
#   run 3: CPU 92.6 vs 106.0 ms; 494 vs 494 MB/s = 72 % vs 72 % of 686; WADO-RS 66 %; RSS 63 MB.
#   Same two binaries side by side in one namespace, 12 interleaved retrieves each, `perf stat`
#   of each retrieve (load 11): 80.7 vs 94.4 ms task-clock (A 72-89, B 88-105), 1,049 vs 1,210
#   context switches. So about 13 % less CPU (3 of 4 comparisons); MB/s the same within the noise
#   of this load: the >= 90 % goal could not be checked, the machine was never quiet.
# Quiet machine, 2026-11-24 20:11 UTC (load 0.9), the same build, RUNS=7: Orthanc WADO-RS median
#   797 MB/s (757-872; Orthanc 197 ms of CPU per retrieve on this machine), RAD-69 760 MB/s
#   (650-932) = 95 % of the floor, per-run ratios to the floor run before it 0.94 0.94 0.93 0.95
#   1.08 0.82 0.97; WADO-RS through us 825 MB/s = 104 %; CPU per RAD-69 63.8 ms (59-67); peak RSS
#   49.8 MB. Two more runs at 20:43 (load 0.3-0.6): Orthanc 834 / 816 MB/s, RAD-69 838 / 879 MB/s =
#   100 % / 108 %, per-run ratios 1.08 0.94 1.17 0.98 1.32 0.94 1.05 / 1.11 1.13 1.36 0.96 0.93
#   0.95 1.17; CPU per RAD-69 58.7 / 55.8 ms, Orthanc 170 / 169 ms; peak RSS 48.4 / 48.9 MB.
# Evidence gathered (strace, perf, ss, nstat; one RAD-69 of the study):
#   - Syscalls: B 1,339 writev to curl of 131 KB median (16 hyper pieces of 8 KiB, 3 iovecs each
#     with the chunk framing) and 490 reads of 418 KB; A 404 writev of 524 KB, 836 reads of
#     256 KiB.
#   - Reading into a new 256 KiB buffer each time (first try) cost a sixth of the service's CPU
#     in page faults zeroing fresh pages (clear_page_erms, ~1,300 faults per retrieve): the pieces
#     of a buffer are still in flight when the next read needs room, so every read got new memory.
#     Buffers are now kept (20 per answer) and read into again once their pieces are all sent:
#     ~210 faults per retrieve, clear_page 2 % of the samples. What remains (perf, A): kernel
#     copies 29 % (recv 16, writev 13), the TCP send path and softirqs ~20 %, context switches
#     8 %, the multipart boundary scan (memchr) 7 %.
#   - Time to first byte: RAD-69 asks Orthanc before it answers (the request's transfer syntax is
#     not in Orthanc's metadata), so its first byte follows Orthanc's (20-90 ms of Orthanc's own
#     work on a 300-instance study in both paths): no latency of ours to hide there.
#   - Sockets: congestion control is BBR; buffers autotune (PACS connection's receive buffer
#     6.4 MB, ours to the consumer 3.9 MB send); the PACS connection at times held 3.9 MB unread:
#     under this load the relay (or curl behind it) is the slower side then, not Orthanc. No drops
#     (softnet, backlog, receive queue) and no RTO; 5 floor retrieves cost 11 retransmitted
#     segments, 5 RAD-69 50 (tail loss probes on ACKs late under load).
#   - The floor asks Orthanc as stored, RAD-69 in Explicit VR Little Endian (the request's
#     syntax): 12 interleaved pairs at load 10, Orthanc 139 vs 154 ms of CPU, 0.249 vs 0.215 s:
#     no clear difference.
# Not done: a second connection per series (the study is one series, and Orthanc and the relay
# already fill both cores); skipping the boundary scan with each part's Content-Length (Orthanc
# sends one; the scan is schemas::mtom's).
#
# Measured 2026-11-24 (2 cores shared with three other helpers' builds and benches: load average
# 7-13 throughout, so a run's MB/s swings 2x from one run to the next and the wall-clock ratios
# are those of a saturated machine; the CPU times are the steadier figure). A = this version,
# B = main at e9ae0ac (BASE_BIN, release build), RUNS=21, same runs:
#   load 7.7-8.4:  CPU per RAD-69 65.3 vs 81.4 ms; RAD-69 1090 vs 1031 MB/s = 92 % vs 87 % of
#                  the floor's 1181 (medians of the per-run ratios 0.84 vs 0.83); WADO-RS 87 %.
#   load 8.5-9.7:  CPU 67.0 vs 86.4 ms; 835 vs 803 MB/s = 90 % vs 86 % of 930 (per-run 0.87 vs
#                  0.84); WADO-RS 88 %.
#   load 9.0-10.1: CPU 75.6 vs 90.8 ms; 789 vs 762 MB/s = 76 % vs 73 % of 1040 (per-run 0.74
#                  vs 0.80); WADO-RS 76 %.
#   load 10-11.2:  CPU 81.5 vs 86.4 ms; 717 vs 728 MB/s = 78 % vs 79 % of 925 (per-run 0.81 vs
#                  0.78); WADO-RS 76 %.
#   So 6-22 % less CPU every time; MB/s within the noise of this load. Orthanc: 83-121 ms of
#   CPU per retrieve in those runs. Peak RSS of A: 60-69 MB.
# Under saturation the ratio is about that of the CPU each path needs (floor: Orthanc + curl;
# RAD-69: Orthanc + us + curl). The quiet-machine figure before this change: 72 % (649 vs
# 907 MB/s, load ~2); >= 90 % was reached only in the two least loaded runs above (B: 86-87 %).
# What changed: the relay runs in the HTTP server's connection task, which also drives the PACS
# connection (before: reqwest's connection task, a spawned relay task and hyper's server task,
# a cross-thread wake-up per 8 KiB piece). Steps, each A/B'd the same way:
#   - that change, pieces still joined into 256 KiB chunks (and no longer reallocated to 512 KiB,
#     copying what they held, when the last 8 KiB piece overflowed them, as the profile showed):
#     CPU 65.7 vs 79.9 ms (load 6.6-8.4), 75.0 vs 85.2 (8.7-9.0), 73.0 vs 84.1 (11.8);
#   - then the 8 KiB pieces relayed unjoined (B = joined): 67.7 vs 73.1, 70.4 vs 80.9, 75.7 vs
#     77.8 ms (load 11-14), MB/s the same within noise: kept.
# Profile of the service with joined chunks (perf, dwarf call graphs): 2/3 of its CPU is the
# kernel's: writev to curl 38 % (loopback delivery included), recv from Orthanc 21 %, epoll and
# futex about 8 %; user space: the multipart scan (memchr) 3 %, the join copy 3-5 %, hyper's
# 8 KiB pieces (body channel, wakers, dropping the shared read buffer) about 8 %.
# Did not help: 1 MiB relay chunks instead of 256 KiB (CPU 77.9 vs 77.0 ms, 795 vs 727 MB/s,
# same run, within noise); one tokio worker (TOKIO_WORKER_THREADS=1 against two: CPU 73 vs 80 ms
# but 419 vs 600 MB/s at load 9: one thread preempted by the other load has nowhere to go).
# Not tried then (done since, see the first block): reading the PACS answer in large reads.
# Quiet machine after the change, 2026-11-24, RUNS=7: load 3.1: RAD-69 1068 vs Orthanc 1169
# MB/s = 91 % (per-run 1.02 0.75 0.99 1.11 1.16 0.58 0.68), WADO-RS via us 94 %, CPU 57 ms vs
# Orthanc 108 ms; load 0.3: 1339 vs 1642 MB/s = 82 % (per-run 0.99 0.64 0.76 0.79 0.96 0.76
# 0.64), WADO-RS 79 %, CPU 58 vs 100 ms, peak RSS 76 MB. On the quieter machine Orthanc alone
# took 96 ms for the study and RAD-69 118 ms with the relay's CPU unchanged: the gap is latency
# and pipelining (the extra hop), not the relay's CPU.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${HIE_SHARED_DIR:-$ROOT/../shared}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/imaging-source
BASE_BIN=${BASE_BIN:-}
RUNS=${RUNS:-7}
export NS=hie-ids-bench-$$
[ -x "$BIN" ] || { echo "build it first: cargo build --release -p imaging-source" >&2; exit 1; }
for tool in orthanc_lab.sh make_study.py; do
  [ -f "$SHARED/tools/$tool" ] || { echo "$SHARED/tools/$tool missing: set HIE_SHARED_DIR" >&2; exit 1; }
done
WORK=$(mktemp -d)
LAB="$SHARED/tools/orthanc_lab.sh"
cleanup() {
  [ -n "${SERVICE_PID:-}" ] && kill "$SERVICE_PID" 2>/dev/null || true
  [ -n "${BASE_PID:-}" ] && kill "$BASE_PID" 2>/dev/null || true
  bash "$LAB" stop "$WORK/orthanc" >/dev/null 2>&1 || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== writing the ct300 study"
python3 "$SHARED/tools/make_study.py" --preset ct300 --out "$WORK/study" --quiet
bash "$LAB" start "$WORK/orthanc" 8042 4242
run() { ip netns exec "$NS" "$@"; }

echo "== uploading to Orthanc"
STUDY_UID=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['StudyInstanceUID'])" "$WORK/study/study.json")
find "$WORK/study" -name '*.dcm' | while read -r f; do
  run curl -sf -o /dev/null -X POST --data-binary "@$f" http://127.0.0.1:8042/instances
done
STUDY_BYTES=$(find "$WORK/study" -name '*.dcm' -printf '%s\n' | awk '{s+=$1} END {print s}')

echo "== RAD-69 request for every instance"
python3 - "$WORK/study/study.json" > "$WORK/rad69.xml" <<'PY'
import json, sys
study = json.load(open(sys.argv[1]))
series = "".join(
    '<xdsi:SeriesRequest seriesInstanceUID="%s">%s</xdsi:SeriesRequest>' % (
        s["SeriesInstanceUID"],
        "".join('<xdsb:DocumentRequest><xdsb:RepositoryUniqueId>1.3.6.1.4.1.21367.13.80.110'
                '</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>%s</xdsb:DocumentUniqueId>'
                '</xdsb:DocumentRequest>' % i["SOPInstanceUID"] for i in s["instances"]))
    for s in study["series"])
print('<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
      'xmlns:wsa="http://www.w3.org/2005/08/addressing"><env:Header>'
      '<wsa:Action env:mustUnderstand="1">urn:ihe:rad:2009:RetrieveImagingDocumentSet</wsa:Action>'
      '<wsa:MessageID>urn:uuid:6a5c8c4e-0000-4000-8000-000000000001</wsa:MessageID>'
      '<wsa:To>http://127.0.0.1:18084/xdsi</wsa:To></env:Header><env:Body>'
      '<xdsi:RetrieveImagingDocumentSetRequest xmlns:xdsi="urn:ihe:rad:xdsi-b:2009" '
      'xmlns:xdsb="urn:ihe:iti:xds-b:2007"><xdsi:StudyRequest studyInstanceUID="%s">%s'
      '</xdsi:StudyRequest><xdsi:TransferSyntaxUIDList><xdsi:TransferSyntaxUID>1.2.840.10008.1.2.1'
      '</xdsi:TransferSyntaxUID></xdsi:TransferSyntaxUIDList>'
      '</xdsi:RetrieveImagingDocumentSetRequest></env:Body></env:Envelope>'
      % (study["StudyInstanceUID"], series))
PY

echo "== starting imaging-source (release) in the namespace"
# start_service BINARY NAME HTTP_PORT SCP_PORT: an imaging-source with an empty instance store and
# Orthanc as its PACS, in the namespace; prints its PID.
start_service() {
  mkdir -p "$WORK/$2"
  cat > "$WORK/$2.toml" <<EOF
[general]
data_dir = "$WORK/$2"
[imaging_source]
http_port = $3
scp_port = $4
pacs_dicomweb_url = "http://127.0.0.1:8042/dicom-web"
EOF
  ip netns exec "$NS" env RUST_LOG=warn "$1" "$WORK/$2.toml" >"$WORK/$2.log" 2>&1 &
  echo $!
}
SERVICE_PID=$(start_service "$BIN" data 18084 18112)
[ -n "$BASE_BIN" ] && BASE_PID=$(start_service "$BASE_BIN" base 18085 18113)
for port in 18084 ${BASE_PID:+18085}; do
  for _ in $(seq 1 100); do run curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
done
ORTHANC_PID=$(cat "$WORK/orthanc/orthanc.pid")
# CPU time (ns on a CPU, summed over the threads it has now) a process has used so far: finer
# than the clock ticks of /proc/PID/stat (10 ms, a tenth of a retrieve).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s+=$1} END {printf "%d\n", s}'; }

floor() {
  run curl -s -o /dev/null -w '%{time_total} %{size_download}\n' \
    -H 'Accept: multipart/related; type="application/dicom"' \
    "http://127.0.0.1:8042/dicom-web/studies/$STUDY_UID"
}
rad69() {
  run curl -s -o /dev/null -w '%{time_total} %{size_download}\n' -X POST \
    -H 'Content-Type: application/soap+xml; charset=UTF-8; action="urn:ihe:rad:2009:RetrieveImagingDocumentSet"' \
    --data-binary "@$WORK/rad69.xml" "http://127.0.0.1:$1/xdsi"
}
ours_wado() {
  run curl -s -o /dev/null -w '%{time_total} %{size_download}\n' \
    -H 'Accept: multipart/related; type="application/dicom"' \
    "http://127.0.0.1:18084/dicomweb/studies/$STUDY_UID"
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== warm-up"; floor; COLD=$(rad69 18084); echo "$COLD"
if [ -n "${BASE_PID:-}" ]; then BASE_COLD=$(rad69 18085); echo "$BASE_COLD"; fi
: > "$WORK/floor.txt"; : > "$WORK/ours.txt"; : > "$WORK/wado.txt"; : > "$WORK/base.txt"
: > "$WORK/ours_cpu.txt"; : > "$WORK/base_cpu.txt"; : > "$WORK/orthanc_cpu.txt"; : > "$WORK/load.txt"
ours_rad69() {
  s0=$(cpu_ns "$SERVICE_PID"); o0=$(cpu_ns "$ORTHANC_PID")
  rad69 18084 >> "$WORK/ours.txt"
  echo $(($(cpu_ns "$SERVICE_PID") - s0)) >> "$WORK/ours_cpu.txt"
  echo $(($(cpu_ns "$ORTHANC_PID") - o0)) >> "$WORK/orthanc_cpu.txt"
}
base_rad69() {
  b0=$(cpu_ns "$BASE_PID"); rad69 18085 >> "$WORK/base.txt"
  echo $(($(cpu_ns "$BASE_PID") - b0)) >> "$WORK/base_cpu.txt"
}
# With BASE_BIN, the two RAD-69s of a run take turns going first (A B, B A, ...).
for run in $(seq 1 "$RUNS"); do
  floor >> "$WORK/floor.txt"
  if [ -z "${BASE_PID:-}" ]; then ours_rad69
  elif [ $((run % 2)) = 1 ]; then ours_rad69; base_rad69
  else base_rad69; ours_rad69
  fi
  ours_wado >> "$WORK/wado.txt"
  cut -d' ' -f1 /proc/loadavg >> "$WORK/load.txt"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# per_run FILE: the MB/s of each run in FILE.
per_run() { awk -v b="$STUDY_BYTES" '{printf "%.0f ", b/1e6/$1}' "$1"; }
# ratios FILE: each run's MB/s over that of the floor run just before it.
ratios() { paste -d' ' "$WORK/floor.txt" "$1" | awk '{printf "%.2f ", $1/$3}'; }
# cpu_ms FILE: the median of the CPU times (ns) in FILE, in ms; per_run_ms FILE: each of them.
cpu_ms() { median "$1" | awk '{printf "%.1f", $1/1e6}'; }
per_run_ms() { awk '{printf "%.0f ", $1/1e6}' "$1"; }
F=$(median "$WORK/floor.txt"); O=$(median "$WORK/ours.txt"); W=$(median "$WORK/wado.txt")
echo "study: $(find "$WORK/study" -name '*.dcm' | wc -l) instances, $STUDY_BYTES bytes"
echo "answer sizes: Orthanc $(head -1 "$WORK/floor.txt" | cut -d' ' -f2) bytes, RAD-69 $(head -1 "$WORK/ours.txt" | cut -d' ' -f2) bytes"
echo "load average before: $LOAD_BEFORE; after each run: $(tr '\n' ' ' < "$WORK/load.txt"); after: $LOAD_AFTER"
echo "Orthanc WADO-RS whole study (floor) MB/s: $(per_run "$WORK/floor.txt")"
echo "RAD-69 through imaging-source MB/s:       $(per_run "$WORK/ours.txt")"
echo "  ratio to the floor run before it:       $(ratios "$WORK/ours.txt")"
echo "WADO-RS through imaging-source MB/s:      $(per_run "$WORK/wado.txt")"
if [ -n "${BASE_PID:-}" ]; then
  echo "RAD-69 through BASE_BIN MB/s:             $(per_run "$WORK/base.txt")"
  echo "  ratio to the floor run before it:       $(ratios "$WORK/base.txt")"
fi
awk -v b="$STUDY_BYTES" -v f="$F" -v o="$O" -v w="$W" -v c="${COLD%% *}" 'BEGIN {
  printf "Orthanc WADO-RS median %.3f s = %.0f MB/s\n", f, b/1e6/f;
  printf "RAD-69 via us   median %.3f s = %.0f MB/s\n", o, b/1e6/o;
  printf "WADO-RS via us  median %.3f s = %.0f MB/s\n", w, b/1e6/w;
  printf "RAD-69 cold (first request, study metadata read) %.3f s = %.0f MB/s\n", c, b/1e6/c;
  printf "ratio RAD-69/floor (MB/s): %.0f %%\n", 100*f/o;
  printf "ratio WADO-RS via us/floor (MB/s): %.0f %%\n", 100*f/w }'
if [ -n "${BASE_PID:-}" ]; then
  awk -v b="$STUDY_BYTES" -v f="$F" -v o="$(median "$WORK/base.txt")" -v c="${BASE_COLD%% *}" 'BEGIN {
    printf "RAD-69 via BASE_BIN median %.3f s = %.0f MB/s, ratio to floor %.0f %%; cold %.3f s\n", o, b/1e6/o, 100*f/o, c }'
fi
echo "CPU per RAD-69 retrieve (median ms): imaging-source $(cpu_ms "$WORK/ours_cpu.txt")" \
  "(runs: $(per_run_ms "$WORK/ours_cpu.txt")), Orthanc $(cpu_ms "$WORK/orthanc_cpu.txt")"
if [ -n "${BASE_PID:-}" ]; then
  echo "CPU per RAD-69 retrieve (median ms): BASE_BIN $(cpu_ms "$WORK/base_cpu.txt")" \
    "(runs: $(per_run_ms "$WORK/base_cpu.txt"))"
fi
echo "imaging-source peak RSS: $(grep VmHWM /proc/$SERVICE_PID/status | awk '{print $2, $3}')"
