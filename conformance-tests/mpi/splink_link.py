#!/usr/bin/env python3
"""Reference linkage with splink (pinned 5.0.0, DuckDB backend): a Fellegi-Sunter model trained
by EM, the baseline the MPI matching engine is compared with.

    splink_link.py --input records.csv --output links.csv [--threshold 0.99]

Input: the `hie mpi link` CSV (rec_id, optional domain, demographics). Output: a header row and
every pair of rec_ids within one cluster of pairwise predictions at the match-probability
threshold (the same "all pairs within a person" links the MPI asserts).

Model: comparisons on given name, surname (Jaro-Winkler levels), date of birth (exact, one edit,
day/month swap via Damerau-Levenshtein), street number + street, suburb, postcode, state and,
when the columns hold values, sex, phone and national id; blocking on date of birth, names and
postcode; u by random sampling, m by EM sessions blocked on date of birth and on names.
"""
import argparse
import csv
import logging
import sys

import duckdb
import splink
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

COLUMNS = ["given_name", "surname", "date_of_birth", "sex", "street_number", "address_1",
           "address_2", "suburb", "postcode", "state", "phone_number", "soc_sec_id"]


def load(con, path):
    """Read the records CSV into the DuckDB table `records` (lower case, empty → NULL)."""
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    con.execute("CREATE TABLE raw AS SELECT * FROM read_csv(?, header=true, all_varchar=true)", [path]).fetchall()
    cols = []
    for c in COLUMNS:
        cols.append(f"nullif(lower(trim({c})), '') AS {c}" if c in header else f"CAST(NULL AS VARCHAR) AS {c}")
    part = lambda c: f"coalesce(lower(trim({c})), '')" if c in header else "''"
    street = f"nullif(trim({part('street_number')} || ' ' || {part('address_1')}), '') AS street"
    con.execute(f"CREATE TABLE records AS SELECT rec_id AS unique_id, {', '.join(cols)}, {street} FROM raw").fetchall()


def has_values(con, column):
    return con.execute(f"SELECT count({column}) FROM records").fetchall()[0][0] > 0


def comparisons(con):
    out = [
        cl.NameComparison("given_name"),
        cl.NameComparison("surname"),
        cl.DamerauLevenshteinAtThresholds("date_of_birth", [1, 2]),
        cl.JaroWinklerAtThresholds("street", [0.95, 0.88]),
        cl.JaroWinklerAtThresholds("suburb", [0.9]),
        cl.DamerauLevenshteinAtThresholds("postcode", [1]),
        cl.ExactMatch("state"),
    ]
    # optional columns: only when some records carry them (FEBRL has no sex or phone)
    if has_values(con, "sex"):
        out.append(cl.ExactMatch("sex"))
    if has_values(con, "phone_number"):
        out.append(cl.DamerauLevenshteinAtThresholds("phone_number", [1]))
    if has_values(con, "soc_sec_id"):
        out.append(cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--threshold", type=float, default=0.99, help="match probability for a link")
    args = ap.parse_args()

    con = duckdb.connect()
    load(con, args.input)
    blocking = [
        block_on("date_of_birth"),
        block_on("given_name", "surname"),
        block_on("surname", "postcode"),
        block_on("given_name", "postcode"),
    ]
    if has_values(con, "soc_sec_id"):
        blocking.append(block_on("soc_sec_id"))
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons(con),
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register("records"), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    pairwise = linker.inference.predict(threshold_match_probability=args.threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pairwise, threshold_match_probability=args.threshold
    ).as_record_list()

    by_cluster = {}
    for row in clusters:
        by_cluster.setdefault(row["cluster_id"], []).append(row["unique_id"])
    members = list(by_cluster.values())
    with open(args.output, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["rec_id_1", "rec_id_2"])
        for ids in members:
            for i, a in enumerate(ids):
                for b in ids[i + 1:]:
                    w.writerow([a, b])
    print(f"splink {splink.__version__}: {len(clusters)} records, {len(members)} clusters", file=sys.stderr)


if __name__ == "__main__":
    main()
