// DuckDB peer of the ingest benchmark: load the CSV into a database file.
// usage: node duckdb_ingest.js DB_FILE CSV_FILE
// Prints one line: "rows=N load_s=S checkpoint_s=S" (times measured in-process).
const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const [db, csv] = process.argv.slice(2);
  if (!db || !csv) { console.error('usage: duckdb_ingest.js DB_FILE CSV_FILE'); process.exit(1); }
  const inst = await DuckDBInstance.create(db);
  const con = await inst.connect();
  const lit = csv.replace(/'/g, "''");
  const t0 = process.hrtime.bigint();
  await con.run(`CREATE TABLE candles AS
    SELECT symbol, tf, to_timestamp(ts) AS ts, o, h, l, c, v
    FROM read_csv('${lit}', header = true, delim = ',',
      columns = {'symbol': 'VARCHAR', 'tf': 'VARCHAR', 'ts': 'BIGINT',
                 'o': 'DOUBLE', 'h': 'DOUBLE', 'l': 'DOUBLE', 'c': 'DOUBLE', 'v': 'DOUBLE'})`);
  const t1 = process.hrtime.bigint();
  await con.run('CHECKPOINT');
  const t2 = process.hrtime.bigint();
  const r = await con.runAndReadAll('SELECT count(*) FROM candles');
  const n = r.getRows()[0][0];
  const th = await con.runAndReadAll("SELECT current_setting('threads')");
  console.log(`rows=${n} load_s=${Number(t1 - t0) / 1e9} checkpoint_s=${Number(t2 - t1) / 1e9} threads=${th.getRows()[0][0]}`);
  con.closeSync && con.closeSync();
  inst.closeSync && inst.closeSync();
}
main().catch((e) => { console.error(e); process.exit(2); });
