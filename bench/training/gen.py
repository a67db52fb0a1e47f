#!/usr/bin/python3
"""Deterministic data of the training-set benchmark (bench/training/run.sh).

Writes into OUTDIR:
  f1.csv, f2.csv, f3.csv   three sources of entity `asset` (key `symbol`), header
                           symbol,ts,v (ts = epoch seconds, v = a random walk with
                           2 decimals); ENTITIES x ROWS rows each, entity by entity,
                           each entity in time order, (symbol, ts) unique per file
  labels.csv               LABELS label rows, header lid,symbol,event_ts,target, in
                           random time order (lid = 0..LABELS-1, the row number)

The three sources have different cadences (so that their TTLs matter differently):
  f1  gaps uniform in [1, 119] s (mean 60 s)                       view ttl 0 (forever)
  f2  gaps uniform in [23, 83] s, and with probability 1/1000 an outage
      of 1 h to 3 h (the 1 h TTL expires inside it; mean gap 60.2 s) view ttl 1h
  f3  gaps exponential, mean 60 s, at least 1 s                    view ttl 5m
Each entity starts at a random offset in [0, 1 day) after 2024-01-01T00:00:00Z; with
100,000 rows an entity spans about 69 days in each source.
Labels: 99.5 % over the ENTITIES symbols, 0.5 % over 5 unknown symbols (X000..X004);
times uniform (whole seconds) from 2 days before the first row to 1 day after the
last (so some labels precede all data, some follow it); about 1/60 of them fall
exactly on a row's time in each source.

usage: /usr/bin/python3 gen.py [--entities N] [--rows M] [--labels L] [--seed S] OUTDIR
Needs numpy and pandas (Debian python3-pandas); fixed seed, so the files are
byte-identical from run to run (on the same numpy/pandas versions).
"""
import argparse
import os

import numpy as np
import pandas as pd

START = 1_704_067_200  # 2024-01-01T00:00:00Z
DAY = 86_400


def gaps(rng, kind, m):
    if kind == "f1":
        return rng.integers(1, 120, size=m)
    if kind == "f2":
        g = rng.integers(23, 84, size=m)
        out = rng.random(m) < 0.001
        g[out] = rng.integers(3600, 3 * 3600 + 1, size=int(out.sum()))
        return g
    g = np.ceil(rng.exponential(60.0, size=m)).astype(np.int64)
    return np.maximum(g, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entities", type=int, default=100)
    ap.add_argument("--rows", type=int, default=100_000, help="rows per entity and source")
    ap.add_argument("--labels", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("outdir")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    symbols = ["S%03d" % i for i in range(a.entities)]
    lo, hi = None, None
    for si, kind in enumerate(["f1", "f2", "f3"]):
        rng = np.random.default_rng([a.seed, si])
        path = os.path.join(a.outdir, kind + ".csv")
        with open(path, "w", buffering=1 << 22) as out:
            out.write("symbol,ts,v\n")
            for sym in symbols:
                t0 = START + int(rng.integers(0, DAY))
                ts = t0 + np.concatenate(([0], np.cumsum(gaps(rng, kind, a.rows - 1))))
                cents = int(rng.integers(100_000, 10_000_000)) + np.cumsum(rng.integers(-50, 51, size=a.rows))
                lo = ts[0] if lo is None else min(lo, ts[0])
                hi = ts[-1] if hi is None else max(hi, ts[-1])
                # cents / 100 is the double nearest the 2-decimal value: it prints back as written
                df = pd.DataFrame({"symbol": sym, "ts": ts, "v": cents / 100.0})
                df.to_csv(out, header=False, index=False)
    rng = np.random.default_rng([a.seed, 99])
    n = a.labels
    unknown = ["X%03d" % i for i in range(5)]
    names = np.array(symbols + unknown)
    idx = rng.integers(0, a.entities, size=n)
    unk = rng.random(n) < 0.005
    idx[unk] = a.entities + rng.integers(0, len(unknown), size=int(unk.sum()))
    t = rng.integers(int(lo) - 2 * DAY, int(hi) + DAY + 1, size=n)
    target = np.round(rng.standard_normal(n), 4)
    lab = pd.DataFrame({"lid": np.arange(n), "symbol": names[idx], "event_ts": t, "target": target})
    lab.to_csv(os.path.join(a.outdir, "labels.csv"), index=False)
    print(f"gen: {a.entities} entities x {a.rows} rows x 3 sources, {n} labels; "
          f"data from {int(lo)} to {int(hi)} (epoch s); seed {a.seed}")


if __name__ == "__main__":
    main()
