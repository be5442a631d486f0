#!/usr/bin/env python3
"""Where two linkage runs differ: the true links one run missed, grouped by what the two records
share (python stdlib only).

    misses.py RECORDS.csv TRUE_LINKS.csv OURS.csv [REFERENCE.csv]

For every true link missing from OURS.csv, the pattern of exact agreement on given name, surname,
date of birth, street address, phone and national id (`=` same, `x` different, `.` missing on a
side) and whether both records come from one source domain; with REFERENCE.csv (e.g. splink's
links), the count of those the reference found, and the true links the reference missed that we
found. Patterns are what a patient-safety MPI must read: `x==` on given name / surname / date of
birth with `=` address is a twin's pattern, `==x` a parent/child's.
"""
import argparse
import collections
import csv

FIELDS = [("given", "given_name"), ("surname", "surname"), ("dob", "date_of_birth"),
          ("street", "address_1"), ("phone", "phone_number"), ("national id", "soc_sec_id")]


def pairs(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    return {tuple(sorted(r[:2])) for r in rows if len(r) >= 2}


def pattern(a, b):
    out = []
    for _, column in FIELDS:
        x, y = a.get(column, "").strip(), b.get(column, "").strip()
        out.append("." if not x or not y else "=" if x == y else "x")
    same_domain = a.get("domain") and a.get("domain") == b.get("domain")
    return "".join(out) + (" same-domain" if same_domain else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records")
    ap.add_argument("truth")
    ap.add_argument("ours")
    ap.add_argument("reference", nargs="?")
    args = ap.parse_args()
    with open(args.records, newline="") as f:
        records = {r["rec_id"]: r for r in csv.DictReader(f)}
    truth, ours = pairs(args.truth), pairs(args.ours)
    reference = pairs(args.reference) if args.reference else set()
    missed = collections.Counter()
    found_by_reference = collections.Counter()
    for a, b in truth - ours:
        key = pattern(records[a], records[b])
        missed[key] += 1
        found_by_reference[key] += (a, b) in reference
    print(f"{len(truth)} true links, {len(truth & ours)} found, {len(truth - ours)} missed")
    print("pattern (" + " ".join(name for name, _ in FIELDS) + ")  missed"
          + ("  found by reference" if args.reference else ""))
    for key, n in missed.most_common():
        print(f"  {key:<20} {n:>6}" + (f" {found_by_reference[key]:>6}" if args.reference else ""))
    if args.reference:
        print(f"reference: {len(truth & reference)} found, {len(reference - truth)} false links; "
              f"{len((truth & ours) - reference)} true links found by us only, "
              f"{len((truth & reference) - ours)} by the reference only")


if __name__ == "__main__":
    main()
