// DuckDB peer of the training-set benchmark, step 1 (not timed as the join):
// load the three sources and the labels into a database file.
// usage: node duckdb_load.js DB_FILE DATADIR
// Tables: f1, f2, f3 (symbol VARCHAR, ts TIMESTAMP, v DOUBLE), in file order
// (entity by entity, each in time order); labels (lid BIGINT, symbol VARCHAR,
// event_ts TIMESTAMP, target DOUBLE), in file order. Then CHECKPOINT.
// Prints one line: "load_s=S rows_f1=N rows_f2=N rows_f3=N labels=N".
const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const [db, dir] = process.argv.slice(2);
  if (!db || !dir) { console.error('usage: duckdb_load.js DB_FILE DATADIR'); process.exit(1); }
  const inst = await DuckDBInstance.create(db);
  const con = await inst.connect();
  const lit = (p) => `'${p.replace(/'/g, "''")}'`;
  const t0 = process.hrtime.bigint();
  for (const f of ['f1', 'f2', 'f3']) {
    await con.run(`CREATE OR REPLACE TABLE ${f} AS
      SELECT symbol, make_timestamp(ts * 1000000) AS ts, v
      FROM read_csv(${lit(`${dir}/${f}.csv`)}, header = true, delim = ',',
        columns = {'symbol': 'VARCHAR', 'ts': 'BIGINT', 'v': 'DOUBLE'})`);
  }
  await con.run(`CREATE OR REPLACE TABLE labels AS
    SELECT lid, symbol, make_timestamp(event_ts * 1000000) AS event_ts, target
    FROM read_csv(${lit(`${dir}/labels.csv`)}, header = true, delim = ',',
      columns = {'lid': 'BIGINT', 'symbol': 'VARCHAR', 'event_ts': 'BIGINT', 'target': 'DOUBLE'})`);
  await con.run('CHECKPOINT');
  const t1 = process.hrtime.bigint();
  const n = {};
  for (const f of ['f1', 'f2', 'f3', 'labels']) {
    const r = await con.runAndReadAll(`SELECT count(*) FROM ${f}`);
    n[f] = r.getRows()[0][0];
  }
  console.log(`load_s=${(Number(t1 - t0) / 1e9).toFixed(3)} rows_f1=${n.f1} rows_f2=${n.f2} rows_f3=${n.f3} labels=${n.labels}`);
  con.closeSync && con.closeSync();
  inst.closeSync && inst.closeSync();
}
main().catch((e) => { console.error(e); process.exit(2); });
