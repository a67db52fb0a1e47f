#!/usr/bin/python3
"""Agreement check of the training-set benchmark (bench/training/run.sh).

usage: /usr/bin/python3 check_agreement.py LABELS.csv REFERENCE.csv [NAME=OTHER.csv ...]

Every file must have the columns lid,symbol,event_ts,target,v1,v2,v3 and one row
per label, in the label file's order (lid = 0, 1, 2, ...); an OTHER file may hold
only the first N labels (a sample), compared with the reference's first N rows. Each OTHER file is
compared with REFERENCE (fstore's output) value for value: numbers after parsing
(so 63183 and 63183.0 are equal), an empty cell (null) only equal to an empty
cell. Prints the count of differing cells per file (and the first few), the null
counts of the reference, and exits 1 if any file differs or is not in label order.
"""
import sys

import numpy as np
import pandas as pd

COLS = ["lid", "symbol", "event_ts", "target", "v1", "v2", "v3"]
DT = {"lid": "int64", "symbol": "object", "event_ts": "int64", "target": "float64",
      "v1": "float64", "v2": "float64", "v3": "float64"}


def load(path):
    df = pd.read_csv(path, dtype=DT, keep_default_na=False, na_values=[""])
    if list(df.columns) != COLS:
        raise SystemExit(f"{path}: columns {list(df.columns)}, expected {COLS}")
    return df


def main():
    labels = pd.read_csv(sys.argv[1], dtype={"lid": "int64", "symbol": "object", "event_ts": "int64",
                                             "target": "float64"}, keep_default_na=False)
    ref = load(sys.argv[2])
    n = len(labels)
    bad_total = 0
    if len(ref) != n or not np.array_equal(ref["lid"].to_numpy(), labels["lid"].to_numpy()):
        print(f"reference {sys.argv[2]}: {len(ref)} rows, not the {n} labels in order")
        bad_total += 1
    nulls = {c: int(ref[c].isna().sum()) for c in ("v1", "v2", "v3")}
    print(f"reference {sys.argv[2]}: {len(ref)} rows; nulls v1={nulls['v1']} v2={nulls['v2']} v3={nulls['v3']}")
    for spec in sys.argv[3:]:
        name, path = spec.split("=", 1)
        df = load(path)
        r = ref
        note = ""
        if len(df) < len(ref) and len(df) > 0 and df["lid"].iat[-1] == len(df) - 1:
            r = ref.iloc[: len(df)]  # a sample: the first len(df) labels
            note = f" (a sample: the first {len(df)} labels)"
        elif len(df) != len(ref):
            print(f"{name}: {len(df)} rows, reference has {len(ref)}: DIFFERENT")
            bad_total += 1
            continue
        diffs = 0
        shown = 0
        for c in COLS:
            a, b = r[c].to_numpy(), df[c].to_numpy()
            if c == "symbol":
                ne = a != b
            else:
                ne = ~((a == b) | (pd.isna(a) & pd.isna(b)))
            k = int(ne.sum())
            diffs += k
            for i in np.flatnonzero(ne)[: max(0, 5 - shown)]:
                print(f"  {name} row {i} (lid {ref['lid'].iat[i]}, {ref['symbol'].iat[i]}, "
                      f"{ref['event_ts'].iat[i]}) {c}: reference {a[i]!r}, {name} {b[i]!r}")
                shown += 1
        print(f"{name} vs reference: {len(df)} rows x {len(COLS)} columns{note}, {diffs} differences")
        bad_total += diffs
    print(f"agreement: {bad_total} differences in total")
    sys.exit(1 if bad_total else 0)


if __name__ == "__main__":
    main()
