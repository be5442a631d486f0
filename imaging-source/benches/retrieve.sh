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
# each read to the end by curl. Prints medians, MB/s (10^6 bytes) and the ratios, and the
# service's peak RSS (VmHWM). The first RAD-69 request (printed as "cold") also reads the study's
# WADO-RS metadata from Orthanc, which imaging-source then keeps for 5 minutes (the runs after it
# only send the Retrieve Study).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${HIE_SHARED_DIR:-$ROOT/../shared}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/imaging-source
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
mkdir -p "$WORK/data"
cat > "$WORK/hie.toml" <<EOF
[general]
data_dir = "$WORK/data"
[imaging_source]
http_port = 18084
scp_port = 18112
pacs_dicomweb_url = "http://127.0.0.1:8042/dicom-web"
EOF
ip netns exec "$NS" env RUST_LOG=warn "$BIN" "$WORK/hie.toml" >"$WORK/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 1 100); do run curl -sf -o /dev/null http://127.0.0.1:18084/healthz && break; sleep 0.1; done

floor() {
  run curl -s -o /dev/null -w '%{time_total} %{size_download}\n' \
    -H 'Accept: multipart/related; type="application/dicom"' \
    "http://127.0.0.1:8042/dicom-web/studies/$STUDY_UID"
}
ours() {
  run curl -s -o /dev/null -w '%{time_total} %{size_download}\n' -X POST \
    -H 'Content-Type: application/soap+xml; charset=UTF-8; action="urn:ihe:rad:2009:RetrieveImagingDocumentSet"' \
    --data-binary "@$WORK/rad69.xml" http://127.0.0.1:18084/xdsi
}
ours_wado() {
  run curl -s -o /dev/null -w '%{time_total} %{size_download}\n' \
    -H 'Accept: multipart/related; type="application/dicom"' \
    "http://127.0.0.1:18084/dicomweb/studies/$STUDY_UID"
}
echo "== warm-up"; floor; COLD=$(ours); echo "$COLD"
: > "$WORK/floor.txt"; : > "$WORK/ours.txt"; : > "$WORK/wado.txt"
for _ in $(seq 1 "$RUNS"); do
  floor >> "$WORK/floor.txt"; ours >> "$WORK/ours.txt"; ours_wado >> "$WORK/wado.txt"
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
F=$(median "$WORK/floor.txt"); O=$(median "$WORK/ours.txt"); W=$(median "$WORK/wado.txt")
echo "study: $(find "$WORK/study" -name '*.dcm' | wc -l) instances, $STUDY_BYTES bytes"
echo "answer sizes: Orthanc $(head -1 "$WORK/floor.txt" | cut -d' ' -f2) bytes, RAD-69 $(head -1 "$WORK/ours.txt" | cut -d' ' -f2) bytes"
echo "Orthanc WADO-RS whole study (floor) runs: $(cut -d' ' -f1 "$WORK/floor.txt" | tr '\n' ' ')"
echo "RAD-69 through imaging-source runs:       $(cut -d' ' -f1 "$WORK/ours.txt" | tr '\n' ' ')"
echo "WADO-RS through imaging-source runs:      $(cut -d' ' -f1 "$WORK/wado.txt" | tr '\n' ' ')"
awk -v b="$STUDY_BYTES" -v f="$F" -v o="$O" -v w="$W" -v c="${COLD%% *}" 'BEGIN {
  printf "Orthanc WADO-RS median %.3f s = %.0f MB/s\n", f, b/1e6/f;
  printf "RAD-69 via us   median %.3f s = %.0f MB/s\n", o, b/1e6/o;
  printf "WADO-RS via us  median %.3f s = %.0f MB/s\n", w, b/1e6/w;
  printf "RAD-69 cold (first request, study metadata read) %.3f s = %.0f MB/s\n", c, b/1e6/c;
  printf "ratio RAD-69/floor (MB/s): %.0f %%\n", 100*f/o;
  printf "ratio WADO-RS via us/floor (MB/s): %.0f %%\n", 100*f/w }'
echo "imaging-source peak RSS: $(grep VmHWM /proc/$SERVICE_PID/status | awk '{print $2, $3}')"
