/* Training-set files from labels and a resolved spec (contract in build.h). */
#include "training/build.h"

#include "core/sha256.h"
#include "core/phase.h"
#include "fstore.h"
#include "training/pit_join.h"
#include "training/values.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_KEYSETS = 8, MAX_KEYS = 8, OUT_BATCH = 16384, COL_CACHE = 16 };

/* Entity keys of every label for one set of join-key columns. */
typedef struct {
    json_t *keys; /* the join-key names (borrowed from the spec) */
    const char **key_of; /* several keys: per label, its values joined by ':' */
    char *buf;
    fs_label_groups *groups;
} keyset;

static int keyset_build(keyset *ks, json_t *jk, const fs_labels *L)
{
    size_t n = L->n, nk = json_array_size(jk);
    int kc[MAX_KEYS];
    for (size_t k = 0; k < nk && k < MAX_KEYS; k++)
        kc[k] = fs_labels_col(L, json_string_value(json_array_get(jk, k)));
    ks->keys = jk;
    if (nk == 1) /* the key is the label's cell itself */
        return fs_label_groups_build(n ? L->cell + kc[0] : NULL, L->ncols, L->ts, n, &ks->groups);
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < nk && k < MAX_KEYS; k++)
            total += strlen(L->cell[i * L->ncols + (size_t)kc[k]]) + 1;
    ks->key_of = malloc((n + 1) * sizeof *ks->key_of);
    ks->buf = malloc(total);
    if (!ks->key_of || !ks->buf)
        return FS_E_NOMEM;
    char *p = ks->buf;
    for (size_t i = 0; i < n; i++) {
        ks->key_of[i] = p;
        for (size_t k = 0; k < nk && k < MAX_KEYS; k++) {
            const char *v = L->cell[i * L->ncols + (size_t)kc[k]];
            size_t len = strlen(v);
            memcpy(p, v, len);
            p += len;
            *p++ = k + 1 < nk ? ':' : 0;
        }
        if (!nk)
            *p++ = 0;
    }
    return fs_label_groups_build(ks->key_of, 1, L->ts, n, &ks->groups);
}

/* ---- formatting rows, in parallel ----------------------------------------------------- */

typedef struct {
    json_t *spec;
    const fs_labels *L;
    const fs_pit_selection *sel; /* per feature: its join's rows */
    size_t nf;
    int jsonl;
    const char **header; /* per feature */
    const char **column;
} out_ctx;

/* Column positions per stored batch: a small direct-mapped cache per feature. */
typedef struct {
    const fs_batch *batch[COL_CACHE];
    int col[COL_CACHE];
} col_cache;

static int column_index(col_cache *cc, const fs_batch *b, const char *name)
{
    size_t h = ((uintptr_t)b >> 4) % COL_CACHE;
    if (cc->batch[h] != b) {
        cc->batch[h] = b;
        cc->col[h] = fs_batch_col(b, name);
    }
    return cc->col[h];
}

static void format_row(const out_ctx *o, size_t i, col_cache *caches, fs_strbuf *f)
{
    const fs_labels *L = o->L;
    if (o->jsonl)
        fs_sb_append(f, "{", 1);
    for (size_t c = 0; c < L->ncols; c++) {
        const char *v = L->cell[i * L->ncols + c];
        if (o->jsonl) {
            fs_put_json_string(f, L->names[c]);
            fs_sb_append(f, ":", 1);
            if (!v)
                fs_sb_puts(f, "null");
            else if (L->literal[i * L->ncols + c])
                fs_sb_puts(f, v);
            else
                fs_put_json_string(f, v);
            fs_sb_append(f, c + 1 < L->ncols || o->nf ? "," : "}", 1);
        } else {
            if (c)
                fs_sb_append(f, ",", 1);
            if (v)
                fs_put_csv(f, v);
        }
    }
    for (size_t k = 0; k < o->nf; k++) {
        fs_row_ref ref = fs_pit_selected(&o->sel[k], i);
        int col = ref.batch ? column_index(&caches[k], ref.batch, o->column[k]) : -1;
        char vb[64];
        int quote;
        const char *v = fs_value_text(ref, col, vb, sizeof vb, &quote);
        if (o->jsonl) {
            fs_put_json_string(f, o->header[k]);
            fs_sb_append(f, ":", 1);
            if (!v)
                fs_sb_puts(f, "null");
            else if (quote)
                fs_put_json_string(f, v);
            else
                fs_sb_puts(f, v);
            fs_sb_append(f, k + 1 < o->nf ? "," : "}", 1);
        } else {
            fs_sb_append(f, ",", 1);
            if (v)
                fs_put_csv(f, v);
        }
    }
    fs_sb_append(f, "\n", 1);
}

/* A CSV row as format_row writes it, built in a local buffer and appended
 * once; 0 when it does not fit there or a cell needs quoting (then
 * format_row writes it). A fifth of a training set's time went to
 * appending and checking field by field. */
static int format_csv_row(const out_ctx *o, size_t i, col_cache *caches, fs_strbuf *f)
{
    enum { ROW = 1024, FIELD = 256 };
    const fs_labels *L = o->L;
    char row[ROW];
    size_t p = 0;
    if (!L->plain)
        return 0;
    for (size_t c = 0; c < L->ncols; c++) {
        const char *v = L->cell[i * L->ncols + c];
        if (p + 1 > ROW / 2) /* labels take at most half the row */
            return 0;
        if (c)
            row[p++] = ',';
        if (!v)
            continue;
        size_t n = strlen(v);
        if (n > FIELD || p + n > ROW / 2)
            return 0;
        memcpy(row + p, v, n);
        p += n;
    }
    for (size_t k = 0; k < o->nf; k++) {
        fs_row_ref ref = fs_pit_selected(&o->sel[k], i);
        int col = ref.batch ? column_index(&caches[k], ref.batch, o->column[k]) : -1, quote;
        char vb[64];
        const char *v = fs_value_text(ref, col, vb, sizeof vb, &quote);
        if (p + 2 > ROW) /* room for this comma and the newline */
            return 0;
        row[p++] = ',';
        if (!v)
            continue;
        size_t n = strlen(v);
        if (n > FIELD || p + n + 1 > ROW || (quote && strpbrk(v, ",\"\r\n")))
            return 0;
        memcpy(row + p, v, n);
        p += n;
    }
    row[p++] = '\n';
    fs_sb_append(f, row, p);
    return 1;
}

typedef struct {
    const out_ctx *o;
    size_t from, to; /* label rows of this slice */
    col_cache *caches;
    fs_strbuf text; /* reused from batch to batch */
} slice;

static void *format_slice(void *p)
{
    slice *s = p;
    fs_sb_reset(&s->text);
    for (size_t i = s->from; i < s->to; i++)
        if (s->o->jsonl || !format_csv_row(s->o, i, s->caches, &s->text))
            format_row(s->o, i, s->caches, &s->text);
    return NULL;
}

/* Writes text to the file and the hash. */
static int emit(FILE *fo, fs_sha256 *sha, const char *text, size_t len)
{
    fs_sha256_update(sha, text, len);
    return fwrite(text, 1, len, fo) == len ? FS_OK : FS_E_IO;
}

static int write_output(const out_ctx *o, int jobs, FILE *fo, fs_sha256 *sha)
{
    const fs_labels *L = o->L;
    int rc = FS_OK;
    if (!o->jsonl) { /* the header */
        fs_strbuf h = {0};
        for (size_t c = 0; c < L->ncols; c++) {
            if (c)
                fs_sb_append(&h, ",", 1);
            fs_put_csv(&h, L->names[c]);
        }
        for (size_t k = 0; k < o->nf; k++) {
            fs_sb_append(&h, ",", 1);
            fs_put_csv(&h, o->header[k]);
        }
        fs_sb_append(&h, "\n", 1);
        rc = h.oom ? FS_E_NOMEM : emit(fo, sha, h.buf, h.len);
        fs_sb_free(&h);
    }
    if (jobs < 1)
        jobs = 1;
    if (jobs > 64)
        jobs = 64;
    /* Batch b is formatted by `jobs` threads into sl[b & 1] while this
     * thread writes and hashes batch b - 1 from the other set, and asks the
     * kernel to start writing it to disk, so that the final fsync finds
     * little left to do. */
    slice sl[2][64];
    memset(sl, 0, sizeof sl);
    col_cache *caches = calloc((size_t)jobs * (o->nf + 1), sizeof *caches);
    if (!caches)
        return FS_E_NOMEM;
    off_t synced = 0, written = (off_t)ftello(fo);
    size_t nb = (L->n + OUT_BATCH - 1) / OUT_BATCH;
    for (size_t b = 0; rc == FS_OK && b <= nb; b++) {
        slice *cur = sl[b & 1], *prev = sl[(b + 1) & 1];
        pthread_t tid[64];
        int started[64] = {0};
        size_t b0 = b * OUT_BATCH, b1 = b0 + OUT_BATCH < L->n ? b0 + OUT_BATCH : L->n;
        size_t per = b < nb ? (b1 - b0 + (size_t)jobs - 1) / (size_t)jobs : 0;
        for (int t = 0; b < nb && t < jobs; t++) {
            size_t from = b0 + (size_t)t * per, to = from + per < b1 ? from + per : b1;
            cur[t].o = o;
            cur[t].from = from < b1 ? from : b1;
            cur[t].to = to > from ? to : from;
            cur[t].caches = caches + (size_t)t * (o->nf + 1);
            if (pthread_create(&tid[t], NULL, format_slice, &cur[t]) == 0)
                started[t] = 1;
        }
        for (int t = 0; b > 0 && t < jobs; t++) {
            if (rc == FS_OK && prev[t].text.len)
                rc = prev[t].text.oom ? FS_E_NOMEM : emit(fo, sha, prev[t].text.buf, prev[t].text.len);
            written += (off_t)prev[t].text.len;
        }
        if (rc == FS_OK && b > 0 && fflush(fo) == 0) {
            sync_file_range(fileno(fo), synced, written - synced, SYNC_FILE_RANGE_WRITE);
            synced = written;
        }
        for (int t = 0; b < nb && t < jobs; t++) {
            if (started[t])
                pthread_join(tid[t], NULL);
            else
                format_slice(&cur[t]);
        }
    }
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < jobs; t++)
            fs_sb_free(&sl[k][t].text);
    free(caches);
    return rc;
}

/* ---- the build -------------------------------------------------------------------------- */

int fs_trainset_build(fs_engine *e, json_t *spec, const fs_labels *L, uint64_t known_at,
                      int jsonl_out, int jobs, const char *out, const char *expect_sha,
                      json_t *oldest, fs_build_result *res, fs_strbuf *err)
{
    size_t nf = json_array_size(spec), n = L->n, nks = 0;
    keyset ks[MAX_KEYSETS];
    memset(ks, 0, sizeof ks);
    fs_pit_selection *sel = calloc(nf + 1, sizeof *sel); /* per feature */
    const char **header = calloc(nf + 1, sizeof *header), **column = calloc(nf + 1, sizeof *column);
    fs_pit_rows *keep = fs_pit_rows_new(); /* the rows refs point to */
    const char **cols = calloc(nf + 1, sizeof *cols); /* the columns of one join */
    int rc = sel && header && column && keep && cols ? FS_OK : FS_E_NOMEM;
    /* One join per (table, TTL, key set); other columns of it copy its rows. */
    for (size_t f = 0; rc == FS_OK && f < nf; f++) {
        json_t *c = json_array_get(spec, f), *jk = json_object_get(c, "keys");
        const char *table = json_string_value(json_object_get(c, "table"));
        int64_t ttl = (int64_t)json_integer_value(json_object_get(c, "ttl_ns"));
        header[f] = json_string_value(json_object_get(c, "header"));
        column[f] = json_string_value(json_object_get(c, "column"));
        size_t g;
        for (g = 0; g < f; g++) {
            json_t *o = json_array_get(spec, g);
            if (strcmp(json_string_value(json_object_get(o, "table")), table) == 0 &&
                json_integer_value(json_object_get(o, "ttl_ns")) == (json_int_t)ttl &&
                json_equal(json_object_get(o, "keys"), jk))
                break;
        }
        if (g < f) {
            sel[f] = sel[g];
            continue;
        }
        size_t k = 0;
        while (k < nks && !json_equal(ks[k].keys, jk))
            k++;
        if (k == nks) {
            if (nks == MAX_KEYSETS) {
                fs_sb_printf(err, "features of more than %d different entities", MAX_KEYSETS);
                rc = FS_E_INVAL;
                break;
            }
            if ((rc = keyset_build(&ks[nks++], jk, L)) != FS_OK)
                break;
            fs_phase("group labels");
        }
        /* The columns this join reads: those of every feature that shares it. */
        size_t ncols = 0;
        for (size_t h = f; h < nf; h++) {
            json_t *o = json_array_get(spec, h);
            const char *col = json_string_value(json_object_get(o, "column"));
            size_t d = 0;
            while (d < ncols && strcmp(cols[d], col) != 0)
                d++;
            if (d == ncols && strcmp(json_string_value(json_object_get(o, "table")), table) == 0 &&
                json_integer_value(json_object_get(o, "ttl_ns")) == (json_int_t)ttl &&
                json_equal(json_object_get(o, "keys"), jk))
                cols[ncols++] = col;
        }
        int64_t old = INT64_MAX;
        rc = fs_pit_join(e, table, cols, ncols, ttl, known_at, ks[k].groups, jobs, keep, &sel[f],
                         &old);
        if (rc != FS_OK && rc != FS_E_NOMEM) { /* a chunk file that cannot be read */
            fs_sb_printf(err, "cannot read the stored rows of %s: %s", table, fs_strerror(rc));
            fs_engine_read_error(e, err);
        }
        json_t *prev = json_object_get(oldest, table);
        if (old != INT64_MAX && (!prev || old < json_integer_value(prev)))
            json_object_set_new(oldest, table, json_integer((json_int_t)old));
        fs_phase("join");
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
    FILE *fo = rc == FS_OK ? fopen(tmp, "w") : NULL;
    if (rc == FS_OK && !fo) {
        fs_sb_printf(err, "cannot create %s: %s", tmp, strerror(errno));
        rc = FS_E_IO;
    }
    fs_sha256 sha;
    fs_sha256_init(&sha);
    if (rc == FS_OK) {
        out_ctx oc = {spec, L, sel, nf, jsonl_out, header, column};
        rc = write_output(&oc, jobs, fo, &sha);
        fs_phase("write output");
    }
    if (fo) {
        int werr = 0;
        if (fflush(fo) != 0 || fsync(fileno(fo)) != 0)
            werr = errno;
        fclose(fo);
        if (rc == FS_OK && werr)
            rc = werr == ENOSPC ? FS_E_NOSPACE : FS_E_IO;
        if (rc == FS_E_IO || rc == FS_E_NOSPACE)
            fs_sb_printf(err, "cannot write %s: %s", out, strerror(werr ? werr : errno));
    }
    if (rc == FS_OK) {
        res->rows = n;
        fs_sha256_hex(&sha, res->sha);
        if (expect_sha && strcmp(expect_sha, res->sha) != 0) {
            fs_sb_printf(err, "the rebuilt output differs from the original (sha256 %s, was %s)",
                         res->sha, expect_sha);
            rc = FS_E_CORRUPT;
        } else if (rename(tmp, out) != 0) {
            fs_sb_printf(err, "cannot rename %s to %s: %s", tmp, out, strerror(errno));
            rc = FS_E_IO;
        }
    }
    if (rc != FS_OK && fo)
        unlink(tmp);
    fs_phase("sync output");
    for (size_t k = 0; k < nks; k++) {
        free(ks[k].key_of);
        free(ks[k].buf);
        fs_label_groups_free(ks[k].groups);
    }
    free(sel);
    fs_pit_rows_free(keep);
    free(cols);
    free(header);
    free(column);
    return rc;
}
