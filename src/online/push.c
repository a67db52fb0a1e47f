/* Pushes: rows given as a Feast "df" (column -> list of values), validated
 * by the ingest parser itself (each row becomes one JSON-lines record, so a
 * push accepts and refuses exactly what `fstore ingest --format jsonl`
 * does), then written to the offline store (one commit) and/or the online
 * store (contract in fstore.h). Nothing is written unless every row is good. */
#include "online/online.h"

#include "api/store_internal.h"
#include "core/timeutil.h"
#include "ingest/parse.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The df as JSON lines: one object per row. */
static int df_to_jsonl(json_t *df, fs_strbuf *out, size_t *rows, fs_strbuf *err)
{
    if (!json_is_object(df)) {
        fs_sb_printf(err, "df must be an object mapping column names to lists of values");
        return FS_E_INVAL;
    }
    const char *key, *first = NULL;
    json_t *val;
    size_t n = 0;
    json_object_foreach(df, key, val) {
        if (!json_is_array(val)) {
            fs_sb_printf(err, "df column '%s' is not a list", key);
            return FS_E_INVAL;
        }
        if (!first) {
            first = key;
            n = json_array_size(val);
        } else if (json_array_size(val) != n) {
            fs_sb_printf(err, "df columns have different lengths: '%s' has %zu values, '%s' has %zu",
                         first, n, key, json_array_size(val));
            return FS_E_INVAL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_object();
        if (!row)
            return FS_E_NOMEM;
        json_object_foreach(df, key, val)
            json_object_set(row, key, json_array_get(val, i));
        char *line = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17) |
                                         JSON_ENCODE_ANY);
        json_decref(row);
        if (!line)
            return FS_E_NOMEM;
        fs_sb_puts(out, line);
        fs_sb_puts(out, "\n");
        free(line);
    }
    *rows = n;
    return out->oom ? FS_E_NOMEM : FS_OK;
}

/* Writes the batch's rows into the `from:` features of the online views of
 * `source` (newer values win). */
static int push_online(fs_store *s, const char *source, const fs_batch *b, uint64_t seq, int wait_ms,
                       uint64_t *values, fs_strbuf *err)
{
    fs_online *o = NULL;
    int rc = fs_online_acquire(s, &o, err);
    if (rc != FS_OK)
        return rc;
    int lockfd = -1;
    if ((rc = fs_online_write_begin(o, wait_ms, &lockfd, err)) != FS_OK) {
        fs_online_close(o);
        return rc;
    }
    for (size_t i = 0; rc == FS_OK && i < o->nv; i++) {
        oview *v = &o->views[i];
        if (!v->any_from || strcmp(v->source, source) != 0)
            continue;
        otab *t = NULL;
        if ((rc = fs_online_edit(o, v, &t, err)) != FS_OK)
            break;
        int ccol = v->src_conf ? fs_batch_col(b, v->src_conf) : -1;
        for (size_t r = 0; rc == FS_OK && r < b->n; r++) {
            long ent = fs_otab_upsert(t, b->entity[r], b->entity_len[r]);
            if (ent < 0) {
                rc = FS_E_NOMEM;
                break;
            }
            double conf = ccol < 0 ? 1.0 : b->cols[ccol].valid[r] ? b->cols[ccol].f64[r] : (double)NAN;
            for (size_t f = 0; rc == FS_OK && f < v->nf; f++) {
                if (!v->f[f].from || !fs_ocell_older(&t->cells[(size_t)ent * t->nf + f], b->event_ts[r], seq))
                    continue;
                rc = fs_otab_set(t, (size_t)ent, f, b, fs_batch_col(b, v->f[f].column), r, b->event_ts[r],
                                 seq, conf);
                ++*values;
            }
        }
        if (rc != FS_OK) {
            fs_otab_free(t);
            break;
        }
        rc = fs_online_commit_view(o, v, t, err);
    }
    fs_online_write_end(o, lockfd);
    fs_online_close(o);
    return rc;
}

int fs_push(fs_store *s, const char *source, const char *df_json, size_t len, unsigned to,
            int lock_wait_ms, fs_push_result *res)
{
    if (!s || !source || !df_json || !res)
        return FS_E_INVAL;
    memset(res, 0, sizeof *res);
    res->bad_row = -1;
    if (!(to & FS_PUSH_ONLINE_AND_OFFLINE) || (to & ~15u))
        return fs_store_fail(s, FS_E_INVAL, "push: 'to' must be online, offline or online_and_offline");
    if (lock_wait_ms <= 0)
        lock_wait_ms = 5000;
    fs_strbuf err = {0}, lines = {0};
    fs_batch batch = {0};
    fs_ingest_report rep;
    fs_ingest_report_init(&rep);
    json_error_t je;
    json_t *df = json_loadb(df_json, len, JSON_REJECT_DUPLICATES, &je);
    const char *compute_views[256];
    size_t n_compute = 0;
    pthread_mutex_lock(&s->mu);
    int rc = FS_OK;
    size_t nrows = 0;
    const fs_source_def *src = fs_reg_source(s->cat.reg, source);
    if (!src) {
        fs_sb_printf(&err, "no source named '%s' (see fstore ls --kind source)", source);
        rc = FS_E_NOTFOUND;
        goto out;
    }
    if (!df) {
        fs_sb_printf(&err, "df is not valid JSON: %s at character %d", je.text, je.position);
        rc = FS_E_INVAL;
        goto out;
    }
    if ((rc = df_to_jsonl(df, &lines, &nrows, &err)) != FS_OK)
        goto out;
    res->rows = nrows;
    if (!nrows)
        goto out;
    fs_ingest_options po = {0};
    po.name = "push";
    po.max_reasons = 1;
    if ((rc = fs_ingest_batch_init(&batch, src)) != FS_OK)
        goto out;
    rc = fs_ingest_parse(s->cat.reg, src, FS_FMT_JSONL, &po, fs_sb_str(&lines), lines.len, &batch, &rep, &err);
    if (rc == FS_OK && rep.rows_rejected) {
        const fs_ingest_reject *r = &rep.rejects[0];
        res->bad_row = (long)r->line - 1;
        snprintf(res->bad_column, sizeof res->bad_column, "%s", r->column ? r->column : "");
        fs_sb_reset(&err);
        fs_sb_printf(&err, "df row %ld (counting from 0)%s%s%s: %s; nothing was written", res->bad_row,
                     r->column ? ", column '" : "", r->column ? r->column : "", r->column ? "'" : "",
                     r->reason);
        if (rep.rows_rejected > 1)
            fs_sb_printf(&err, " (%llu rows are bad in all)", (unsigned long long)rep.rows_rejected);
        rc = FS_E_PARSE;
    }
    if (rc != FS_OK || (to & FS_PUSH_DRY_RUN))
        goto out;
    if (to & FS_PUSH_OFFLINE) {
        if ((rc = fs_store_engine(s, 1, lock_wait_ms)) != FS_OK) {
            fs_sb_puts(&err, fs_errmsg(s));
            goto out;
        }
        if ((rc = fs_engine_commit(s->engine, source, &batch, &res->seq, &err)) != FS_OK)
            goto out;
    }
    if (to & FS_PUSH_ONLINE) {
        rc = push_online(s, source, &batch, res->seq, lock_wait_ms, &res->values, &err);
        if (rc != FS_OK && res->seq) {
            char msg[600];
            snprintf(msg, sizeof msg, "the rows were stored offline (commit %llu) but the online store "
                     "was not updated: %s", (unsigned long long)res->seq, fs_sb_str(&err));
            fs_sb_reset(&err);
            fs_sb_puts(&err, msg);
        }
    }
    if (rc == FS_OK && (to & FS_PUSH_COMPUTE) && (to & FS_PUSH_OFFLINE)) {
        const fs_registry *r = s->cat.reg;
        for (size_t i = 0; i < r->n_views && n_compute < 256; i++) {
            const fs_view_def *v = &r->views[i];
            int computed = 0;
            for (size_t f = 0; f < v->n_features; f++)
                computed |= v->features[f].how != FS_PROD_FROM;
            if (v->online && computed && strcmp(v->source, source) == 0)
                compute_views[n_compute++] = v->name;
        }
    }
out:
    if (rc != FS_OK)
        fs_store_fail(s, rc, fs_sb_str(&err));
    pthread_mutex_unlock(&s->mu);
    if (rc == FS_OK && n_compute) {
        /* The indicators of the source's online views follow the new rows;
         * fs_compute's hook then writes them to the online store. */
        fs_compute_opts co = {0};
        co.views = compute_views;
        co.n_views = n_compute;
        co.jobs = 1;
        fs_compute_result cr;
        if ((rc = fs_compute(s, &co, &cr)) != FS_OK) {
            char msg[700];
            snprintf(msg, sizeof msg, "the rows were stored (commit %llu) but computing their views "
                     "failed: %s", (unsigned long long)res->seq, fs_errmsg(s));
            fs_store_fail(s, FS_E_PARTIAL, msg);
            rc = FS_E_PARTIAL;
        }
    }
    json_decref(df);
    fs_sb_free(&lines);
    fs_sb_free(&err);
    fs_batch_free(&batch);
    fs_ingest_report_free(&rep);
    return rc;
}
