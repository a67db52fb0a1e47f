#!/usr/bin/python3
"""pandas peer of the training-set benchmark (bench/training/run.sh).

usage: /usr/bin/python3 pandas_join.py DATADIR OUT.csv [object|category]

Loads f1.csv, f2.csv, f3.csv and labels.csv from DATADIR into memory first (not
timed: "the data is already in memory"), with ts as datetime64[ns]. Then, timed:
sort the labels by time and each source by time, three pandas.merge_asof (by
symbol, direction backward, allow_exact_matches=True, tolerance = the view's TTL,
none for TTL 0), put the rows back in label order and write OUT.csv with the
columns of fstore's output: lid,symbol,event_ts,target,v1,v2,v3.

The symbol column is a categorical over the union of all symbols by default
(pandas' fast path for `by`; 'object' keeps Python strings).
Prints one line: "load_s=... join_s=... sort_s=... merge_s=... write_s=... rss_after_load_kb=..."
"""
import sys
import time

import pandas as pd

VIEWS = [("f1", "v1", None), ("f2", "v2", pd.Timedelta(hours=1)), ("f3", "v3", pd.Timedelta(minutes=5))]


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    d, out = sys.argv[1], sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "category"
    t0 = time.perf_counter()
    labels = pd.read_csv(f"{d}/labels.csv", dtype={"lid": "int64", "symbol": "object",
                                                   "event_ts": "int64", "target": "float64"})
    labels["t"] = pd.to_datetime(labels["event_ts"], unit="s")
    src = {}
    for name, _, _ in VIEWS:
        df = pd.read_csv(f"{d}/{name}.csv", dtype={"symbol": "object", "ts": "int64", "v": "float64"})
        df["ts"] = pd.to_datetime(df["ts"], unit="s")
        src[name] = df
    if mode == "category":
        cats = pd.CategoricalDtype(sorted(set(labels["symbol"].unique()).union(
            *(set(df["symbol"].unique()) for df in src.values()))))
        labels["symbol"] = labels["symbol"].astype(cats)
        for df in src.values():
            df["symbol"] = df["symbol"].astype(cats)
    load_s = time.perf_counter() - t0
    rss_load = rss_kb()

    # ---- timed: sort, merge_asof x3, label order back, write ----
    t1 = time.perf_counter()
    left = labels.sort_values("t", kind="stable")
    rights = {name: src[name].sort_values("ts", kind="stable") for name, _, _ in VIEWS}
    t2 = time.perf_counter()
    for name, col, tol in VIEWS:
        r = rights[name].rename(columns={"v": col})
        kw = {"tolerance": tol} if tol is not None else {}
        left = pd.merge_asof(left, r, left_on="t", right_on="ts", by="symbol", direction="backward",
                             allow_exact_matches=True, **kw).drop(columns="ts")
    left = left.sort_values("lid")
    t3 = time.perf_counter()
    left[["lid", "symbol", "event_ts", "target", "v1", "v2", "v3"]].to_csv(out, index=False)
    t4 = time.perf_counter()
    print(f"load_s={load_s:.3f} join_s={t4 - t1:.3f} sort_s={t2 - t1:.3f} merge_s={t3 - t2:.3f} "
          f"write_s={t4 - t3:.3f} rss_after_load_kb={rss_load} pandas={pd.__version__} symbol={mode}")


if __name__ == "__main__":
    main()
