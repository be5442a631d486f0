#!/usr/bin/env bash
# MPI matching accuracy, side by side with splink: precision, recall, F1, seconds, peak memory.
#
#   conformance-tests/mpi/accuracy.sh [HIE_BIN]     (or HIE_BIN=... accuracy.sh)
#
# HIE_BIN is a built `hie` binary; it is run as `$HIE_BIN mpi link --input R --output L`.
# Any binary with that command line works: before `hie mpi link` existed, the in-memory
# evaluator of the matching engine was used (see README.md):
#   cargo bench -p pix-manager --bench matching_link --no-run   # prints the executable path
#   HIE_BIN=/path/to/target/release/deps/matching_link-<hash> conformance-tests/mpi/accuracy.sh
# Datasets: the three FEBRL sets of $HIE_SHARED_DIR/data/mpi (default <repo>/../shared) and the
# hard sets written by generate.py (seeded). Needs python3 with splink (pinned in .ci/run) and
# GNU time (/usr/bin/time -v). MPI_WORK_DIR keeps the generated data and outputs (default: a
# temporary folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
hie="${1:-${HIE_BIN:-}}"
if [ -z "$hie" ] || [ ! -x "$hie" ]; then
  echo "accuracy.sh: give the hie binary as argument or \$HIE_BIN (got '${hie}')" >&2
  exit 2
fi
shared="${HIE_SHARED_DIR:-$root/../shared}"
data="$shared/data/mpi"
[ -f "$data/evaluate.py" ] || { echo "accuracy.sh: $data/evaluate.py missing (set HIE_SHARED_DIR)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "accuracy.sh: GNU time missing (apt-get install time)" >&2; exit 2; }
python3 -c "import splink" 2>/dev/null || { echo "accuracy.sh: python3 splink missing (see .ci/run)" >&2; exit 2; }
work="${MPI_WORK_DIR:-$(mktemp -d)}"
mkdir -p "$work"

python3 "$here/generate.py" --records 5000 --seed 1 --out "$work/hard-5k" >&2
python3 "$here/generate.py" --records 2000 --seed 2 --out "$work/hard-2k" >&2

# name records truth
datasets=(
  "febrl1 $data/febrl1.csv $data/febrl1_links.csv"
  "febrl2 $data/febrl2.csv $data/febrl2_links.csv"
  "febrl3 $data/febrl3.csv $data/febrl3_links.csv"
  "hard-5k $work/hard-5k/records.csv $work/hard-5k/links.csv"
  "hard-2k $work/hard-2k/records.csv $work/hard-2k/links.csv"
)

# measure OUT_PREFIX CMD...: runs CMD under GNU time; prints "seconds peak_MB"
measure() {
  local prefix="$1"; shift
  if ! /usr/bin/time -v "$@" >"$prefix.stdout" 2>"$prefix.time"; then
    echo "accuracy.sh: failed: $*" >&2
    tail -20 "$prefix.time" >&2
    exit 1
  fi
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
    /Maximum resident set size/ { kb = $2 }
    END { printf "%.2f %.0f\n", s, kb / 1024 }' "$prefix.time"
}

# score PREDICTED TRUTH: prints "precision recall f1"
score() {
  python3 "$data/evaluate.py" "$1" "$2" | awk '/^precision/ { print $2, $4, $6 }'
}

printf '| dataset | records | true links | engine | precision | recall | F1 | seconds | peak MB |\n'
printf '|---|---:|---:|---|---:|---:|---:|---:|---:|\n'
for entry in "${datasets[@]}"; do
  read -r name records truth <<<"$entry"
  n_records=$(($(wc -l <"$records") - 1))
  n_links=$(($(wc -l <"$truth") - 1))
  read -r secs mem < <(measure "$work/$name.hie" "$hie" mpi link --input "$records" --output "$work/$name.hie.csv")
  read -r p r f < <(score "$work/$name.hie.csv" "$truth")
  printf '| %s | %s | %s | hie | %s | %s | %s | %s | %s |\n' "$name" "$n_records" "$n_links" "$p" "$r" "$f" "$secs" "$mem"
  read -r secs mem < <(measure "$work/$name.splink" python3 "$here/splink_link.py" --input "$records" --output "$work/$name.splink.csv")
  read -r p r f < <(score "$work/$name.splink.csv" "$truth")
  printf '| %s | %s | %s | splink | %s | %s | %s | %s | %s |\n' "$name" "$n_records" "$n_links" "$p" "$r" "$f" "$secs" "$mem"
done
echo "outputs in $work" >&2
