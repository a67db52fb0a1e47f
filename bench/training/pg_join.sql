-- PostgreSQL peer of the training-set benchmark, step 2 (timed): for every label
-- row (or the first :nlabels of them, when sampling), the latest row of each
-- source at or before the label's time, by LEFT JOIN LATERAL ... ORDER BY ts DESC
-- LIMIT 1 on the index (symbol, ts); the TTL bounds the lateral scan (>= time - TTL,
-- both bounds inclusive, as in fstore). Rows in label order, written by COPY.
-- psql -v out=FILE -v nlabels=N -v rss=FILE -f pg_join.sql
\set ON_ERROR_STOP 1
SELECT pg_backend_pid() AS bpid \gset
COPY (
  SELECT l.lid, l.symbol, extract(epoch FROM l.event_ts)::bigint AS event_ts, l.target,
         a.v AS v1, b.v AS v2, c.v AS v3
  FROM (SELECT * FROM labels WHERE lid < :nlabels) l
  LEFT JOIN LATERAL (SELECT v FROM f1 WHERE f1.symbol = l.symbol AND f1.ts <= l.event_ts
                     ORDER BY f1.ts DESC LIMIT 1) a ON true
  LEFT JOIN LATERAL (SELECT v FROM f2 WHERE f2.symbol = l.symbol AND f2.ts <= l.event_ts
                       AND f2.ts >= l.event_ts - interval '1 hour'
                     ORDER BY f2.ts DESC LIMIT 1) b ON true
  LEFT JOIN LATERAL (SELECT v FROM f3 WHERE f3.symbol = l.symbol AND f3.ts <= l.event_ts
                       AND f3.ts >= l.event_ts - interval '5 minutes'
                     ORDER BY f3.ts DESC LIMIT 1) c ON true
  ORDER BY l.lid
) TO :'out' (FORMAT csv, HEADER true);
\setenv BPID :bpid
\setenv RSSFILE :rss
\! grep VmHWM /proc/$BPID/status > "$RSSFILE"
