#!/usr/bin/env python3
"""Generate a deterministic candles CSV for the ingest benchmark.

N symbols x M 1-minute bars, random-walk prices with 2 decimals, fixed seed.
Header: symbol,tf,ts,o,h,l,c,v (ts = epoch seconds). Rows are written symbol by
symbol, each in time order. Invariants: h >= max(o, c), l <= min(o, c), all > 0.

usage: gen_candles.py [--symbols N] [--bars M] [--seed S] [--start EPOCH] OUT.csv
(OUT.csv may be '-' for stdout). Python 3 standard library only.
"""
import argparse
import random
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--bars", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--start", type=int, default=1_704_067_200,  # 2024-01-01T00:00:00Z
                    help="epoch seconds of the first bar (a multiple of 60)")
    ap.add_argument("out")
    a = ap.parse_args()
    if a.symbols <= 0 or a.bars <= 0 or a.start % 60:
        ap.error("symbols and bars must be > 0, start a multiple of 60")

    rng = random.Random(a.seed)
    out = sys.stdout if a.out == "-" else open(a.out, "w", buffering=1 << 20)
    w = out.write
    w("symbol,tf,ts,o,h,l,c,v\n")
    for s in range(a.symbols):
        sym = "SYM%04dUSDT" % s
        # prices in integer cents, so every value has exactly 2 decimals
        price = rng.randint(100, 5_000_000)            # 1.00 .. 50000.00
        vol_scale = rng.uniform(0.0005, 0.003)         # per-bar relative step
        gauss = rng.gauss
        rand = rng.random
        ts = a.start
        lines = []
        for _ in range(a.bars):
            o = price
            c = int(round(o * (1.0 + gauss(0.0, vol_scale))))
            if c < 1:
                c = 1
            hi = max(o, c)
            lo = min(o, c)
            h = hi + int(hi * vol_scale * rand())
            l = lo - int(lo * vol_scale * rand())
            if l < 1:
                l = 1
            v = int(rand() * 1_000_000) + 1                # volume, cents of units
            lines.append("%s,1m,%d,%d.%02d,%d.%02d,%d.%02d,%d.%02d,%d.%02d\n" % (
                sym, ts, o // 100, o % 100, h // 100, h % 100, l // 100, l % 100,
                c // 100, c % 100, v // 100, v % 100))
            price = c
            ts += 60
            if len(lines) >= 65536:
                w("".join(lines))
                lines.clear()
        w("".join(lines))
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
