/* The built-in signals table as a training set's labels (contract in
 * signals.h). */
#include "training/signals.h"

#include "core/timeutil.h"
#include "training/values.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const fs_training_opts *o;
    json_t *rows; /* [event_ts, seq, CSV line] */
    const fs_source_def *src;
} signals_ctx;

static int str_eq_col(fs_row_ref r, const char *col, const char *want)
{
    int c = fs_batch_col(r.batch, col);
    return !want || (c >= 0 && r.batch->cols[c].valid[r.row] &&
                     strcmp(r.batch->cols[c].s[r.row], want) == 0);
}

static int signal_row(void *p, fs_row_ref r)
{
    signals_ctx *c = p;
    if (!str_eq_col(r, "model_id", c->o->where_model_id) || !str_eq_col(r, "symbol", c->o->where_symbol) ||
        !str_eq_col(r, "tf", c->o->where_tf))
        return 0;
    char t[FS_TIME_STRLEN], vb[64];
    fs_strbuf line = {0};
    int64_t ts = r.batch->event_ts[r.row];
    fs_format_time(ts, t, sizeof t);
    fs_sb_puts(&line, t);
    for (size_t k = 0; k < c->src->n_columns; k++) {
        int col = fs_batch_col(r.batch, c->src->columns[k].name), quote;
        const char *v = fs_value_text(r, col, vb, sizeof vb, &quote);
        fs_sb_append(&line, ",", 1);
        if (v)
            fs_put_csv(&line, v);
    }
    json_t *row = !line.oom ? json_pack("[I, I, s]", (json_int_t)ts, (json_int_t)r.batch->seq[r.row],
                                        fs_sb_str(&line))
                            : NULL;
    fs_sb_free(&line);
    return row ? json_array_append_new(c->rows, row) != 0 : 1; /* 1: out of memory, stops */
}

static int by_time_then_seq(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t tx = json_integer_value(json_array_get(x, 0)), ty = json_integer_value(json_array_get(y, 0));
    if (tx != ty)
        return tx < ty ? -1 : 1;
    int c = strcmp(json_string_value(json_array_get(x, 2)), json_string_value(json_array_get(y, 2)));
    return c;
}

static int collect_key(void *ctx, const char *key)
{
    return json_array_append_new(ctx, json_string(key));
}

int fs_signals_as_labels(fs_engine *e, const fs_source_def *src, const fs_training_opts *o,
                         uint64_t known_at, char **data, size_t *len, fs_strbuf *err)
{
    if (!src) {
        fs_sb_puts(err, "no signals source");
        return FS_E_NOTFOUND;
    }
    signals_ctx c = {o, json_array(), src};
    json_t *keys = json_array(), *k;
    size_t i;
    int rc = fs_engine_entities(e, "signals", collect_key, keys);
    if (rc > 0)
        rc = FS_E_NOMEM; /* collect_key stopped */
    if (rc < 0 && rc != FS_E_NOMEM) {
        fs_sb_printf(err, "cannot read the signals: %s", fs_strerror(rc));
        fs_engine_read_error(e, err);
    }
    json_array_foreach(keys, i, k) {
        if (rc != FS_OK)
            break;
        int hr = fs_engine_history(e, "signals", json_string_value(k),
                                   o->where_from ? o->where_from : INT64_MIN,
                                   o->where_to ? o->where_to : INT64_MAX, known_at, 0, signal_row, &c);
        if (hr > 0) /* signal_row stopped: out of memory */
            hr = FS_E_NOMEM;
        if (hr < 0 && rc == FS_OK) {
            fs_sb_printf(err, "cannot read the signals of %s: %s", json_string_value(k), fs_strerror(hr));
            fs_engine_read_error(e, err);
            rc = hr;
        }
    }
    json_decref(keys);
    if (rc != FS_OK) {
        json_decref(c.rows);
        return rc;
    }
    size_t n = json_array_size(c.rows);
    json_t **sorted = malloc((n + 1) * sizeof *sorted);
    FILE *m = sorted ? open_memstream(data, len) : NULL;
    if (!m) {
        free(sorted);
        json_decref(c.rows);
        return FS_E_NOMEM;
    }
    fputs("event_ts", m);
    for (size_t col = 0; col < src->n_columns; col++)
        fprintf(m, ",%s", src->columns[col].name);
    fputc('\n', m);
    for (i = 0; i < n; i++)
        sorted[i] = json_array_get(c.rows, i);
    qsort(sorted, n, sizeof *sorted, by_time_then_seq);
    for (i = 0; i < n; i++)
        fprintf(m, "%s\n", json_string_value(json_array_get(sorted[i], 2)));
    fclose(m);
    free(sorted);
    json_decref(c.rows);
    return *data ? FS_OK : FS_E_NOMEM;
}
