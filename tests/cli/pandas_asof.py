#!/usr/bin/python3
"""Cross-check of fstore training-set against pandas.merge_asof.

usage: pandas_asof.py DATA.csv LABELS.csv TRAINING.csv VIEW:COLUMN:TTL_SECONDS...

DATA.csv holds the source rows in commit order (symbol, ts, x, y); a later
row with the same (symbol, ts) is a correction and replaces the earlier one,
as fstore's tie rule says. For each view, pandas joins backward by symbol
with tolerance = TTL (0: none), exact matches allowed; the training set's
column must be equal value for value (both empty where pandas finds none).
Exit 0 when every cell agrees, 1 with the first differences otherwise."""
import sys

import pandas as pd

data = pd.read_csv(sys.argv[1])
labels = pd.read_csv(sys.argv[2])
got = pd.read_csv(sys.argv[3])
data["ts"] = pd.to_datetime(data["ts"], unit="s")
data = data.drop_duplicates(["symbol", "ts"], keep="last").sort_values("ts")
labels["t"] = pd.to_datetime(labels["event_ts"], unit="s")
labels["order"] = range(len(labels))
bad = 0
for spec in sys.argv[4:]:
    name, column, ttl = spec.split(":")
    kw = {"tolerance": pd.Timedelta(seconds=int(ttl))} if int(ttl) else {}
    joined = pd.merge_asof(labels.sort_values("t"), data[["symbol", "ts", column]],
                           left_on="t", right_on="ts", by="symbol", direction="backward",
                           allow_exact_matches=True, **kw).sort_values("order")
    want = joined[column].to_numpy()
    have = got[name].to_numpy()
    for i, (w, h) in enumerate(zip(want, have)):
        if not ((pd.isna(w) and pd.isna(h)) or w == h):
            bad += 1
            if bad <= 5:
                print(f"row {i} {name}: pandas {w!r}, fstore {h!r}")
print(f"pandas merge_asof cross-check: {len(labels)} labels, {len(sys.argv) - 4} views, {bad} differences")
sys.exit(1 if bad else 0)
