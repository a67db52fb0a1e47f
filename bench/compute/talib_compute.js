#!/usr/bin/env node
/* TA-Lib peer of the compute benchmark (run by bench/compute/run.sh from bench/, where
 * node_modules holds talib-web): the `technical` view of examples/features.yaml
 * computed per symbol with TA-Lib's own C functions (npm talib-web: TA-Lib compiled
 * to WebAssembly), from the stored candles to the stored features.
 *
 *   node talib_compute.js CANDLES_PREFIX OUT.f64 [REFERENCE]
 *
 * Reads CANDLES_PREFIX.f64 / .json (written by prep_candles.py: raw float64 columns
 * ts,o,h,l,c,v, symbol by symbol), computes the 23 computed features per symbol, and
 * writes them to OUT.f64 as raw float64, feature after feature (N rows each, rows in
 * the input's order, NaN where there is no value), plus OUT.json naming the
 * features. Prints the seconds of: WebAssembly init, read, compute, write.
 *
 * TA-Lib's C functions are called directly through the Emscripten module with
 * correctly sized buffers and real outBegIdx/outNBElement pointers, as
 * tests/data/talib/gen_reference.js does: talib-web's JS wrapper passes one
 * aliased pointer for both and gets BBANDS and STOCH wrong (see that file).
 * The module's heap is fixed at 16 MiB (no memory growth), so the buffers are
 * allocated once, sized for the longest symbol, and reused.
 *
 * Indicators with a TA-Lib function: ROCP (returns), RSI, EMA, SMA, MACD, BBANDS,
 * ATR, NATR, STOCH (SMA smoothing), OBV, CORREL. Compositions of TA-Lib
 * functions for the others, with the last division in JS: volume_ratio =
 * v / SMA(v), volume_zscore = (v - SMA(v)) / STDDEV(v), vwap = SUM(TYPPRICE * v)
 * / SUM(v), realized_volatility = STDDEV(LN(ROCR(c, 1))). bollinger_position
 * (%b), price_momentum_1h and momentum_score are plain JS over TA-Lib's outputs. */
'use strict';
const fs = require('fs');
const path = require('path');

const prefix = process.argv[2], outPath = process.argv[3], REF = process.argv[4] || 'BTCUSDT';
if (!prefix || !outPath) {
  console.error('usage: node talib_compute.js CANDLES_PREFIX OUT.f64 [REFERENCE]');
  process.exit(1);
}
const talib = require(require.resolve('talib-web', { paths: [process.cwd(), __dirname] }));
const now = () => Number(process.hrtime.bigint()) / 1e9;

const FEATURES = ['returns', 'rsi_14', 'ema_20', 'sma_20', 'macd', 'macd_signal', 'macd_hist',
  'bollinger_upper', 'bollinger_middle', 'bollinger_lower', 'bollinger_position', 'atr_14',
  'atr_percentage', 'stoch_k', 'stoch_d', 'volume_sma_ratio', 'volume_zscore', 'obv', 'vwap',
  'realized_volatility', 'market_correlation', 'price_momentum_1h', 'momentum_score'];
const F = Object.fromEntries(FEATURES.map((f, i) => [f, i]));

(async () => {
  let t = now();
  /* Emscripten prefers fetch() when it exists, which cannot read a file path in
   * Node; hide it while the wasm loads from disk. */
  const savedFetch = globalThis.fetch;
  globalThis.fetch = undefined;
  let M;
  try { M = await talib.init(); } finally { globalThis.fetch = savedFetch; }
  const tInit = now() - t;

  /* ---- read the stored candles ---- */
  t = now();
  const meta = JSON.parse(fs.readFileSync(prefix + '.json', 'utf8'));
  const buf = fs.readFileSync(prefix + '.f64');
  const N = meta.rows;
  if (buf.length !== 6 * 8 * N) throw new Error(`${prefix}.f64: ${buf.length} bytes, expected ${48 * N}`);
  const all = new Float64Array(buf.buffer, buf.byteOffset, 6 * N);
  const col = (k) => all.subarray(k * N, (k + 1) * N);
  const TS = col(0), H = col(2), L = col(3), C = col(4), V = col(5);
  const tRead = now() - t;

  /* ---- compute ---- */
  t = now();
  const out = new Float64Array(FEATURES.length * N).fill(NaN);
  const ocol = (name) => out.subarray(F[name] * N, (F[name] + 1) * N);
  let maxRows = 0;
  for (let s = 0; s < meta.symbols.length; s++) maxRows = Math.max(maxRows, meta.end[s] - meta.start[s]);
  const bytes = 8 * maxRows;
  const alloc = () => {
    const p = M._malloc(bytes);
    if (!p) throw new Error(`wasm heap: cannot allocate ${bytes} bytes (heap is 16 MiB; symbols too long)`);
    return p;
  };
  const pH = alloc(), pL = alloc(), pC = alloc(), pV = alloc(), pR = alloc(); // inputs
  const pT1 = alloc(), pT2 = alloc();                                      // composition temporaries
  const pO = [alloc(), alloc(), alloc()];                                  // outputs
  const pBeg = M._malloc(8);
  const fns = {};
  const fn = (name) => fns[name] || (fns[name] = M['_TA_' + name]);
  let H64 = M.HEAPF64;
  /* TA_<name>(0, n-1, inputs..., opts..., &beg, &nb, outs...); returns [beg, nb]. */
  function ta(name, n, inputs, opts, nout) {
    const rc = fn(name)(0, n - 1, ...inputs, ...opts, pBeg, pBeg + 4, ...pO.slice(0, nout));
    if (rc !== 0) throw new Error(`TA_${name} failed with ${rc}`);
    return [M.HEAP32[pBeg / 4], M.HEAP32[pBeg / 4 + 1]];
  }
  /* Copies output k of the last call, aligned: row beg + j gets value j. */
  function put(dst, base, k, beg, nb) {
    H64 = M.HEAPF64;
    dst.set(H64.subarray(pO[k] / 8, pO[k] / 8 + nb), base + beg);
  }
  const refStart = meta.symbols.indexOf(REF);
  const refRows = refStart >= 0 ? meta.end[refStart] - meta.start[refStart] : 0;
  const refTs = refStart >= 0 ? TS.subarray(meta.start[refStart], meta.end[refStart]) : new Float64Array(0);
  const refC = refStart >= 0 ? C.subarray(meta.start[refStart], meta.end[refStart]) : new Float64Array(0);
  const refAligned = new Float64Array(maxRows);
  const tmp = new Float64Array(maxRows), tmp2 = new Float64Array(maxRows);

  for (let s = 0; s < meta.symbols.length; s++) {
    const a = meta.start[s], n = meta.end[s] - a;
    H64 = M.HEAPF64;
    H64.set(H.subarray(a, a + n), pH / 8);
    H64.set(L.subarray(a, a + n), pL / 8);
    H64.set(C.subarray(a, a + n), pC / 8);
    H64.set(V.subarray(a, a + n), pV / 8);
    /* the reference's close at the same ts (NaN when it has none): a merge of two sorted series */
    for (let i = 0, j = 0; i < n; i++) {
      const ts = TS[a + i];
      while (j < refRows && refTs[j] < ts) j++;
      refAligned[i] = j < refRows && refTs[j] === ts ? refC[j] : NaN;
    }
    H64.set(refAligned.subarray(0, n), pR / 8);
    const one = (name, inputs, opts, feature) => {
      const [beg, nb] = ta(name, n, inputs, opts, 1);
      put(out, F[feature] * N + a, 0, beg, nb);
    };
    one('ROCP', [pC], [1], 'returns');
    one('RSI', [pC], [14], 'rsi_14');
    one('EMA', [pC], [20], 'ema_20');
    one('SMA', [pC], [20], 'sma_20');
    {
      const [beg, nb] = ta('MACD', n, [pC], [12, 26, 9], 3);
      put(out, F.macd * N + a, 0, beg, nb);
      put(out, F.macd_signal * N + a, 1, beg, nb);
      put(out, F.macd_hist * N + a, 2, beg, nb);
    }
    {
      const [beg, nb] = ta('BBANDS', n, [pC], [20, 2, 2, 0], 3);
      put(out, F.bollinger_upper * N + a, 0, beg, nb);
      put(out, F.bollinger_middle * N + a, 1, beg, nb);
      put(out, F.bollinger_lower * N + a, 2, beg, nb);
    }
    one('ATR', [pH, pL, pC], [14], 'atr_14');
    one('NATR', [pH, pL, pC], [14], 'atr_percentage');
    {
      const [beg, nb] = ta('STOCH', n, [pH, pL, pC], [14, 3, 0, 3, 0], 2);
      put(out, F.stoch_k * N + a, 0, beg, nb);
      put(out, F.stoch_d * N + a, 1, beg, nb);
    }
    one('OBV', [pC, pV], [], 'obv');
    one('CORREL', [pC, pR], [30], 'market_correlation');
    { // volume_ratio and volume_zscore: SMA(v), STDDEV(v) (population)
      const [b1, n1] = ta('SMA', n, [pV], [20], 1);
      H64 = M.HEAPF64;
      tmp.set(H64.subarray(pO[0] / 8, pO[0] / 8 + n1));
      const [b2, n2] = ta('STDDEV', n, [pV], [20, 1], 1);
      H64 = M.HEAPF64;
      tmp2.set(H64.subarray(pO[0] / 8, pO[0] / 8 + n2));
      const vr = F.volume_sma_ratio * N + a, vz = F.volume_zscore * N + a;
      for (let j = 0; j < n1; j++) {
        const i = b1 + j, vi = V[a + i], m = tmp[j];
        out[vr + i] = m === 0 ? NaN : vi / m;
      }
      for (let j = 0; j < n2; j++) {
        const i = b2 + j, sd = tmp2[j];
        out[vz + i] = sd === 0 ? NaN : (V[a + i] - tmp[i - b1]) / sd;
      }
    }
    { // vwap = SUM(TYPPRICE * v, 20) / SUM(v, 20)
      let [b, nb] = ta('TYPPRICE', n, [pH, pL, pC], [], 1);  // beg 0
      H64 = M.HEAPF64;
      H64.copyWithin(pT1 / 8, pO[0] / 8, pO[0] / 8 + nb);
      [b, nb] = ta('MULT', n, [pT1, pV], [], 1);
      H64.copyWithin(pT2 / 8, pO[0] / 8, pO[0] / 8 + nb);
      const [bs, ns] = ta('SUM', n, [pT2], [20], 1);
      H64 = M.HEAPF64;
      tmp.set(H64.subarray(pO[0] / 8, pO[0] / 8 + ns));
      const [bv, nv] = ta('SUM', n, [pV], [20], 1);
      H64 = M.HEAPF64;
      const o = F.vwap * N + a, sv = pO[0] / 8;
      for (let j = 0; j < nv; j++) {
        const den = H64[sv + j];
        out[o + bv + j] = den === 0 ? NaN : tmp[j] / den;
      }
      void bs;
    }
    { // realized_volatility = STDDEV(LN(ROCR(c, 1)), 20), population
      const [br, nr] = ta('ROCR', n, [pC], [1], 1);
      H64 = M.HEAPF64;
      H64.copyWithin(pT1 / 8, pO[0] / 8, pO[0] / 8 + nr);
      const fnLn = fn('LN');
      if (fnLn(0, nr - 1, pT1, pBeg, pBeg + 4, pO[0]) !== 0) throw new Error('TA_LN failed');
      H64.copyWithin(pT2 / 8, pO[0] / 8, pO[0] / 8 + nr);
      const fnSd = fn('STDDEV');
      if (fnSd(0, nr - 1, pT2, 20, 1, pBeg, pBeg + 4, pO[0]) !== 0) throw new Error('TA_STDDEV failed');
      const bsd = M.HEAP32[pBeg / 4], nsd = M.HEAP32[pBeg / 4 + 1];
      put(out, F.realized_volatility * N + a, 0, br + bsd, nsd);
    }
    { // %b, price_momentum_1h, momentum_score
      const up = F.bollinger_upper * N + a, lo = F.bollinger_lower * N + a, pb = F.bollinger_position * N + a;
      const ret = F.returns * N + a, pm = F.price_momentum_1h * N + a;
      const rsi = F.rsi_14 * N + a, hist = F.macd_hist * N + a, ms = F.momentum_score * N + a;
      for (let i = 0; i < n; i++) {
        const w = out[up + i] - out[lo + i];
        out[pb + i] = w === 0 ? NaN : (C[a + i] - out[lo + i]) / w;
        const r = out[ret + i];
        out[pm + i] = r * 100;
        const h = out[hist + i];
        const sg = h > 0 ? 1 : h < 0 ? -1 : h === 0 ? 0 : NaN;
        const x = 0.6 * out[rsi + i] + 20 + 10 * sg + Math.min(Math.max(r * 1000, -10), 10);
        out[ms + i] = Math.min(Math.max(x, 0), 100);
      }
    }
  }
  const tCompute = now() - t;

  /* ---- write the stored features ---- */
  t = now();
  const fd = fs.openSync(outPath, 'w');
  const bytesOut = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  for (let off = 0; off < bytesOut.length;) // write(2) moves at most ~2 GiB per call
    off += fs.writeSync(fd, bytesOut, off, Math.min(bytesOut.length - off, 1 << 30));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.writeFileSync(outPath.replace(/\.f64$/, '') + '.json', JSON.stringify({ rows: N, features: FEATURES }));
  const tWrite = now() - t;
  console.log(`talib: rows=${N} symbols=${meta.symbols.length} init=${tInit.toFixed(3)} read=${tRead.toFixed(3)} ` +
    `compute=${tCompute.toFixed(3)} write=${tWrite.toFixed(3)} reference=${REF}${refStart < 0 ? '(absent)' : ''}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
