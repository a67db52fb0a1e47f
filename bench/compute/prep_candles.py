#!/usr/bin/python3
"""Stores the benchmark's candles CSV for the peers of the compute benchmark,
before any timing starts (run by bench/compute/run.sh):

  OUT.pkl        a pandas DataFrame (symbol and tf categorical, ts int64, o h l c v
                 float64), sorted by symbol then ts, written with to_pickle: pandas'
                 "stored candles", read back with read_pickle (no CSV parsing in the
                 timed part).
  OUT.f64        the same columns for node/TA-Lib as raw little-endian float64, column
                 after column (ts, o, h, l, c, v), each of N rows;
  OUT.json       the symbols and where each one's rows start and end in OUT.f64.

usage: prep_candles.py CANDLES.csv OUT_PREFIX
Prints the seconds pandas' CSV parser took (informative: not part of any peer's time).
"""
import json
import sys
import time

import numpy as np
import pandas as pd


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    csv, out = sys.argv[1], sys.argv[2]
    t = time.perf_counter()
    df = pd.read_csv(csv, dtype={"symbol": "category", "tf": "category", "ts": np.int64,
                                 "o": np.float64, "h": np.float64, "l": np.float64,
                                 "c": np.float64, "v": np.float64}, engine="c")
    t_csv = time.perf_counter() - t
    df = df.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)
    t = time.perf_counter()
    df.to_pickle(out + ".pkl")
    t_pkl = time.perf_counter() - t
    n = len(df)
    with open(out + ".f64", "wb") as f:
        for col in ("ts", "o", "h", "l", "c", "v"):
            f.write(np.ascontiguousarray(df[col].to_numpy(dtype=np.float64)).tobytes())
    codes = df["symbol"].cat.codes.to_numpy()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], n]
    syms = [str(df["symbol"].iloc[s]) for s in starts]
    tfs = [str(df["tf"].iloc[s]) for s in starts]
    with open(out + ".json", "w") as f:
        json.dump({"rows": int(n), "columns": ["ts", "o", "h", "l", "c", "v"],
                   "symbols": syms, "tf": tfs, "start": starts.tolist(), "end": ends.tolist()}, f)
    print(f"prep: {n} rows, {len(syms)} symbols; pandas read_csv {t_csv:.2f} s, "
          f"to_pickle {t_pkl:.2f} s (neither is timed as compute)")


if __name__ == "__main__":
    main()
