/* The data directory the fuzz targets serve: a registry with two entities
 * (one and two join keys), views of every value type, services, a view that
 * is not online, some rows, computed and materialized. Built once per
 * process in a fresh temporary directory (removed at exit). */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include "fstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char FUZZ_DEFS[] =
    "entities:\n  - {name: asset, join_keys: [symbol]}\n"
    "  - {name: pair, join_keys: [symbol, venue]}\n"
    "sources:\n  - name: ticks\n    entity: asset\n    timestamp: ts\n    confidence: q\n"
    "    columns:\n      - {name: symbol, type: string}\n      - {name: ts, type: timestamp}\n"
    "      - {name: x, type: float64, min: 0}\n      - {name: n, type: int64, nullable: true}\n"
    "      - {name: tag, type: string, nullable: true}\n      - {name: ok, type: bool, nullable: true}\n"
    "      - {name: at, type: timestamp, nullable: true}\n      - {name: doc, type: json, nullable: true}\n"
    "      - {name: q, type: float64, nullable: true, min: 0, max: 1}\n"
    "  - name: quotes\n    entity: pair\n    timestamp: ts\n    available_after: 1s\n"
    "    columns:\n      - {name: symbol, type: string}\n      - {name: venue, type: string}\n"
    "      - {name: ts, type: timestamp}\n      - {name: bid, type: float64}\n"
    "views:\n"
    "  - name: v\n    entity: asset\n    source: ticks\n    ttl: 1h\n    online: true\n    features:\n"
    "      - {name: x, from: x}\n      - {name: n, from: n}\n      - {name: tag, type: categorical, from: tag}\n"
    "      - {name: ok, type: boolean, from: ok}\n      - {name: at, type: timestamp, from: at}\n"
    "      - {name: doc, type: \"vector[2]\", from: doc}\n      - {name: x2, expr: \"x * 2\"}\n"
    "      - {name: sma2, indicator: sma, params: {period: 2}, input: x}\n"
    "  - {name: w, entity: asset, source: ticks, ttl: 0, online: true, features: [{name: x, from: x}]}\n"
    "  - {name: book, entity: pair, source: quotes, online: true, features: [{name: bid, from: bid}]}\n"
    "  - {name: cold, entity: asset, source: ticks, online: false, features: [{name: x, from: x}]}\n"
    "services:\n  - {name: svc, features: [v, \"w:x\"]}\n  - {name: mixed, features: [\"book:bid\", \"v:x\"]}\n"
    "  - {name: bad, features: [cold]}\n";

static const char FUZZ_ROWS[] =
    "symbol,ts,x,n,tag,ok,at,doc,q\n"
    "A,1700000000,1.5,3,red,true,2024-01-01T00:00:00Z,\"[1, 2]\",0.5\n"
    "A,1700000060,2.5,,\"say \"\"hi\"\"\",false,,,\n"
    "B,1700000000,7,9,blue,,1700000000,null,1\n";

static char fuzz_dir[64];

static void fuzz_cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
    if (fuzz_dir[0] && system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", fuzz_dir);
}

static void fuzz_die(const char *what, int rc, fs_store *s)
{
    fprintf(stderr, "fuzz setup: %s: %s %s\n", what, fs_strerror(rc), s ? fs_errmsg(s) : "");
    exit(1);
}

/* Opens the store the targets serve. */
static fs_store *fuzz_store(void)
{
    snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/fstore-fuzz-XXXXXX");
    if (!mkdtemp(fuzz_dir))
        fuzz_die("mkdtemp", FS_E_IO, NULL);
    atexit(fuzz_cleanup);
    fs_store *s = NULL;
    int rc;
    if ((rc = fs_init(fuzz_dir, NULL)) != FS_OK || (rc = fs_open(fuzz_dir, &s, NULL)) != FS_OK)
        fuzz_die("open", rc, s);
    if ((rc = fs_apply_text(s, "defs.yaml", FUZZ_DEFS, strlen(FUZZ_DEFS), 0, 0, NULL)) != FS_OK)
        fuzz_die("apply", rc, s);
    char path[128];
    snprintf(path, sizeof path, "%s/rows.csv", fuzz_dir);
    FILE *f = fopen(path, "w");
    fputs(FUZZ_ROWS, f);
    fclose(f);
    fs_ingest_result ir;
    if ((rc = fs_ingest_file(s, "ticks", path, NULL, &ir)) != FS_OK || ir.rows_rejected)
        fuzz_die("ingest", rc, s);
    snprintf(path, sizeof path, "%s/q.csv", fuzz_dir);
    f = fopen(path, "w");
    fputs("symbol,venue,ts,bid\nA,X,1700000000,99.5\n", f);
    fclose(f);
    if ((rc = fs_ingest_file(s, "quotes", path, NULL, &ir)) != FS_OK)
        fuzz_die("ingest quotes", rc, s);
    fs_compute_result cr;
    if ((rc = fs_compute(s, NULL, &cr)) != FS_OK)
        fuzz_die("compute", rc, s);
    fs_materialize_result mr;
    if ((rc = fs_materialize(s, NULL, &mr)) != FS_OK)
        fuzz_die("materialize", rc, s);
    return s;
}

#endif
