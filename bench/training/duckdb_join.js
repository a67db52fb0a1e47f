// DuckDB peer of the training-set benchmark, step 2 (timed): the three ASOF LEFT
// JOINs on the database that duckdb_load.js filled, written to a CSV file.
// usage: node duckdb_join.js DB_FILE OUT.csv
// DuckDB's ASOF JOIN has no tolerance: the TTL is applied as a CASE on the matched
// row's ts (a match older than the TTL gives NULL; both bounds inclusive, as in
// fstore). Rows come out in label order (ORDER BY lid), as fstore writes them.
// Prints one line: "open_s=S join_s=S threads=N version=V" (in-process times).
const { DuckDBInstance } = require('@duckdb/node-api');

const QUERY = (out) => `COPY (
  SELECT l.lid, l.symbol, epoch(l.event_ts)::BIGINT AS event_ts, l.target,
         a.v AS v1,
         CASE WHEN b.ts >= l.event_ts - INTERVAL 1 HOUR THEN b.v END AS v2,
         CASE WHEN c.ts >= l.event_ts - INTERVAL 5 MINUTE THEN c.v END AS v3
  FROM labels l
  ASOF LEFT JOIN f1 a ON l.symbol = a.symbol AND l.event_ts >= a.ts
  ASOF LEFT JOIN f2 b ON l.symbol = b.symbol AND l.event_ts >= b.ts
  ASOF LEFT JOIN f3 c ON l.symbol = c.symbol AND l.event_ts >= c.ts
  ORDER BY l.lid
) TO '${out.replace(/'/g, "''")}' (HEADER, DELIMITER ',')`;

async function main() {
  const [db, out] = process.argv.slice(2);
  if (!db || !out) { console.error('usage: duckdb_join.js DB_FILE OUT.csv'); process.exit(1); }
  const t0 = process.hrtime.bigint();
  const inst = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
  const con = await inst.connect();
  const t1 = process.hrtime.bigint();
  await con.run(QUERY(out));
  const t2 = process.hrtime.bigint();
  const th = await con.runAndReadAll("SELECT current_setting('threads'), version()");
  const [threads, version] = th.getRows()[0];
  console.log(`open_s=${(Number(t1 - t0) / 1e9).toFixed(3)} join_s=${(Number(t2 - t1) / 1e9).toFixed(3)} threads=${threads} version=${version}`);
  if (process.env.DUCKDB_EXPLAIN) {
    const r = await con.runAndReadAll(`EXPLAIN ${QUERY(out).replace(/^COPY \(/, '').replace(/\) TO '.*$/s, '')}`);
    for (const row of r.getRows()) console.log(row[1]);
  }
  con.closeSync && con.closeSync();
  inst.closeSync && inst.closeSync();
}
main().catch((e) => { console.error(e); process.exit(2); });
