#!/usr/bin/python3
"""Agreement check of the compute benchmark (run by bench/compute/run.sh): fstore's stored
features for a few symbols against TA-Lib's and pandas' values on the same candles.

  check_agreement.py CANDLES_PREFIX TALIB_OUT.f64 PANDAS_OUT.pkl FSTORE_DIR_OF_JSON SYMBOL...

FSTORE_DIR_OF_JSON/SYMBOL.json is `fstore --json history technical SYMBOL:1m` (the
stored rows of the view, one version per event_ts after one compute run).

For every feature and symbol it reports the largest difference, relative to the
larger of the two values and the feature's mean absolute value on that symbol
(so that a value crossing zero, like macd_hist, is not compared to 0 relative to
itself): err = |a - b| / max(|a|, |b|, mean|feature|); and the rows where one side
has a value and the other has none (warm-up alignment). Tolerances:

  fstore vs TA-Lib   1e-9 for every feature (TA-Lib functions or their compositions)
  fstore vs pandas   1e-6 (pandas' rolling sums, rolling variance and ewm recurrences
                     round differently from TA-Lib's running totals; see the report)

Exit status 0 when every feature agrees within its tolerance on every symbol, 1 otherwise.
"""
import json
import sys
from datetime import datetime, timezone

import numpy as np
import pandas as pd

TOL = {"talib": 1e-9, "pandas": 1e-6}


def iso_to_epoch(s):
    return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


def compare(a, b):
    """(max err, index of it, one-sided-missing count, both-valued count)"""
    fa, fb = np.isfinite(a), np.isfinite(b)
    both = fa & fb
    one = int(np.count_nonzero(fa != fb))
    if not both.any():
        return 0.0, -1, one, 0
    x, y = a[both], b[both]
    scale = max(np.mean(np.abs(x)), 1e-300)
    err = np.abs(x - y) / np.maximum(np.maximum(np.abs(x), np.abs(y)), scale)
    i = int(np.argmax(err))
    return float(err[i]), int(np.flatnonzero(both)[i]), one, int(both.sum())


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    prefix, ta_path, pd_path, fs_dir, syms = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    meta = json.load(open(prefix + ".json"))
    n = meta["rows"]
    ts_all = np.fromfile(prefix + ".f64", dtype="<f8", count=n)
    ta_meta = json.load(open(ta_path[:-4] + ".json"))
    features = ta_meta["features"]
    ta = np.fromfile(ta_path, dtype="<f8").reshape(len(features), n)
    pdf = pd.read_pickle(pd_path)
    worst = {}  # (peer, feature) -> (err, sym, one)
    ok = True
    for sym in syms:
        k = meta["symbols"].index(sym)
        a, e = meta["start"][k], meta["end"][k]
        ts = ts_all[a:e].astype(np.int64)
        doc = json.load(open(f"{fs_dir}/{sym}.json"))
        cols = doc["columns"]
        rows = doc["rows"]
        ev = np.array([iso_to_epoch(r[0]) for r in rows], dtype=np.int64)
        if len(ev) != len(ts) or not np.array_equal(ev, ts + 60):
            print(f"check: {sym}: fstore holds {len(ev)} rows, the candles {len(ts)}; event_ts do not line up")
            ok = False
            continue
        fs_vals = {f: np.array([np.nan if r[cols.index(f)] is None else r[cols.index(f)] for r in rows],
                               dtype=np.float64) for f in features}
        p = pdf[pdf["symbol"] == sym]
        if not np.array_equal(p["event_ts"].to_numpy(), ts + 60):
            print(f"check: {sym}: pandas rows do not line up with the candles")
            ok = False
            continue
        for f_i, f in enumerate(features):
            for peer, other in (("talib", ta[f_i, a:e]), ("pandas", p[f].to_numpy(dtype=np.float64))):
                err, at, one, nboth = compare(fs_vals[f], other)
                w = worst.setdefault((peer, f), [0.0, sym, 0, 0])
                if err > w[0]:
                    w[0], w[1] = err, sym
                w[2] += one
                w[3] += nboth
    print(f"agreement on {', '.join(syms)} ({len(syms)} symbols; err = |a-b| / max(|a|, |b|, mean|feature|)):")
    print()
    print("| feature | rows compared | fstore vs TA-Lib max err | rows valued on one side only | fstore vs pandas max err | rows valued on one side only |")
    print("|---|---:|---:|---:|---:|---:|")
    bad = []
    for f in features:
        cells = [str(worst[("talib", f)][3])]
        for peer in ("talib", "pandas"):
            err, sym, one, nboth = worst[(peer, f)]
            cells += [f"{err:.1e}", str(one)]
            if err > TOL[peer] or one:
                bad.append(f"{peer}:{f} (err {err:.2e} on {sym}, {one} one-sided rows)")
        print(f"| {f} | " + " | ".join(cells) + " |")
    print()
    if bad:
        print("check: DISAGREE beyond tolerance (talib 1e-9, pandas 1e-6): " + "; ".join(bad))
        ok = False
    else:
        print("check: every feature agrees: fstore vs TA-Lib within 1e-9, fstore vs pandas within 1e-6, "
              "and all three have values on the same rows")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
