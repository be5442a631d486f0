#!/usr/bin/env bash
# Imaging Document Consumer: `hie retrieve` of a 300-slice CT vs reading the same study from the
# same Imaging Document Source to /dev/null, in the same run.
#
#   cargo build --release -p hie && bash imaging-source/benches/consumer_retrieve.sh
#
# Needs curl, python3 with pydicom and numpy, and ../shared/tools (or $HIE_SHARED_DIR); no peer
# service. Writes a 300-slice CT (~158 MB, make_study.py preset ct300), starts the release
# `hie up` on loopback ports 1818x, imports and publishes the study (`hie import-cd`), then
# alternates RUNS times
#   - WADO-RS whole-study GET from the source, read to the end by curl (the floor: the source's
#     serving and the loopback transfer, no consumer work), and
#   - `hie retrieve ENTRY --to DIR` (ITI-18 + ITI-43 + RAD-69, 300 files written with fsync and
#     rename, each checked), into a fresh folder each time,
# and prints medians, MB/s (10^6 bytes), the ratio, and the peak RSS of `hie retrieve`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${HIE_SHARED_DIR:-$ROOT/../shared}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
HIE=$TARGET/release/hie
RUNS=${RUNS:-5}
[ -x "$HIE" ] || { echo "build it first: cargo build --release -p hie" >&2; exit 1; }
[ -f "$SHARED/tools/make_study.py" ] || { echo "$SHARED/tools/make_study.py missing: set HIE_SHARED_DIR" >&2; exit 1; }
WORK=$(mktemp -d)
cleanup() {
  [ -n "${UP_PID:-}" ] && kill "$UP_PID" 2>/dev/null && wait "$UP_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== writing the ct300 study"
python3 "$SHARED/tools/make_study.py" --preset ct300 --out "$WORK/study" --quiet
STUDY_UID=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['StudyInstanceUID'])" "$WORK/study/study.json")
STUDY_BYTES=$(find "$WORK/study" -name '*.dcm' -printf '%s\n' | awk '{s+=$1} END {print s}')

cat > "$WORK/hie.toml" <<EOF
[general]
data_dir = "$WORK/data"
[registry]
http_port = 18181
mllp_port = 18576
accept_unknown_patients = true
[repository]
http_port = 18182
registry_url = "http://127.0.0.1:18181/xds/registry"
[imaging_source]
http_port = 18184
scp_port = 18112
[imaging_source.consumer]
registry_url = "http://127.0.0.1:18181/xds/registry"
pix_address = "127.0.0.1:18575"
[imaging_source.consumer.repositories]
"1.3.6.1.4.1.21367.2010.1.2.1125" = "http://127.0.0.1:18182/xds/repository"
[imaging_source.consumer.imaging_sources."1.3.6.1.4.1.21367.13.80.110"]
rad69_url = "http://127.0.0.1:18184/xdsi"
[pix_manager]
mllp_port = 18575
http_port = 18183
subscribers = ["127.0.0.1:18576"]
EOF
echo "== starting hie up (release)"
RUST_LOG=warn "$HIE" --config "$WORK/hie.toml" up >"$WORK/up.log" 2>&1 &
UP_PID=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:18184/healthz && break; sleep 0.1; done

echo "== importing and publishing the study"
ENTRY=$("$HIE" --config "$WORK/hie.toml" import-cd "$WORK/study" --store "$WORK/data/instances" \
  --patient 'IHE-BENCH-1^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO' \
  --registry http://127.0.0.1:18181/xds/registry --repository http://127.0.0.1:18182/xds/repository \
  | awk '/DocumentEntry uniqueId/ {print $3}')
[ -n "$ENTRY" ] || { echo "publication failed" >&2; exit 1; }

floor() {
  curl -s -o /dev/null -w '%{time_total}\n' \
    -H 'Accept: multipart/related; type="application/dicom"' \
    "http://127.0.0.1:18184/dicomweb/studies/$STUDY_UID"
}
ours() {
  local dir="$WORK/out-$1"
  /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$HIE" --config "$WORK/hie.toml" retrieve "$ENTRY" --to "$dir" >/dev/null
  [ "$(find "$dir" -name '*.dcm' | wc -l)" -eq 300 ] || { echo "retrieve incomplete" >&2; exit 1; }
  cat "$WORK/time.txt"
  rm -rf "$dir"
}
echo "== warm-up"; floor >/dev/null; ours warm >/dev/null
: > "$WORK/floor.txt"; : > "$WORK/ours.txt"
for i in $(seq 1 "$RUNS"); do floor >> "$WORK/floor.txt"; ours "$i" >> "$WORK/ours.txt"; done
median() { cut -d' ' -f"$2" "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
F=$(median "$WORK/floor.txt" 1); O=$(median "$WORK/ours.txt" 1); RSS=$(median "$WORK/ours.txt" 2)
echo "study: 300 instances, $STUDY_BYTES bytes"
echo "WADO-RS whole study to /dev/null (floor) runs: $(tr '\n' ' ' < "$WORK/floor.txt")"
echo "hie retrieve (RAD-69 to disk) runs [s KB]:     $(tr '\n' ' ' < "$WORK/ours.txt")"
awk -v b="$STUDY_BYTES" -v f="$F" -v o="$O" -v r="$RSS" 'BEGIN {
  printf "floor        median %.3f s = %.0f MB/s\n", f, b/1e6/f;
  printf "hie retrieve median %.3f s = %.0f MB/s (ratio time ours/floor %.2fx)\n", o, b/1e6/o, o/f;
  printf "hie retrieve peak RSS median %.1f MB (study %.0f MB)\n", r/1024, b/1e6 }'
