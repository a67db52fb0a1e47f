/* The public API's data calls: ingest (one file = one commit), point-in-time
 * feature reads, history and the commit log (fstore.h is the manual).
 *
 * A handle opens the storage engine lazily: read-only for reads (no lock, so
 * any number of reader processes), or as the writer for ingest, which takes
 * DIR/WRITER with flock for as long as the handle lives: one writer per data
 * directory, and the kernel drops the lock if the process dies. */
#include "api/store_internal.h"

#include "core/fileio.h"
#include "core/timeutil.h"
#include "ingest/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens the engine for reading, or upgrades the handle to the writer. */
int fs_store_engine(fs_store *s, int writer, int wait_ms)
{
    if (s->engine && (s->writer || !writer))
        return FS_OK;
    fs_strbuf err = {0};
    int rc;
    if (writer) {
        char *lock = fs_path_join(s->dir, "WRITER");
        rc = lock ? fs_lock(lock, wait_ms, &s->writer_lock_fd, &err) : FS_E_NOMEM;
        free(lock);
        if (rc != FS_OK) {
            fs_store_fail(s, rc, fs_sb_str(&err));
            fs_sb_free(&err);
            return rc;
        }
        fs_engine_close(s->engine, NULL); /* a reader engine, replaced by the writer's */
        s->engine = NULL;
    }
    fs_engine_options o = {FS_SYNC_ALWAYS, !writer};
    fs_engine_recovery rec;
    rc = fs_engine_open(s->dir, &o, &s->engine, &rec, &err);
    if (rc != FS_OK) {
        fs_store_fail(s, rc, fs_sb_str(&err));
        if (writer) {
            fs_unlock(s->writer_lock_fd);
            s->writer_lock_fd = -1;
        }
    } else {
        s->writer = writer;
        if (rec.wal.dropped_at[0]) /* a torn tail from a crash: say so, once */
            fprintf(stderr, "fstore: warning: dropped %llu bytes of an incomplete write-ahead log "
                            "record (%s)\n",
                    (unsigned long long)rec.wal.dropped_bytes, rec.wal.dropped_at);
    }
    fs_sb_free(&err);
    return rc;
}

int fs_refresh(fs_store *s)
{
    if (!s)
        return FS_E_INVAL;
    pthread_mutex_lock(&s->mu);
    int rc = FS_OK;
    if (s->engine && !s->writer) { /* the writer's own engine is always current */
        fs_engine_close(s->engine, NULL);
        s->engine = NULL;
        rc = fs_store_engine(s, 0, 0);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int dump(fs_store *s, json_t *o, char **json);

/* ---- checkpoints -------------------------------------------------------------- */

/* Past this many rows since the last checkpoint, an ingest takes one: the log
 * stays short and restarts fast. Not tuned: a round number. */
#define CHECKPOINT_ROWS 1000000

const fs_source_def *fs_table_source(const fs_registry *r, const char *table)
{
    if (strncmp(table, FS_VIEW_TABLE_PREFIX, strlen(FS_VIEW_TABLE_PREFIX)) == 0) {
        const fs_view_def *v = fs_reg_view(r, table + strlen(FS_VIEW_TABLE_PREFIX));
        return v ? fs_reg_source(r, v->source) : NULL;
    }
    return fs_reg_source(r, table);
}

int64_t fs_store_chunk_interval(void *ctx, const char *table)
{
    const fs_source_def *src = fs_table_source(((fs_store *)ctx)->cat.reg, table);
    return src ? src->chunk_interval_ns : 0;
}

/* compress_after: merge the chunk files of one engine table past its policy. */
static int compress_table(fs_store *s, const char *table, int64_t compress_after, int64_t now,
                          json_t *report, fs_strbuf *err)
{
    uint64_t merged = 0, files = 0;
    int rc = fs_engine_compact_chunks(s->engine, table, now - compress_after, fs_store_chunk_interval, s,
                                      &merged, &files, err);
    if (rc == FS_OK && merged) {
        json_t *it = json_object();
        json_object_set_new(it, "table", json_string(table));
        json_object_set_new(it, "partitions", json_integer((json_int_t)merged));
        json_object_set_new(it, "files_merged", json_integer((json_int_t)files));
        json_array_append_new(report, it);
    }
    return rc;
}

int fs_compact_json(fs_store *s, char **json)
{
    if (!s)
        return FS_E_INVAL;
    if (json)
        *json = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = fs_store_engine(s, 1, 10000);
    fs_strbuf err = {0};
    json_t *report = json_array();
    if (rc == FS_OK)
        rc = fs_engine_checkpoint(s->engine, fs_store_chunk_interval, s, &err);
    /* Then each table past its compress_after: sources, and views' tables
     * (which follow their source's policies). */
    const fs_registry *r = s->cat.reg;
    int64_t now = fs_now_ns();
    for (size_t i = 0; rc == FS_OK && i < r->n_sources; i++)
        if (r->sources[i].compress_after_ns > 0)
            rc = compress_table(s, r->sources[i].name, r->sources[i].compress_after_ns, now, report, &err);
    for (size_t i = 0; rc == FS_OK && i < r->n_views; i++) {
        const fs_source_def *src = fs_reg_source(r, r->views[i].source);
        char vt[300];
        snprintf(vt, sizeof vt, "%s%s", FS_VIEW_TABLE_PREFIX, r->views[i].name);
        if (src && src->compress_after_ns > 0)
            rc = compress_table(s, vt, src->compress_after_ns, now, report, &err);
    }
    if (rc != FS_OK) {
        fs_store_fail(s, rc, fs_sb_str(&err));
    } else if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "checkpointed", json_true());
        json_object_set_new(o, "compressed", report);
        report = NULL;
        rc = dump(s, o, json);
    }
    json_decref(report);
    fs_sb_free(&err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int fs_compact(fs_store *s) { return fs_compact_json(s, NULL); }

int fs_gc(fs_store *s, char **json)
{
    if (!s || !json)
        return FS_E_INVAL;
    *json = NULL;
    pthread_mutex_lock(&s->mu);
    fs_strbuf err = {0};
    int rc = fs_store_engine(s, 1, 10000), dropped_any = 0;
    if (rc == FS_OK)
        rc = fs_engine_checkpoint(s->engine, fs_store_chunk_interval, s, &err);
    json_t *o = json_object(), *arr = json_array();
    const fs_registry *r = s->cat.reg;
    int64_t now = fs_now_ns();
    for (size_t i = 0; rc == FS_OK && i < r->n_sources; i++) {
        const fs_source_def *src = &r->sources[i];
        if (src->retention_ns <= 0)
            continue;
        uint64_t chunks = 0, rows = 0;
        rc = fs_engine_drop_chunks(s->engine, src->name, now - src->retention_ns, &chunks, &rows, &err);
        json_t *it = json_object();
        json_object_set_new(it, "source", json_string(src->name));
        json_object_set_new(it, "chunks", json_integer((json_int_t)chunks));
        json_object_set_new(it, "rows", json_integer((json_int_t)rows));
        json_array_append_new(arr, it);
        dropped_any |= chunks > 0;
    }
    json_object_set_new(o, "dropped", arr);
    if (rc == FS_OK && dropped_any) { /* the head still holds the dropped rows: reload */
        fs_engine_close(s->engine, NULL);
        s->engine = NULL;
        fs_engine_options eo = {FS_SYNC_ALWAYS, 0};
        rc = fs_engine_open(s->dir, &eo, &s->engine, NULL, &err);
    }
    if (rc != FS_OK) {
        fs_store_fail(s, rc, fs_sb_str(&err));
        json_decref(o);
    } else {
        rc = dump(s, o, json);
    }
    fs_sb_free(&err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- ingest ---------------------------------------------------------------- */

static int write_reject(void *ctx, const fs_ingest_reject *r)
{
    return fs_ingest_reject_write(r, ctx) == 0 ? 0 : FS_E_IO;
}

/* How a file becomes one commit (engine.h, streamed commits):
 *  - it is parsed in parts of INGEST_PART_ROWS rows (FSTORE_INGEST_PART_ROWS
 *    and FSTORE_INGEST_SPLIT_BYTES override the sizes, for tests and
 *    tuning); each full part is sorted and
 *    written at once as chunk files, and its buffer reused, so memory stays
 *    at a few parts whatever the file's size;
 *  - a regular file of INGEST_SPLIT_BYTES or more is read as two halves at
 *    once, one per core, each parser writing its own parts; the second
 *    half's parts are numbered after the first's, so the commit lists them
 *    in the file's order. The halves meet at a line break; if that break
 *    lies inside a quoted field (the first half's parser ends inside a
 *    record), the second half's work is dropped and read again in order;
 *  - otherwise (standard input, a smaller file) one parser reads it in
 *    order while a second thread encodes the previous part;
 *  - a file with fewer than INGEST_STREAM_MIN_ROWS good rows is committed
 *    through the write-ahead log instead (fs_engine_commit_owned): small
 *    commits must not leave a trail of tiny chunk files.
 * Either way one WAL record commits the file: all of its good rows or none. */
#define INGEST_PART_ROWS 524288
#define INGEST_SPLIT_BYTES (16u << 20)
#define INGEST_STREAM_MIN_ROWS 65536
#define INGEST_SECOND_HALF (1u << 24) /* part numbers of the second half start here */

/* The sizes above, unless the environment (tests, tuning) says otherwise. */
static uint64_t ingest_env(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    long long n = v ? atoll(v) : 0;
    return n > 0 ? (uint64_t)n : dflt;
}

/* The encoding thread of an ingest read in order: one part in flight. */
typedef struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fs_engine_stream *stream;
    fs_batch *job; /* the part to write; NULL when idle */
    unsigned job_index; /* its place in the commit */
    int quit, rc, started;
    fs_strbuf err;
} ingest_writer;

static void *ingest_writer_main(void *arg)
{
    ingest_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->job && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->job)
            break;
        fs_batch *part = w->job;
        unsigned index = w->job_index;
        int failed = w->rc != FS_OK;
        pthread_mutex_unlock(&w->mu);
        fs_strbuf err = {0};
        int rc = failed ? FS_OK : fs_engine_stream_add_part(w->stream, part, index, &err);
        pthread_mutex_lock(&w->mu);
        if (rc != FS_OK && w->rc == FS_OK) {
            w->rc = rc;
            fs_sb_puts(&w->err, fs_sb_str(&err));
        }
        fs_sb_free(&err);
        w->job = NULL;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Waits until the writer has no part in flight; returns its status. */
static int ingest_writer_wait(ingest_writer *w)
{
    if (!w->started)
        return FS_OK;
    pthread_mutex_lock(&w->mu);
    while (w->job)
        pthread_cond_wait(&w->cv, &w->mu);
    int rc = w->rc;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Hands `part` (the commit's part number `index`) to the writer (which
 * must be idle). */
static int ingest_writer_submit(ingest_writer *w, fs_batch *part, unsigned index)
{
    if (!w->started) {
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        if (pthread_create(&w->th, NULL, ingest_writer_main, w) != 0) {
            pthread_mutex_destroy(&w->mu);
            pthread_cond_destroy(&w->cv);
            return FS_E_NOMEM;
        }
        w->started = 1;
    }
    pthread_mutex_lock(&w->mu);
    w->job = part;
    w->job_index = index;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return FS_OK;
}

static void ingest_writer_stop(ingest_writer *w)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    w->started = 0;
}

/* One parser working through a stretch [from, to) of the input (to ==
 * UINT64_MAX: read() until the end). */
typedef struct {
    fs_store *s;
    const char *source;
    const fs_source_def *src;
    fs_ingest_parser *p;
    fs_ingest_report rep;
    fs_batch *buf[2]; /* buf[cur] receives rows; buf[1] only with a writer */
    int cur;
    ingest_writer *writer;    /* encodes parts in another thread; NULL: in this one */
    fs_engine_stream **stream; /* shared; begun by the first full part if still NULL */
    unsigned part_base, nparts;
    size_t part_rows, cap;
    int fd;
    uint64_t from, to;
    uint64_t done, rows;      /* progress, read by the other thread (atomically) */
    int cancel;               /* set (atomically) to make the loop stop */
    int rc;
    fs_strbuf err;
    FILE *rejects; /* the on_reject target: the rejects file, or a temporary one */
    char *piece;
} ingest_worker;

static int ingest_worker_init(ingest_worker *w, fs_store *s, const char *source,
                              const fs_source_def *src, int fd, size_t part_rows, size_t first_cap)
{
    memset(w, 0, sizeof *w);
    w->s = s;
    w->source = source;
    w->src = src;
    w->fd = fd;
    w->part_rows = part_rows;
    /* Room for a part and the overshoot of the slice that fills it: a part
     * never grows (growing copies it). */
    w->cap = part_rows + (32 << 10) / 8;
    fs_ingest_report_init(&w->rep);
    enum { PIECE = 256 << 10 };
    if (!(w->piece = malloc(PIECE)))
        return FS_E_NOMEM;
    for (int k = 0; k < 2; k++)
        if (!(w->buf[k] = malloc(sizeof *w->buf[k])) || fs_ingest_batch_init(w->buf[k], src) != FS_OK) {
            free(w->buf[k]);
            w->buf[k] = NULL;
            return FS_E_NOMEM;
        }
    return fs_batch_reserve(w->buf[0], first_cap && first_cap < w->cap ? first_cap : w->cap);
}

static void ingest_worker_free(ingest_worker *w)
{
    fs_ingest_parser_free(w->p);
    fs_ingest_report_free(&w->rep);
    for (int k = 0; k < 2; k++)
        if (w->buf[k]) {
            fs_batch_free(w->buf[k]);
            free(w->buf[k]);
        }
    free(w->piece);
    fs_sb_free(&w->err);
    if (w->rejects)
        fclose(w->rejects);
}

/* The current part is full (or the input ended): writes it out. */
static int ingest_flush(ingest_worker *w)
{
    fs_batch *part = w->buf[w->cur];
    if (!part->n)
        return FS_OK;
    int rc = FS_OK;
    if (!*w->stream) /* the first part: the stream (and the commit's seq) starts */
        rc = fs_engine_stream_begin(w->s->engine, w->source, fs_store_chunk_interval, w->s, w->stream, &w->err);
    if (rc == FS_OK && w->writer) {
        w->writer->stream = *w->stream;
        if ((rc = ingest_writer_wait(w->writer)) == FS_OK &&
            (rc = ingest_writer_submit(w->writer, part, w->part_base + w->nparts++)) == FS_OK) {
            w->cur ^= 1;
            part = w->buf[w->cur];
        }
    } else if (rc == FS_OK) {
        rc = fs_engine_stream_add_part(*w->stream, part, w->part_base + w->nparts++, &w->err);
    }
    if (rc == FS_OK) {
        fs_batch_clear(part);
        if ((rc = fs_batch_reserve(part, w->cap)) == FS_OK)
            rc = fs_ingest_set_output(w->p, part);
    }
    return rc;
}

/* Reads and parses the worker's stretch; full parts are written out, the
 * last rows stay in buf[cur]. `progress` (main thread only) reports the
 * bytes and rows of this worker and of `other` (may be NULL). */
static int ingest_run(ingest_worker *w, const fs_ingest_opts *o, uint64_t total,
                      const ingest_worker *other)
{
    enum { PIECE = 256 << 10, SLICE = 32 << 10 };
    uint64_t pos = w->from;
    int rc = FS_OK;
    while (pos < w->to && !__atomic_load_n(&w->cancel, __ATOMIC_RELAXED)) {
        size_t want = w->to - pos < PIECE ? (size_t)(w->to - pos) : PIECE;
        ssize_t n = w->to == UINT64_MAX ? read(w->fd, w->piece, PIECE)
                                        : pread(w->fd, w->piece, want, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fs_sb_printf(&w->err, "cannot read the input: %s", strerror(errno));
            rc = FS_E_IO;
            break;
        }
        if (n == 0)
            break;
        /* fed in slices, so a full part overshoots its size by little */
        for (size_t off = 0; rc == FS_OK && off < (size_t)n; off += SLICE) {
            size_t len = (size_t)n - off < SLICE ? (size_t)n - off : SLICE;
            if ((rc = fs_ingest_feed(w->p, w->piece + off, len)) == FS_OK &&
                w->buf[w->cur]->n >= w->part_rows)
                rc = ingest_flush(w);
        }
        if (rc != FS_OK)
            break;
        pos += (uint64_t)n;
        __atomic_store_n(&w->done, pos - (w->to == UINT64_MAX ? 0 : w->from), __ATOMIC_RELAXED);
        __atomic_store_n(&w->rows, w->rep.rows_ok, __ATOMIC_RELAXED);
        if (o && o->progress) {
            uint64_t d = w->done, r = w->rep.rows_ok;
            if (other) {
                d += __atomic_load_n(&other->done, __ATOMIC_RELAXED);
                r += __atomic_load_n(&other->rows, __ATOMIC_RELAXED);
            }
            o->progress(o->progress_ctx, d, total, r);
        }
    }
    return rc;
}

static void *ingest_second_half(void *arg)
{
    ingest_worker *w = arg;
    w->rc = ingest_run(w, NULL, 0, NULL);
    if (w->rc == FS_OK && !__atomic_load_n(&w->cancel, __ATOMIC_RELAXED))
        w->rc = fs_ingest_finish(w->p);
    return NULL;
}

/* Appends the second half's rejects (numbered from its own line 1) to the
 * rejects file, renumbered: its line 1 is line `first` of the file. */
static int ingest_move_rejects(FILE *from, FILE *to, uint64_t first)
{
    if (fflush(from) != 0 || fseek(from, 0, SEEK_SET) != 0)
        return FS_E_IO;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = FS_OK;
    while ((n = getline(&line, &cap, from)) > 0) {
        char *tab = memchr(line, '\t', (size_t)n);
        unsigned long long ln = strtoull(line, NULL, 10);
        if (!tab || fprintf(to, "%llu", ln + first - 1) < 0 ||
            fwrite(tab, 1, (size_t)(n - (tab - line)), to) != (size_t)(n - (tab - line))) {
            rc = FS_E_IO;
            break;
        }
    }
    free(line);
    return rc;
}

/* The first line break at or after `at` (its offset + 1), or 0 if none
 * before `end`. */
static uint64_t ingest_line_after(int fd, uint64_t at, uint64_t end)
{
    char b[4096];
    while (at < end) {
        ssize_t n = pread(fd, b, sizeof b, (off_t)at);
        if (n <= 0)
            return 0;
        const char *nl = memchr(b, '\n', (size_t)n);
        if (nl)
            return at + (uint64_t)(nl - b) + 1;
        at += (uint64_t)n;
    }
    return 0;
}

int fs_ingest_file(fs_store *s, const char *source, const char *path, const fs_ingest_opts *opts,
                   fs_ingest_result *result)
{
    if (!s || !source || !path || !result)
        return FS_E_INVAL;
    memset(result, 0, sizeof *result);
    fs_ingest_opts o = opts ? *opts : (fs_ingest_opts){0};
    pthread_mutex_lock(&s->mu);
    int rc;
    fs_strbuf err = {0};
    FILE *rejects = NULL;
    int fd = -1;
    ingest_writer wr = {0};
    ingest_worker a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    fs_ingest_report_init(&a.rep);
    fs_ingest_report_init(&b.rep);
    fs_engine_stream *stream = NULL;
    pthread_t bth;
    int b_running = 0;
    size_t part_rows = (size_t)ingest_env("FSTORE_INGEST_PART_ROWS", INGEST_PART_ROWS);

    const fs_source_def *src = fs_reg_source(s->cat.reg, source);
    if (!src) {
        fs_sb_printf(&err, "no source named '%s' (see fstore ls --kind source)", source);
        rc = FS_E_NOTFOUND;
        goto out;
    }
    int fmt = fs_ingest_format_parse(o.format ? o.format : "csv");
    if (fmt < 0) {
        fs_sb_printf(&err, "unknown format '%s' (csv, jsonl, kline)", o.format);
        rc = FS_E_INVAL;
        goto out;
    }
    fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fs_sb_printf(&err, "cannot open %s: %s", path, strerror(errno));
        rc = errno == ENOENT ? FS_E_NOTFOUND : FS_E_IO;
        goto out;
    }
    if (o.rejects_path && !(rejects = fopen(o.rejects_path, "w"))) {
        fs_sb_printf(&err, "cannot create rejects file %s: %s", o.rejects_path, strerror(errno));
        rc = FS_E_IO;
        goto out;
    }
    /* Take the writer lock before parsing, so a busy store fails fast. */
    if ((rc = fs_store_engine(s, 1, o.lock_wait_ms)) != FS_OK) {
        pthread_mutex_unlock(&s->mu);
        fs_sb_free(&err);
        goto cleanup;
    }
    fs_ingest_options po = {0};
    po.name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    po.symbol = o.symbol;
    po.tf = o.tf;
    po.on_reject = rejects ? write_reject : NULL;
    po.reject_ctx = rejects;
    struct stat st;
    int regular = fd != STDIN_FILENO && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    uint64_t total = regular ? (uint64_t)st.st_size : 0;
    /* A small file needs no part-sized buffer (a CSV row takes 40 bytes or more). */
    size_t guess = total ? (size_t)(total / 40) + 1024 : 0;
    if ((rc = ingest_worker_init(&a, s, source, src, fd, part_rows, guess)) != FS_OK ||
        (rc = fs_ingest_begin(&a.p, s->cat.reg, src, (fs_ingest_format)fmt, &po, a.buf[0], &a.rep,
                              &err)) != FS_OK)
        goto out;
    a.stream = &stream;
    a.to = regular ? total : UINT64_MAX;

    /* Two halves at once: the first half's parser reads the header (in its
     * first slice), then a clone of it takes the second half. */
    uint64_t split = ingest_env("FSTORE_INGEST_SPLIT_BYTES", INGEST_SPLIT_BYTES);
    uint64_t mid = regular && total >= split ? ingest_line_after(fd, total / 2, total) : 0;
    if (mid && mid < total) {
        a.to = 32 << 10;
        if ((rc = ingest_run(&a, &o, total, NULL)) != FS_OK)
            goto parsed;
        if ((rc = ingest_worker_init(&b, s, source, src, fd, part_rows, 0)) != FS_OK)
            goto parsed;
        fs_ingest_options pb = po;
        if (rejects && !(pb.reject_ctx = b.rejects = tmpfile())) {
            fs_sb_printf(&err, "cannot create a temporary file: %s", strerror(errno));
            rc = FS_E_IO;
            goto parsed;
        }
        b.p = fs_ingest_clone(a.p, &pb, b.buf[0], &b.rep, &b.err);
        if (b.p) { /* the header is read: split */
            fs_ingest_set_position(b.p, 1, mid);
            b.stream = &stream;
            b.from = mid;
            b.to = total;
            b.part_base = INGEST_SECOND_HALF;
            if (!stream &&
                (rc = fs_engine_stream_begin(s->engine, source, fs_store_chunk_interval, s, &stream, &err)) != FS_OK)
                goto parsed;
            if (pthread_create(&bth, NULL, ingest_second_half, &b) == 0)
                b_running = 1;
        }
        a.from = a.to;
        a.to = b_running ? mid : total;
        a.done = 0;
        rc = ingest_run(&a, &o, total, b_running ? &b : NULL);
        if (b_running && rc == FS_OK && fs_ingest_pending(a.p)) {
            /* The halves met inside a quoted field: read the second half
             * again, in order, after the first. */
            __atomic_store_n(&b.cancel, 1, __ATOMIC_RELAXED);
            pthread_join(bth, NULL);
            b_running = 0;
            fs_engine_stream_drop_parts(stream, INGEST_SECOND_HALF);
            a.from = mid;
            a.to = total;
            rc = ingest_run(&a, &o, total, NULL);
            b.rc = FS_OK;
            b.rep.rows_ok = b.rep.rows_rejected = 0;
            b.buf[b.cur]->n = 0;
            if (b.rejects) {
                fclose(b.rejects);
                b.rejects = NULL;
            }
        }
        if (rc == FS_OK)
            rc = fs_ingest_finish(a.p);
        if (b_running) {
            if (rc != FS_OK)
                __atomic_store_n(&b.cancel, 1, __ATOMIC_RELAXED);
            pthread_join(bth, NULL);
            b_running = 0;
            if (rc == FS_OK && b.rc != FS_OK) {
                rc = b.rc;
                fs_sb_puts(&err, fs_sb_str(&b.err));
            }
            if (rc == FS_OK && rejects && b.rejects &&
                ingest_move_rejects(b.rejects, rejects, fs_ingest_next_line(a.p)) != FS_OK) {
                fs_sb_printf(&err, "cannot write rejects file %s", o.rejects_path);
                rc = FS_E_IO;
            }
        }
    } else {
        /* In order, one parser, a second thread encoding the previous part. */
        a.writer = &wr;
        rc = ingest_run(&a, &o, total, NULL);
        if (rc == FS_OK)
            rc = fs_ingest_finish(a.p);
        int wrc = ingest_writer_wait(&wr);
        ingest_writer_stop(&wr);
        if (wrc != FS_OK) { /* the writer's failure explains the main loop's too */
            if (rc == FS_OK || rc == wrc)
                fs_sb_puts(&err, fs_sb_str(&wr.err));
            if (rc == FS_OK)
                rc = wrc;
        }
        a.writer = NULL;
    }
parsed:
    fs_sb_puts(&err, fs_sb_str(&a.err));
    if (rc == FS_OK && o.progress)
        o.progress(o.progress_ctx, regular ? total : a.done, total, a.rep.rows_ok + b.rep.rows_ok);
    if (rc == FS_OK) {
        result->rows_ok = a.rep.rows_ok + b.rep.rows_ok;
        result->rows_rejected = a.rep.rows_rejected + b.rep.rows_rejected;
        if (rejects && fclose(rejects) != 0) {
            rejects = NULL;
            fs_sb_printf(&err, "cannot write rejects file %s: %s", o.rejects_path, strerror(errno));
            rc = FS_E_IO;
        }
        rejects = NULL;
    }
    fs_batch *last = a.buf[a.cur];
    if (rc == FS_OK && !stream && last->n >= INGEST_STREAM_MIN_ROWS)
        rc = fs_engine_stream_begin(s->engine, source, fs_store_chunk_interval, s, &stream, &err);
    if (rc == FS_OK && stream && a.rep.rows_ok + b.rep.rows_ok == 0) {
        fs_engine_stream_abort(stream); /* every row rejected: nothing to commit */
        stream = NULL;
    }
    int streamed = rc == FS_OK && stream;
    if (streamed) {
        /* one file, one commit: the record naming every part commits them all */
        if (last->n)
            rc = fs_engine_stream_add_part(stream, last, a.part_base + a.nparts++, &err);
        if (rc == FS_OK && b.buf[0] && b.buf[b.cur]->n)
            rc = fs_engine_stream_add_part(stream, b.buf[b.cur], b.part_base + b.nparts++, &err);
        if (rc == FS_OK) {
            rc = fs_engine_stream_commit(stream, &result->seq, &err);
            stream = NULL;
        }
    } else if (rc == FS_OK && last->n) {
        /* a small file: one commit through the log; the engine takes the part */
        a.buf[a.cur] = NULL;
        rc = fs_engine_commit_owned(s->engine, source, last, &result->seq, &err);
    }
    fs_engine_stream_abort(stream); /* after a failure: its parts go */
    stream = NULL;
    if (rc != FS_OK)
        result->rows_ok = 0;
    else if (streamed /* the manifest lists its files, the log forgets it */ ||
             fs_engine_rows_since_checkpoint(s->engine) >= CHECKPOINT_ROWS) {
        fs_strbuf cerr = {0};
        if (fs_engine_checkpoint(s->engine, fs_store_chunk_interval, s, &cerr) != FS_OK)
            /* the commit is durable in the log; the checkpoint can be retried */
            fprintf(stderr, "fstore: warning: checkpoint failed: %s\n", fs_sb_str(&cerr));
        fs_sb_free(&cerr);
    }
out:
    if (rc != FS_OK)
        fs_store_fail(s, rc, fs_sb_str(&err));
    pthread_mutex_unlock(&s->mu);
    fs_sb_free(&err);
cleanup:
    if (b_running) {
        __atomic_store_n(&b.cancel, 1, __ATOMIC_RELAXED);
        pthread_join(bth, NULL);
    }
    ingest_writer_stop(&wr);
    fs_sb_free(&wr.err);
    fs_engine_stream_abort(stream);
    ingest_worker_free(&a);
    ingest_worker_free(&b);
    if (rejects)
        fclose(rejects);
    if (fd > STDIN_FILENO)
        close(fd);
    return rc;
}

/* ---- reads ------------------------------------------------------------------ */

static json_t *time_json(int64_t ns)
{
    char buf[FS_TIME_STRLEN];
    fs_format_time(ns, buf, sizeof buf);
    return json_string(buf);
}

/* A stored value as JSON (null for a null or a non-finite float). */
static json_t *value_json(const fs_column *c, size_t row)
{
    if (!c->valid[row])
        return json_null();
    switch (c->type) {
    case FS_VT_INT64: return json_integer(c->i64[row]);
    case FS_VT_FLOAT64: return isfinite(c->f64[row]) ? json_real(c->f64[row]) : json_null();
    case FS_VT_BOOL: return json_boolean(c->b[row]);
    case FS_VT_TIMESTAMP: return time_json(c->i64[row]);
    case FS_VT_STRING: return json_stringn(c->s[row], c->slen[row]);
    }
    return json_null();
}

static int count_keys(const char *entity)
{
    int n = 1;
    for (const char *p = entity; *p; p++)
        n += *p == ':';
    return n;
}

static int dump(fs_store *s, json_t *o, char **json)
{
    *json = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(o);
    return *json ? FS_OK : fs_store_fail(s, FS_E_NOMEM, NULL);
}

/* The key of view v's entity from ENTITY, given as the values of `wide`'s
 * join keys joined by ':' (a market key BTCUSDT:1h gives the asset key
 * BTCUSDT). Returns 0, or -1 when wide does not give a key v needs. */
static int view_entity_key(const fs_registry *r, const fs_entity_def *wide, const char *entity,
                           const fs_view_def *v, char *out, size_t sz)
{
    const fs_entity_def *ev = fs_reg_entity(r, v->entity);
    if (!ev || ev == wide) {
        snprintf(out, sz, "%s", entity);
        return 0;
    }
    out[0] = 0;
    for (size_t k = 0; k < ev->join_keys.n; k++) {
        size_t w = 0;
        while (w < wide->join_keys.n && strcmp(wide->join_keys.items[w], ev->join_keys.items[k]) != 0)
            w++;
        if (w == wide->join_keys.n)
            return -1;
        const char *p = entity; /* the w-th ':'-separated value */
        for (size_t i = 0; i < w; i++)
            p = strchr(p, ':') + 1;
        size_t len = strcspn(p, ":");
        snprintf(out + strlen(out), sz - strlen(out), "%s%.*s", k ? ":" : "", (int)len, p);
    }
    return 0;
}

static int get_refs(fs_store *s, const char *entity, const fs_feature_ref *refs, size_t n_features,
                    int64_t at, uint64_t known_at, char **json);

static int get_locked(fs_store *s, const char *entity, const char *const *features, size_t n_features,
                      int64_t at, uint64_t known_at, char **json)
{
    const fs_registry *r = s->cat.reg;
    char msg[512];
    /* Every name resolved before anything is read. */
    fs_feature_ref *refs = NULL;
    size_t nrefs = 0, bad = 0;
    int rc = fs_reg_expand_features(r, features, n_features, &refs, &nrefs, &bad);
    if (rc == FS_E_NOTFOUND) {
        snprintf(msg, sizeof msg, "unknown feature '%s' (write it as view:feature, or a view name)",
                 features[bad]);
        return fs_store_fail(s, rc, msg);
    }
    if (rc != FS_OK)
        return fs_store_fail(s, rc, NULL);
    rc = get_refs(s, entity, refs, nrefs, at, known_at, json);
    free(refs);
    return rc;
}

static int get_refs(fs_store *s, const char *entity, const fs_feature_ref *refs, size_t n_features,
                    int64_t at, uint64_t known_at, char **json)
{
    const fs_registry *r = s->cat.reg;
    char msg[512];
    int rc = FS_OK;
    /* ENTITY is keyed like the view with the most join keys; the others take
     * their keys from it. */
    const fs_entity_def *wide = NULL;
    for (size_t i = 0; i < n_features; i++) {
        const fs_view_def *v = refs[i].view;
        const fs_entity_def *e = fs_reg_entity(r, v->entity);
        if (e && (!wide || e->join_keys.n > wide->join_keys.n))
            wide = e;
    }
    if (wide && (size_t)count_keys(entity) != wide->join_keys.n) {
        snprintf(msg, sizeof msg, "entity '%s' does not match entity '%s', keyed by %zu value%s (",
                 entity, wide->name, wide->join_keys.n, wide->join_keys.n == 1 ? "" : "s");
        for (size_t k = 0; k < wide->join_keys.n; k++)
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%s%s", k ? ":" : "",
                     wide->join_keys.items[k]);
        snprintf(msg + strlen(msg), sizeof msg - strlen(msg), ")");
        return fs_store_fail(s, FS_E_INVAL, msg);
    }
    for (size_t i = 0; wide && i < n_features; i++) {
        const fs_view_def *v = refs[i].view;
        char key[512];
        if (view_entity_key(r, wide, entity, v, key, sizeof key)) {
            snprintf(msg, sizeof msg, "view '%s' is keyed by entity '%s', whose join keys entity "
                     "'%s' does not all have", v->name, v->entity, wide->name);
            return fs_store_fail(s, FS_E_INVAL, msg);
        }
    }
    if ((rc = fs_store_engine(s, 0, 0)) != FS_OK)
        return rc;
    json_t *o = json_object(), *arr = json_array();
    json_object_set_new(o, "entity", json_string(entity));
    json_object_set_new(o, "at", at == FS_TIME_LATEST ? json_string("latest") : time_json(at));
    json_object_set_new(o, "known_at", json_integer((json_int_t)(known_at == FS_KNOWN_ALL_COMMITS
                                                                     ? fs_engine_last_seq(s->engine)
                                                                     : known_at)));
    for (size_t i = 0; i < n_features; i++) {
        const fs_view_def *v = refs[i].view;
        const fs_feature_def *f = refs[i].feature;
        json_t *it = json_object();
        char qname[512];
        snprintf(qname, sizeof qname, "%s:%s", v->name, f->name);
        json_object_set_new(it, "feature", json_string(qname));
        char key[512];
        if (wide)
            view_entity_key(r, wide, entity, v, key, sizeof key);
        else
            snprintf(key, sizeof key, "%s", entity);
        /* `from:` features read the source; computed ones their view's table. */
        char vtable[300];
        snprintf(vtable, sizeof vtable, "%s%s", FS_VIEW_TABLE_PREFIX, v->name);
        const char *table = f->how == FS_PROD_FROM ? v->source : vtable;
        const char *colname = f->how == FS_PROD_FROM ? f->from : f->name;
        fs_row_ref ref;
        int col;
        int found = fs_engine_asof(s->engine, table, key, at, at == FS_TIME_LATEST ? 0 : v->ttl_ns,
                                   known_at, &ref);
        if (found < 0) { /* a chunk file that cannot be read: an error, not "not found" */
            json_decref(it);
            json_decref(arr);
            json_decref(o);
            fs_strbuf m = {0};
            fs_sb_printf(&m, "cannot read the stored rows of %s: %s", table, fs_strerror(found));
            fs_engine_read_error(s->engine, &m);
            snprintf(msg, sizeof msg, "%s", fs_sb_str(&m));
            fs_sb_free(&m);
            return fs_store_fail(s, found, msg);
        }
        if (found == 1 && (col = fs_batch_col(ref.batch, colname)) >= 0) {
            /* "Latest" returns the newest value even when it is older than the
             * TTL, and says so (as Feast's OUTSIDE_MAX_AGE): the age is
             * measured from now. At a given time the TTL bounds the lookup. */
            const fs_column *c = &ref.batch->cols[col];
            int64_t ts = ref.batch->event_ts[ref.row];
            int stale = at == FS_TIME_LATEST && v->ttl_ns > 0 && fs_now_ns() - ts > v->ttl_ns;
            json_object_set_new(it, "value", value_json(c, ref.row));
            json_object_set_new(it, "event_ts", time_json(ts));
            json_object_set_new(it, "seq", json_integer((json_int_t)ref.batch->seq[ref.row]));
            /* Confidence: the source row's, or what compute derived (the
             * minimum of its inputs'); 1 when the source records none. */
            const fs_source_def *vsrc = fs_reg_source(r, v->source);
            const char *ccol = f->how == FS_PROD_FROM ? (vsrc ? vsrc->confidence : NULL) : "_confidence";
            int cc = ccol ? fs_batch_col(ref.batch, ccol) : -1;
            json_object_set_new(it, "confidence", cc < 0 ? json_real(1.0) : value_json(&ref.batch->cols[cc], ref.row));
            int job = fs_batch_col(ref.batch, "_job");
            if (job >= 0) /* lineage: the job that computed it names the definitions' versions */
                json_object_set_new(it, "job", json_integer((json_int_t)ref.batch->cols[job].i64[ref.row]));
            json_object_set_new(it, "status", json_string(!c->valid[ref.row] ? "NULL_VALUE"
                                                          : stale            ? "OUTSIDE_MAX_AGE"
                                                                             : "PRESENT"));
        } else {
            fs_row_ref any;
            int computed = f->how == FS_PROD_FROM ||
                           fs_engine_latest(s->engine, table, key, FS_KNOWN_ALL_COMMITS, &any) == 1;
            json_object_set_new(it, "value", json_null());
            json_object_set_new(it, "status", json_string(computed ? "NOT_FOUND" : "NOT_COMPUTED"));
        }
        json_array_append_new(arr, it);
    }
    json_object_set_new(o, "features", arr);
    return dump(s, o, json);
}

int fs_get_json(fs_store *s, const char *entity, const char *const *features, size_t n_features,
                int64_t at, uint64_t known_at, char **json)
{
    if (!s || !entity || !json || (!features && n_features))
        return FS_E_INVAL;
    *json = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = get_locked(s, entity, features, n_features, at, known_at, json);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int fs_get_service_json(fs_store *s, const char *entity, const char *service, int64_t at,
                        uint64_t known_at, char **json)
{
    if (!s || !entity || !service || !json)
        return FS_E_INVAL;
    *json = NULL;
    pthread_mutex_lock(&s->mu);
    const fs_registry *r = s->cat.reg;
    const fs_service_def *sv = fs_reg_service(r, service);
    int rc;
    if (!sv) {
        char msg[300];
        snprintf(msg, sizeof msg, "no feature service named '%s' (see fstore ls --kind service)", service);
        rc = fs_store_fail(s, FS_E_NOTFOUND, msg);
    } else {
        rc = get_locked(s, entity, sv->features.items, sv->features.n, at, known_at, json);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

typedef struct {
    json_t *rows;
    int cols[256];
    size_t ncols;
} hist_ctx;

static int hist_row(void *p, fs_row_ref r)
{
    hist_ctx *h = p;
    json_t *row = json_array();
    json_array_append_new(row, time_json(r.batch->event_ts[r.row]));
    json_array_append_new(row, json_integer((json_int_t)r.batch->seq[r.row]));
    for (size_t k = 0; k < h->ncols; k++)
        json_array_append_new(row, h->cols[k] >= 0 ? value_json(&r.batch->cols[h->cols[k]], r.row)
                                                   : json_null());
    json_array_append_new(h->rows, row);
    return 0;
}

int fs_history_json(fs_store *s, const char *table, const char *entity, int64_t from, int64_t to,
                    size_t limit, const char *const *columns, size_t n_columns, uint64_t known_at,
                    char **json)
{
    if (!s || !table || !entity || !json)
        return FS_E_INVAL;
    *json = NULL;
    pthread_mutex_lock(&s->mu);
    char msg[512];
    int rc = FS_OK;
    /* A source, or a view's computed features: "view:NAME", or a view name
     * that no source has. */
    const fs_registry *reg = s->cat.reg;
    const fs_source_def *src = fs_reg_source(reg, table);
    const fs_view_def *view = NULL;
    char vtable[300];
    size_t plen = strlen(FS_VIEW_TABLE_PREFIX);
    if (!src)
        view = fs_reg_view(reg, strncmp(table, FS_VIEW_TABLE_PREFIX, plen) == 0 ? table + plen : table);
    hist_ctx h = {NULL, {0}, 0};
    json_t *names = json_array();
    if (!src && !view) {
        snprintf(msg, sizeof msg, "no source or view named '%s' (see fstore ls)", table);
        rc = fs_store_fail(s, FS_E_NOTFOUND, msg);
        goto out;
    }
    if (view) {
        snprintf(vtable, sizeof vtable, "%s%s", FS_VIEW_TABLE_PREFIX, view->name);
        table = vtable;
    }
    size_t all = 0; /* the table's columns: the source's, or the view's computed features */
    for (size_t k = 0; view && k < view->n_features; k++)
        all += view->features[k].how != FS_PROD_FROM;
    size_t want = columns ? n_columns : src ? src->n_columns : all;
    if (want > sizeof h.cols / sizeof h.cols[0]) {
        rc = fs_store_fail(s, FS_E_INVAL, "too many columns");
        goto out;
    }
    for (size_t k = 0, vi = 0; k < want; k++) {
        const char *name;
        if (columns)
            name = columns[k];
        else if (src)
            name = src->columns[k].name;
        else {
            while (view->features[vi].how == FS_PROD_FROM)
                vi++;
            name = view->features[vi++].name;
        }
        const fs_feature_def *vf = view ? fs_view_feature(view, name) : NULL;
        if (src ? !fs_source_column(src, name) : !vf || vf->how == FS_PROD_FROM) {
            if (src)
                snprintf(msg, sizeof msg, "source '%s' has no column '%s'", table, name);
            else
                snprintf(msg, sizeof msg, "view '%s' has no computed feature '%s'%s", view->name,
                         name, vf ? " (it is a source column: read the source's history)" : "");
            rc = fs_store_fail(s, FS_E_NOTFOUND, msg);
            goto out;
        }
        json_array_append_new(names, json_string(name));
    }
    if ((rc = fs_store_engine(s, 0, 0)) != FS_OK)
        goto out;
    h.rows = json_array();
    /* Column positions come from the stored batches, whose layout is the
     * source's at commit time: look them up by name on the first row. */
    fs_row_ref first;
    int has = fs_engine_latest(s->engine, table, entity, known_at, &first);
    for (size_t k = 0; k < want; k++)
        h.cols[k] = has == 1 ? fs_batch_col(first.batch, json_string_value(json_array_get(names, k))) : -1;
    h.ncols = want;
    int hr = has < 0 ? has /* a chunk file that cannot be read */
                     : fs_engine_history(s->engine, table, entity, from, to, known_at, limit, hist_row, &h);
    if (hr < 0) {
        fs_strbuf m = {0};
        fs_sb_printf(&m, "cannot read the stored rows of %s: %s", table, fs_strerror(hr));
        fs_engine_read_error(s->engine, &m);
        snprintf(msg, sizeof msg, "%s", fs_sb_str(&m));
        fs_sb_free(&m);
        rc = fs_store_fail(s, hr, msg);
        goto out;
    }
    json_t *o = json_object();
    json_object_set_new(o, "table", json_string(table));
    json_object_set_new(o, "entity", json_string(entity));
    json_t *cols = json_array();
    json_array_append_new(cols, json_string("event_ts"));
    json_array_append_new(cols, json_string("seq"));
    json_array_extend(cols, names);
    json_object_set_new(o, "columns", cols);
    json_object_set_new(o, "rows", h.rows);
    h.rows = NULL;
    rc = dump(s, o, json);
out:
    json_decref(names);
    json_decref(h.rows);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int log_one(void *ctx, const fs_commit_info *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer((json_int_t)c->seq));
    json_object_set_new(o, "time", time_json(c->time_ns));
    json_object_set_new(o, "table", json_string(c->table));
    json_object_set_new(o, "rows", json_integer((json_int_t)c->rows));
    json_array_append_new(ctx, o);
    return 0;
}

int fs_log_json(fs_store *s, char **json)
{
    if (!s || !json)
        return FS_E_INVAL;
    *json = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = fs_store_engine(s, 0, 0);
    if (rc == FS_OK) {
        json_t *o = json_object(), *arr = json_array();
        fs_engine_commits(s->engine, log_one, arr);
        json_object_set_new(o, "commits", arr);
        rc = dump(s, o, json);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
