#!/usr/bin/python3
"""pandas peer of the compute benchmark (run by bench/compute/run.sh): the `technical`
view of examples/features.yaml computed with pandas, from the stored candles to the
stored features.

  pandas_compute.py CANDLES.pkl OUT.pkl [REFERENCE]

Reads the candles (a DataFrame written by prep_candles.py with to_pickle, sorted by
symbol and ts), computes the 23 computed features per symbol (groupby on the symbol,
then Series.rolling / Series.ewm and vectorised arithmetic on each group), and
writes a DataFrame (symbol, tf, event_ts = ts + 60, the 23 features) with
to_pickle, fsync'd. Prints the seconds of read, compute and write.

Where pandas and TA-Lib define things differently, this follows TA-Lib (fstore's
definitions), as a user matching a TA-Lib-based system would:
  - EMA, RSI, ATR and MACD's EMAs are seeded like TA-Lib: the first value is the
    SMA of the first `period` values (RSI/ATR: of the first 14 gains/losses/true
    ranges), then ewm(adjust=False) (EMA alpha = 2/(n+1); Wilder alpha = 1/n). A
    plain ewm(span=20, adjust=False) starts at the first price instead and differs
    from TA-Lib for a few hundred bars; ewm(adjust=True) differs throughout.
  - MACD: both EMAs start on row 25 (the fast one seeded with the SMA of rows 14..25)
    and all three outputs start on row 33, like TA-Lib's.
  - Bollinger bands, volume z-score and realized volatility use the population
    standard deviation (std(ddof=0)); pandas' default is the sample one (ddof=1).
  - stoch raw %K is 0 when the 14-bar high equals the low, and %K starts on the row
    %D starts (17), like TA-Lib's.
  - OBV starts at the first bar's volume (TA-Lib).
  - correlation: Series.rolling(30).corr with the reference symbol's close at the
    same ts.
"""
import os
import sys
import time

import numpy as np
import pandas as pd


def seeded_ewm(x, alpha, n, begin):
    """ewm(adjust=False) seeded TA-Lib's way: the value at row begin+n-1 is the mean of
    x[begin : begin+n]; NaN before it."""
    a = x.to_numpy(dtype=np.float64, copy=True)
    at = begin + n - 1
    if len(a) <= at:
        return pd.Series(np.full(len(a), np.nan))
    a[:at] = np.nan
    a[at] = x.iloc[begin:begin + n].mean()
    return pd.Series(a).ewm(alpha=alpha, adjust=False).mean()


def technical(g, refc):
    h, l, c, v = (g[k].reset_index(drop=True) for k in ("h", "l", "c", "v"))
    out = {}
    ret = c.pct_change()
    out["returns"] = ret
    d = c.diff()
    gain, loss = d.clip(lower=0), (-d).clip(lower=0)
    ag, al = seeded_ewm(gain, 1 / 14, 14, 1), seeded_ewm(loss, 1 / 14, 14, 1)
    rsi = 100 * ag / (ag + al)
    out["rsi_14"] = rsi
    out["ema_20"] = seeded_ewm(c, 2 / 21, 20, 0)
    sma = c.rolling(20).mean()
    out["sma_20"] = sma
    fast, slow = seeded_ewm(c, 2 / 13, 12, 26 - 12), seeded_ewm(c, 2 / 27, 26, 0)
    line = fast - slow
    sig = seeded_ewm(line, 2 / 10, 9, 25)
    line = line.where(sig.notna())  # TA-Lib's MACD starts every output on row 33
    hist = line - sig
    out["macd"], out["macd_signal"], out["macd_hist"] = line, sig, hist
    sd = c.rolling(20).std(ddof=0)
    up, lo = sma + 2 * sd, sma - 2 * sd
    out["bollinger_upper"], out["bollinger_middle"], out["bollinger_lower"] = up, sma, lo
    out["bollinger_position"] = (c - lo) / (up - lo)
    pc = c.shift(1)
    tr = np.maximum(np.maximum(h - l, (h - pc).abs()), (l - pc).abs())
    atr = seeded_ewm(tr, 1 / 14, 14, 1)
    out["atr_14"] = atr
    out["atr_percentage"] = 100 * atr / c
    hh, ll = h.rolling(14).max(), l.rolling(14).min()
    raw = (100 * (c - ll) / (hh - ll)).where(hh != ll, 0.0)
    k = raw.rolling(3).mean()
    dd = k.rolling(3).mean()
    out["stoch_k"], out["stoch_d"] = k.where(dd.notna()), dd  # both start on row 17, like TA-Lib's
    vm = v.rolling(20).mean()
    out["volume_sma_ratio"] = v / vm
    out["volume_zscore"] = (v - vm) / v.rolling(20).std(ddof=0)
    s = np.sign(d)
    s.iloc[0] = 1.0
    out["obv"] = (s * v).cumsum()
    tp = (h + l + c) / 3
    out["vwap"] = (tp * v).rolling(20).sum() / v.rolling(20).sum()
    out["realized_volatility"] = np.log(c / pc).rolling(20).std(ddof=0)
    ref = pd.Series(refc.reindex(g["ts"].to_numpy()).to_numpy())
    out["market_correlation"] = c.rolling(30).corr(ref)
    # the view's two expression features
    out["price_momentum_1h"] = ret * 100
    out["momentum_score"] = (0.6 * rsi + 20 + 10 * np.sign(hist) + (ret * 1000).clip(-10, 10)).clip(0, 100)
    res = pd.DataFrame(out)
    res.insert(0, "event_ts", g["ts"].to_numpy() + 60)
    res.insert(0, "tf", g["tf"].to_numpy())
    res.insert(0, "symbol", g["symbol"].to_numpy())
    return res


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    ref_sym = sys.argv[3] if len(sys.argv) > 3 else "BTCUSDT"
    t = time.perf_counter()
    df = pd.read_pickle(src)
    t_read = time.perf_counter() - t

    t = time.perf_counter()
    btc = df[df["symbol"] == ref_sym]
    refc = pd.Series(btc["c"].to_numpy(), index=btc["ts"].to_numpy())
    parts = [technical(g, refc) for _, g in df.groupby("symbol", sort=False, observed=True)]
    res = pd.concat(parts, ignore_index=True)
    t_compute = time.perf_counter() - t

    t = time.perf_counter()
    with open(dst, "wb") as f:
        res.to_pickle(f)
        f.flush()
        os.fsync(f.fileno())
    t_write = time.perf_counter() - t
    print(f"pandas: rows={len(res)} symbols={res['symbol'].nunique()} features={res.shape[1] - 3} "
          f"read={t_read:.3f} compute={t_compute:.3f} write={t_write:.3f} pandas={pd.__version__} "
          f"numpy={np.__version__} reference={ref_sym}{'' if len(btc) else '(absent)'}")


if __name__ == "__main__":
    main()
