-- PostgreSQL peer of the training-set benchmark, step 1 (not timed as the join).
-- psql -v dir=DATADIR -f pg_load.sql: the three sources and the labels, with the
-- index (symbol, ts) on each source, then VACUUM ANALYZE.
-- The CSVs hold epoch seconds, which timestamptz input does not take: COPY into a
-- staging table, then INSERT ... SELECT to_timestamp(ts).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP TABLE IF EXISTS f1, f2, f3, labels, stage;
CREATE UNLOGGED TABLE stage (symbol text, ts bigint, v double precision);
CREATE TABLE f1 (symbol text NOT NULL, ts timestamptz NOT NULL, v double precision);
CREATE TABLE f2 (LIKE f1);
CREATE TABLE f3 (LIKE f1);
\set f :dir '/f1.csv'
COPY stage FROM :'f' (FORMAT csv, HEADER true);
INSERT INTO f1 SELECT symbol, to_timestamp(ts), v FROM stage;
TRUNCATE stage;
\set f :dir '/f2.csv'
COPY stage FROM :'f' (FORMAT csv, HEADER true);
INSERT INTO f2 SELECT symbol, to_timestamp(ts), v FROM stage;
TRUNCATE stage;
\set f :dir '/f3.csv'
COPY stage FROM :'f' (FORMAT csv, HEADER true);
INSERT INTO f3 SELECT symbol, to_timestamp(ts), v FROM stage;
DROP TABLE stage;
CREATE INDEX f1_symbol_ts ON f1 (symbol, ts);
CREATE INDEX f2_symbol_ts ON f2 (symbol, ts);
CREATE INDEX f3_symbol_ts ON f3 (symbol, ts);
CREATE UNLOGGED TABLE lstage (lid bigint, symbol text, event_ts bigint, target double precision);
\set f :dir '/labels.csv'
COPY lstage FROM :'f' (FORMAT csv, HEADER true);
CREATE TABLE labels (lid bigint PRIMARY KEY, symbol text NOT NULL, event_ts timestamptz NOT NULL,
                     target double precision);
INSERT INTO labels SELECT lid, symbol, to_timestamp(event_ts), target FROM lstage ORDER BY lid;
DROP TABLE lstage;
VACUUM ANALYZE f1;
VACUUM ANALYZE f2;
VACUUM ANALYZE f3;
VACUUM ANALYZE labels;
