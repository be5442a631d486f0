#!/usr/bin/env bash
# A 300-image CT from hospital A's PACS to hospital B's PACS through the whole exchange, against
# the same study copied directly from A to B by Orthanc itself, in the same run.
#
#   cargo build --release -p hie && bash imaging-source/benches/consumer_e2e.sh
#
# Needs root, Orthanc + DICOMweb plugin, curl, python3 with pydicom and numpy, and ../shared/tools
# (or $HIE_SHARED_DIR). Writes a 300-slice CT (~158 MB, make_study.py preset ct300), starts
# Orthanc A (:8042) and Orthanc B (:8043) in one private network namespace (orthanc_lab.sh),
# uploads the study to A, starts the release `hie up` in the same namespace with Orthanc A as its
# imaging source's PACS, then alternates RUNS times (B emptied before each):
#   - the floor: Orthanc A sends the study to Orthanc B itself, by C-STORE (POST
#     /modalities/B/store) and by its HTTP peer transfer (POST /peers/B/store);
#   - the chain: `hie publish` (RAD-68 from A's DICOMweb metadata), `hie find` (ITI-18),
#     `hie import` (ITI-43 of the manifest, RAD-69 of the 300 instances streamed from Orthanc A
#     into a fresh work folder, import reconciliation, STOW-RS into Orthanc B).
# Each run also times the chain's phases (publish, find, import) and the import's two halves
# apart (`hie retrieve` alone into a fresh folder, then `hie import` of that full folder:
# reconciliation and STOW-RS alone), and counts the CPU seconds of Orthanc A + B + hie up + the
# clients for each path (on a busy machine wall time follows CPU time). Prints each run, the
# medians, the import's peak RSS, and the chain's ratio to the faster direct copy.
# NS=NAME names the network namespace (default hie-e2e-bench-PID).
# STUDY_DIR=DIR reuses a make_study.py output instead of writing a new ct300.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${HIE_SHARED_DIR:-$ROOT/../shared}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${HIE_BIN:-$TARGET/release/hie}
RUNS=${RUNS:-3}
export NS=${NS:-hie-e2e-bench-$$}
[ -x "$BIN" ] || { echo "build it first: cargo build --release -p hie" >&2; exit 1; }
for tool in orthanc_lab.sh make_study.py; do
  [ -f "$SHARED/tools/$tool" ] || { echo "$SHARED/tools/$tool missing: set HIE_SHARED_DIR" >&2; exit 1; }
done
WORK=$(mktemp -d)
LAB="$SHARED/tools/orthanc_lab.sh"
cleanup() {
  [ -n "${HIE_PID:-}" ] && kill "$HIE_PID" 2>/dev/null || true
  bash "$LAB" stop "$WORK/orthanc-a" >/dev/null 2>&1 || true
  bash "$LAB" stop "$WORK/orthanc-b" >/dev/null 2>&1 || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
run() { ip netns exec "$NS" "$@"; }
A=http://127.0.0.1:8042
B=http://127.0.0.1:8043
AD_OID=1.3.6.1.4.1.21367.2005.13.20.1000
AFFINITY="IHE-E2E-1^^^&$AD_OID&ISO"
LOCAL="B-LOCAL-0042^^^HOSPB&1.2.3.4.5.6.7.9.1&ISO"

if [ -n "${STUDY_DIR:-}" ]; then
  echo "== using the study in $STUDY_DIR"; ln -s "$(realpath "$STUDY_DIR")" "$WORK/study"
else
  echo "== writing the ct300 study"
  python3 "$SHARED/tools/make_study.py" --preset ct300 --out "$WORK/study" --quiet
fi
bash "$LAB" start "$WORK/orthanc-a" 8042 4242
bash "$LAB" start "$WORK/orthanc-b" 8043 4243
STUDY_UID=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['StudyInstanceUID'])" "$WORK/study/study.json")
STUDY_BYTES=$(find -L "$WORK/study" -name '*.dcm' -printf '%s\n' | awk '{s+=$1} END {print s}')
COUNT=$(find -L "$WORK/study" -name '*.dcm' | wc -l)

echo "== uploading to Orthanc A"
find -L "$WORK/study" -name '*.dcm' | while read -r f; do
  run curl -sf -o /dev/null -X POST --data-binary "@$f" "$A/instances"
done
lookup() { run curl -sf -X POST --data-binary "$2" "$1/tools/lookup" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r[0]["ID"] if r else "")'; }
A_STUDY=$(lookup "$A" "$STUDY_UID")
run curl -sf -o /dev/null -X PUT --data-binary '["ORTHANCB", "127.0.0.1", 4243]' "$A/modalities/orthanc-b"
run curl -sf -o /dev/null -X PUT --data-binary "{\"Url\": \"$B/\"}" "$A/peers/orthanc-b"

echo "== starting hie up ($BIN) in the namespace, Orthanc A as the imaging source's PACS"
mkdir -p "$WORK/data"
cat > "$WORK/hie.toml" <<EOF
[general]
data_dir = "$WORK/data"
[registry]
accept_unknown_patients = true
[imaging_source]
pacs_dicomweb_url = "$A/dicom-web"
EOF
ip netns exec "$NS" env RUST_LOG=warn "$BIN" --config "$WORK/hie.toml" up >"$WORK/hie.log" 2>&1 &
HIE_PID=$!
for _ in $(seq 1 300); do run curl -sf -o /dev/null http://127.0.0.1:8084/healthz && break; sleep 0.1; done
run curl -sf -o /dev/null http://127.0.0.1:8084/healthz || { cat "$WORK/hie.log" >&2; exit 1; }

empty_b() {
  local id; id=$(lookup "$B" "$STUDY_UID")
  [ -z "$id" ] || run curl -sf -o /dev/null -X DELETE "$B/studies/$id"
}
count_b() { run curl -sf "$B/statistics" | python3 -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])'; }
# Seconds since $1 (an $EPOCHREALTIME), to the millisecond.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f\n", b-a}'; }
timed() { local t0=$EPOCHREALTIME; "$@" >/dev/null; since "$t0"; }
# CPU seconds used so far by Orthanc A, Orthanc B, hie up and every command this script waited
# for (the chain's clients): the machine's work, which a busy machine does not distort as much.
CLK=$(getconf CLK_TCK)
cpu() {
  local t=0 p
  for p in "$(cat "$WORK/orthanc-a/orthanc.pid")" "$(cat "$WORK/orthanc-b/orthanc.pid")" "$HIE_PID"; do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo $((t + $(awk '{print $16 + $17}' /proc/$$/stat)))
}
cpu_since() { awk -v a="$1" -v b="$(cpu)" -v c="$CLK" 'BEGIN {printf "%.2f\n", (b-a)/c}'; }
# The wall time of a command into $WORK/$1.txt, its CPU seconds into $WORK/$1-cpu.txt.
measured() { local c0 name=$1; shift; c0=$(cpu); timed "$@" >> "$WORK/$name.txt"; cpu_since "$c0" >> "$WORK/$name-cpu.txt"; }
cstore() { run curl -sf -X POST --data-binary "$A_STUDY" "$A/modalities/orthanc-b/store"; }
peer() { run curl -sf -X POST --data-binary "$A_STUDY" "$A/peers/orthanc-b/store"; }
# The chain, each phase timed into $WORK/<phase>.txt, the whole into $WORK/chain.txt; the
# import's peak RSS (KB) into $WORK/rss.txt.
chain() {
  local work="$WORK/retrieved-$1" t0 t entry c0
  c0=$(cpu); t0=$EPOCHREALTIME; t=$t0
  run "$BIN" --config "$WORK/hie.toml" publish --pacs "$A/dicom-web" --study "$STUDY_UID" --patient "$AFFINITY" >/dev/null
  since "$t" >> "$WORK/publish.txt"; t=$EPOCHREALTIME
  entry=$(run "$BIN" --config "$WORK/hie.toml" find --patient "$AFFINITY" | awk 'NR==2 {print $2}')
  since "$t" >> "$WORK/find.txt"; t=$EPOCHREALTIME
  run /usr/bin/time -f '%M' -o "$WORK/rss-$1.txt" "$BIN" --config "$WORK/hie.toml" import "$entry" \
    --pacs "$B/dicom-web" --patient "$LOCAL" --name 'Doe^Jane' --birth-date 19700101 --sex F \
    --work-dir "$work" > "$WORK/import-$1.txt"
  since "$t" >> "$WORK/import.txt"
  since "$t0" >> "$WORK/chain.txt"
  cpu_since "$c0" >> "$WORK/chain-cpu.txt"
  tail -1 "$WORK/rss-$1.txt" >> "$WORK/rss.txt"
  echo "$entry" > "$WORK/entry.txt"
}
# The import's two halves apart: RAD-69 retrieval alone into a fresh folder, then the import
# of that full folder (nothing left to fetch: reconciliation and the PACS's ingest alone).
halves() {
  local work="$WORK/halves-$1" entry t
  entry=$(cat "$WORK/entry.txt")
  t=$EPOCHREALTIME
  run "$BIN" --config "$WORK/hie.toml" retrieve "$entry" --to "$work" >/dev/null
  since "$t" >> "$WORK/retrieve-only.txt"
  t=$EPOCHREALTIME
  run "$BIN" --config "$WORK/hie.toml" import "$entry" --pacs "$B/dicom-web" --patient "$LOCAL" \
    --name 'Doe^Jane' --birth-date 19700101 --sex F --work-dir "$work" >/dev/null
  since "$t" >> "$WORK/store-only.txt"
  rm -rf "$work" "$WORK/retrieved-$1"
}
check_b() { local n; n=$(count_b); [ "$n" = "$COUNT" ] || { echo "Orthanc B holds $n instances, not $COUNT ($1)" >&2; exit 1; }; }

for f in cstore peer chain publish find import rss retrieve-only store-only cstore-cpu peer-cpu chain-cpu; do
  : > "$WORK/$f.txt"
done
for i in $(seq 1 "$RUNS"); do
  empty_b; measured cstore cstore; check_b "C-STORE"
  empty_b; measured peer peer; check_b "peer"
  empty_b; chain "$i"; check_b "chain"
  empty_b; halves "$i"; check_b "import of the retrieved folder"
done
head -2 "$WORK/import-$RUNS.txt"
median() { sort -n "$WORK/$1.txt" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
runs() { tr '\n' ' ' < "$WORK/$1.txt"; }
echo "study: $COUNT instances, $STUDY_BYTES bytes; $RUNS run(s); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Orthanc A→B C-STORE (/modalities) runs: $(runs cstore)"
echo "Orthanc A→B HTTP peer (/peers) runs:    $(runs peer)"
echo "chain publish+find+import runs:         $(runs chain)"
echo "CPU seconds (Orthanc A + B + hie up + clients), C-STORE $(runs cstore-cpu)| peer $(runs peer-cpu)| chain $(runs chain-cpu)"
awk -v b="$STUDY_BYTES" -v c="$(median cstore)" -v p="$(median peer)" -v h="$(median chain)" \
  -v pub="$(median publish)" -v fnd="$(median find)" -v imp="$(median import)" \
  -v ret="$(median retrieve-only)" -v sto="$(median store-only)" -v rss="$(median rss)" \
  -v cc="$(median cstore-cpu)" -v pc="$(median peer-cpu)" -v hc="$(median chain-cpu)" 'BEGIN {
  floor = (c < p) ? c : p;
  printf "| path | median | MB/s | vs direct copy | CPU s |\n|---|---:|---:|---:|---:|\n";
  printf "| Orthanc A→B C-STORE | %.2f s | %.0f | %.2f× | %.2f |\n", c, b/1e6/c, c/floor, cc;
  printf "| Orthanc A→B HTTP peer | %.2f s | %.0f | %.2f× | %.2f |\n", p, b/1e6/p, p/floor, pc;
  printf "| chain: publish, find, retrieve (RAD-69), import (STOW-RS) | %.2f s | %.0f | %.2f× | %.2f |\n", h, b/1e6/h, h/floor, hc;
  printf "| - hie publish (RAD-68) | %.2f s | | %.2f× |\n", pub, pub/floor;
  printf "| - hie find (ITI-18) | %.2f s | | %.2f× |\n", fnd, fnd/floor;
  printf "| - hie import (ITI-43, RAD-69 and STOW-RS overlapped; peak RSS %.0f MB) | %.2f s | %.0f | %.2f× |\n", rss/1024, imp, b/1e6/imp, imp/floor;
  printf "| apart: hie retrieve alone (RAD-69 to disk) | %.2f s | %.0f | %.2f× |\n", ret, b/1e6/ret, ret/floor;
  printf "| apart: hie import of the retrieved folder (STOW-RS alone) | %.2f s | %.0f | %.2f× |\n", sto, b/1e6/sto, sto/floor;
  printf "goal: chain ≤ 1.5× direct copy and < 15 s: %s\n", (h <= 1.5*floor && h < 15) ? "met" : "not met" }'
