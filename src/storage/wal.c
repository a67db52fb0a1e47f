/* The write-ahead log (see wal.h for the contract).
 *
 * Layout. Segment files `SEQ.wal`, SEQ being the first record's sequence
 * number as 16 hex digits (so names sort in log order), each:
 *   header   8 bytes  magic "FSWAL001"
 *            8 bytes  first sequence number, u64 little-endian
 *   records  4 bytes  payload length, u32 LE
 *            4 bytes  CRC-32C over the length, the sequence number and the payload
 *            8 bytes  sequence number, u64 LE (consecutive across segments)
 *            N bytes  payload
 * The CRC covers the length and sequence number too, so a torn or flipped
 * header is caught like a torn payload.
 *
 * Design notes:
 *  a) A record is written with one pwrite at the segment's end. If it fails
 *     (ENOSPC, EFBIG under RLIMIT_FSIZE, EIO) the file is cut back to where
 *     the record began, so no partial record ever precedes a later good one.
 *     If even that fails the WAL refuses further appends (reopen recovers).
 *  b) Group commit: the first waiter that finds no sync running syncs all
 *     bytes written so far and wakes the others; a waiter whose record was
 *     covered returns without a sync of its own.
 *  c) Recovery stops at the first bad record and truncates it and everything
 *     after it, in later segments too: records after a hole cannot be
 *     trusted to be the ones the writer acknowledged in order.
 *  d) A new segment's directory entry is fsynced before any record in it is
 *     acknowledged; the previous segment is fully synced before the switch.
 *  e) The process must not die of SIGXFSZ for (a) to hold under a file-size
 *     limit: callers that set RLIMIT_FSIZE ignore that signal (the test does). */
#include "storage/wal.h"

#include "core/crc32c.h"
#include "core/fileio.h"
#include "fstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SEG_HEADER = 16, REC_HEADER = 16 };
static const char MAGIC[8] = {'F', 'S', 'W', 'A', 'L', '0', '0', '1'};
#define MAX_PAYLOAD ((size_t)UINT32_MAX) /* the length field is a u32 */

typedef struct {
    uint64_t first_seq;
    char *path;
} segment;

struct fs_wal {
    char *dir;
    fs_wal_options opt;
    pthread_mutex_t mu;
    pthread_cond_t synced;
    segment *segs; /* in log order; the last is the active one */
    size_t n_segs, cap_segs;
    int fd;        /* active segment, -1 before the first append */
    uint64_t offset;       /* end of the active segment */
    uint64_t last_seq;     /* last appended */
    uint64_t durable_seq;  /* last known durable */
    uint64_t unsynced_bytes;
    uint64_t sync_count;
    int syncing;
    int broken;
    int read_only;
};

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int errno_rc(int e) { return e == ENOSPC || e == EDQUOT || e == EFBIG ? FS_E_NOSPACE : FS_E_IO; }

static uint32_t record_crc(const uint8_t *hdr, const void *payload, size_t len)
{
    uint32_t c = fs_crc32c(0, hdr, 4);       /* length */
    c = fs_crc32c(c, hdr + 8, 8);            /* sequence number */
    return fs_crc32c(c, payload, len);
}

static char *seg_path(const char *dir, uint64_t first)
{
    size_t n = strlen(dir) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%016" PRIx64 ".wal", dir, first);
    return p;
}

static int add_segment(fs_wal *w, uint64_t first, char *path)
{
    if (w->n_segs == w->cap_segs) {
        size_t cap = w->cap_segs ? 2 * w->cap_segs : 8;
        segment *s = realloc(w->segs, cap * sizeof *s);
        if (!s)
            return FS_E_NOMEM;
        w->segs = s;
        w->cap_segs = cap;
    }
    w->segs[w->n_segs++] = (segment){first, path};
    return FS_OK;
}

static int cmp_seg(const void *a, const void *b)
{
    const segment *x = a, *y = b;
    return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

/* Cuts `path` to `len` bytes and makes the cut durable. */
static int truncate_file(const char *path, uint64_t len, fs_strbuf *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)len) != 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        fs_sb_printf(err, "cannot truncate %s: %s", path, strerror(e));
        return FS_E_IO;
    }
    close(fd);
    return FS_OK;
}

/* Scans one segment: valid records are counted and the offset of the first
 * bad one (or the file's end) returned in *good_end. Returns 1 when the
 * segment ended in a bad record, with the reason in `why`. */
static int scan_segment(const uint8_t *data, size_t len, uint64_t first_expected, uint64_t *last_seq,
                        uint64_t *records, size_t *good_end, char *why, size_t whysz,
                        fs_wal_fn fn, void *ctx, uint64_t after_seq, int *fn_rc)
{
    if (len < SEG_HEADER || memcmp(data, MAGIC, 8) != 0 || get64(data + 8) != first_expected) {
        *good_end = 0;
        snprintf(why, whysz, "bad segment header");
        return 1;
    }
    size_t pos = SEG_HEADER;
    uint64_t expect = first_expected;
    while (pos < len) {
        if (len - pos < REC_HEADER) {
            snprintf(why, whysz, "torn record header");
            break;
        }
        const uint8_t *h = data + pos;
        uint32_t plen = get32(h);
        if (plen > len - pos - REC_HEADER) {
            snprintf(why, whysz, "torn record (length %" PRIu32 " past the end)", plen);
            break;
        }
        if (record_crc(h, h + REC_HEADER, plen) != get32(h + 4)) {
            snprintf(why, whysz, "checksum mismatch");
            break;
        }
        uint64_t seq = get64(h + 8);
        if (seq != expect) {
            snprintf(why, whysz, "sequence %" PRIu64 " where %" PRIu64 " was expected", seq, expect);
            break;
        }
        if (fn && seq > after_seq && (*fn_rc = fn(ctx, seq, h + REC_HEADER, plen)) != 0)
            return 0;
        *last_seq = seq;
        (*records)++;
        expect++;
        pos += REC_HEADER + plen;
    }
    *good_end = pos;
    return pos < len;
}

int fs_wal_open(const char *dir, const fs_wal_options *opts, fs_wal **out, fs_wal_recovery *rec,
                fs_strbuf *err)
{
    *out = NULL;
    fs_wal_recovery local;
    if (!rec)
        rec = &local;
    memset(rec, 0, sizeof *rec);
    int read_only = opts && opts->read_only;
    int rc = read_only ? FS_OK : fs_mkdirs(dir, err);
    if (rc != FS_OK)
        return rc;
    fs_wal *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        return FS_E_NOMEM;
    }
    w->opt.policy = opts ? opts->policy : FS_SYNC_ALWAYS;
    w->opt.batch_bytes = opts && opts->batch_bytes ? opts->batch_bytes : (size_t)1 << 20;
    w->opt.segment_bytes = opts && opts->segment_bytes ? opts->segment_bytes : (size_t)64 << 20;
    w->fd = -1;
    w->read_only = read_only;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->synced, NULL);

    DIR *d = opendir(dir);
    if (!d && read_only && errno == ENOENT) { /* nothing written yet: an empty log */
        *out = w;
        return FS_OK;
    }
    if (!d) {
        fs_sb_printf(err, "cannot list %s: %s", dir, strerror(errno));
        fs_wal_close(w, NULL);
        return FS_E_IO;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t first;
        int used = 0;
        if (strlen(e->d_name) == 20 && sscanf(e->d_name, "%16" SCNx64 ".wal%n", &first, &used) == 1 &&
            used == 20) {
            char *p = seg_path(dir, first);
            if (!p || add_segment(w, first, p) != FS_OK) {
                free(p);
                closedir(d);
                fs_wal_close(w, NULL);
                return FS_E_NOMEM;
            }
        }
    }
    closedir(d);
    if (w->n_segs) /* qsort of a NULL array is undefined even for zero elements */
        qsort(w->segs, w->n_segs, sizeof *w->segs, cmp_seg);

    /* Scan in order; at the first bad record cut there and drop what follows. */
    uint64_t expect = w->n_segs ? w->segs[0].first_seq : 1;
    size_t keep = w->n_segs;
    for (size_t i = 0; i < w->n_segs; i++) {
        char *data = NULL;
        size_t len = 0;
        if ((rc = fs_read_file(w->segs[i].path, &data, &len, err)) != FS_OK) {
            fs_wal_close(w, NULL);
            return rc;
        }
        size_t good_end = 0;
        char why[128] = "";
        int fn_rc = 0;
        int bad = w->segs[i].first_seq != expect ||
                  scan_segment((const uint8_t *)data, len, w->segs[i].first_seq, &rec->last_seq,
                               &rec->records, &good_end, why, sizeof why, NULL, NULL, 0, &fn_rc);
        if (w->segs[i].first_seq != expect) {
            good_end = 0;
            snprintf(why, sizeof why, "segment starts at %" PRIu64 ", expected %" PRIu64,
                     w->segs[i].first_seq, expect);
        }
        free(data);
        if (bad && read_only) { /* a writer may be mid-append: stop here, change nothing */
            keep = i + 1;
            break;
        }
        if (bad) {
            snprintf(rec->dropped_at, sizeof rec->dropped_at, "%s at offset %zu: %s",
                     w->segs[i].path, good_end, why);
            rec->dropped_bytes += len - good_end;
            /* A crash between creating a segment and writing its header
             * leaves a file with no valid header (often empty): remove it,
             * or appends would go on at offset 0 of a headerless file. A
             * valid header alone stays: it carries the numbering. */
            if (good_end < SEG_HEADER) {
                unlink(w->segs[i].path);
                keep = i;
            } else {
                if ((rc = truncate_file(w->segs[i].path, good_end, err)) != FS_OK) {
                    fs_wal_close(w, NULL);
                    return rc;
                }
                keep = i + 1;
            }
            for (size_t k = i + 1; k < w->n_segs; k++) { /* everything after the hole */
                struct stat st;
                if (stat(w->segs[k].path, &st) == 0)
                    rec->dropped_bytes += (uint64_t)st.st_size;
                unlink(w->segs[k].path);
            }
            break;
        }
        expect = rec->last_seq + 1;
        if (rec->records == 0) /* an empty first segment: numbering continues from it */
            expect = w->segs[i].first_seq;
    }
    for (size_t k = keep; k < w->n_segs; k++)
        free(w->segs[k].path);
    w->n_segs = keep;
    if (rec->dropped_bytes && (rc = fs_fsync_dir(dir, err)) != FS_OK) {
        fs_wal_close(w, NULL);
        return rc;
    }
    w->last_seq = w->durable_seq = rec->last_seq ? rec->last_seq
                                                 : (w->n_segs ? w->segs[0].first_seq - 1 : 0);
    rec->last_seq = w->last_seq;

    if (w->n_segs && !read_only) { /* continue appending to the last segment */
        segment *s = &w->segs[w->n_segs - 1];
        w->fd = open(s->path, O_WRONLY | O_CLOEXEC);
        struct stat st;
        if (w->fd < 0 || fstat(w->fd, &st) != 0) {
            fs_sb_printf(err, "cannot open %s: %s", s->path, strerror(errno));
            fs_wal_close(w, NULL);
            return FS_E_IO;
        }
        w->offset = (uint64_t)st.st_size;
    }
    *out = w;
    return FS_OK;
}

/* Under w->mu with no sync running: syncs the active segment completely. */
static int sync_locked(fs_wal *w, fs_strbuf *err)
{
    if (w->fd >= 0 && w->durable_seq < w->last_seq) {
        if (fdatasync(w->fd) != 0) {
            fs_sb_printf(err, "cannot sync the write-ahead log in %s: %s", w->dir, strerror(errno));
            w->broken = 1;
            return FS_E_IO;
        }
        w->sync_count++;
    }
    w->durable_seq = w->last_seq;
    w->unsynced_bytes = 0;
    return FS_OK;
}

/* Under w->mu: starts a new segment whose first record will be `first`. */
static int rotate(fs_wal *w, uint64_t first, fs_strbuf *err)
{
    while (w->syncing) /* the leader is using the old fd without the lock */
        pthread_cond_wait(&w->synced, &w->mu);
    int rc = sync_locked(w, err);
    if (rc != FS_OK)
        return rc;
    char *path = seg_path(w->dir, first);
    if (!path)
        return FS_E_NOMEM;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    uint8_t hdr[SEG_HEADER];
    memcpy(hdr, MAGIC, 8);
    put64(hdr + 8, first);
    if (fd < 0 || pwrite(fd, hdr, SEG_HEADER, 0) != SEG_HEADER || fsync(fd) != 0) {
        int e = errno;
        fs_sb_printf(err, "cannot create %s: %s", path, strerror(e));
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        free(path);
        return errno_rc(e);
    }
    if ((rc = fs_fsync_dir(w->dir, err)) != FS_OK || (rc = add_segment(w, first, path)) != FS_OK) {
        close(fd);
        unlink(path);
        free(path);
        return rc;
    }
    if (w->fd >= 0)
        close(w->fd);
    w->fd = fd;
    w->offset = SEG_HEADER;
    return FS_OK;
}

static int wait_durable(fs_wal *w, uint64_t seq, fs_strbuf *err)
{
    int rc = FS_OK;
    pthread_mutex_lock(&w->mu);
    while (w->durable_seq < seq && rc == FS_OK) {
        if (w->broken) {
            rc = FS_E_IO;
            break;
        }
        if (w->syncing) {
            pthread_cond_wait(&w->synced, &w->mu);
            continue;
        }
        /* Become the leader: sync everything written so far, for everyone. */
        w->syncing = 1;
        uint64_t target = w->last_seq;
        int fd = w->fd;
        pthread_mutex_unlock(&w->mu);
        int ok = fdatasync(fd) == 0;
        int e = errno;
        pthread_mutex_lock(&w->mu);
        w->syncing = 0;
        if (ok) {
            w->sync_count++;
            if (target > w->durable_seq)
                w->durable_seq = target;
            w->unsynced_bytes = 0;
        } else {
            w->broken = 1;
            fs_sb_printf(err, "cannot sync the write-ahead log in %s: %s", w->dir, strerror(e));
            rc = FS_E_IO;
        }
        pthread_cond_broadcast(&w->synced);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Writes all of buf at offset; 0, or the errno of the failure. */
static int pwrite_all(int fd, const void *buf, size_t len, uint64_t offset)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : ENOSPC;
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int fs_wal_append(fs_wal *w, const void *payload, size_t len, uint64_t *seq_out, fs_strbuf *err)
{
    if (len > MAX_PAYLOAD || (!payload && len))
        return FS_E_INVAL;
    pthread_mutex_lock(&w->mu);
    int rc = FS_OK;
    if (w->read_only) {
        rc = FS_E_INVAL;
        goto out;
    }
    if (w->broken) {
        fs_sb_printf(err, "the write-ahead log in %s failed earlier; reopen the store", w->dir);
        rc = FS_E_IO;
        goto out;
    }
    uint64_t seq = w->last_seq + 1;
    if (w->fd < 0 || (w->offset + REC_HEADER + len > w->opt.segment_bytes && w->offset > SEG_HEADER)) {
        if ((rc = rotate(w, seq, err)) != FS_OK)
            goto out;
    }
    /* Header and payload in two writes: a large payload is not copied. */
    uint8_t hdr[REC_HEADER];
    put32(hdr, (uint32_t)len);
    put64(hdr + 8, seq);
    put32(hdr + 4, record_crc(hdr, payload, len));
    fs_fault_point("wal-before-write");
    int e = pwrite_all(w->fd, hdr, REC_HEADER, w->offset);
    if (!e && len)
        e = pwrite_all(w->fd, payload, len, w->offset + REC_HEADER);
    if (e) {
        fs_sb_printf(err, "cannot write to the write-ahead log in %s: %s", w->dir, strerror(e));
        rc = errno_rc(e);
        /* Cut the partial record away so the log stays a clean prefix. */
        if (ftruncate(w->fd, (off_t)w->offset) != 0)
            w->broken = 1;
        goto out;
    }
    w->offset += REC_HEADER + len;
    w->last_seq = seq;
    w->unsynced_bytes += REC_HEADER + len;
    *seq_out = seq;
    int need_sync = w->opt.policy == FS_SYNC_ALWAYS ||
                    (w->opt.policy == FS_SYNC_BATCH && w->unsynced_bytes >= w->opt.batch_bytes);
    pthread_mutex_unlock(&w->mu);
    fs_fault_point("wal-before-sync");
    return need_sync ? wait_durable(w, seq, err) : FS_OK;
out:
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int fs_wal_sync(fs_wal *w, fs_strbuf *err)
{
    pthread_mutex_lock(&w->mu);
    uint64_t seq = w->last_seq;
    pthread_mutex_unlock(&w->mu);
    return wait_durable(w, seq, err);
}

int fs_wal_replay(fs_wal *w, uint64_t after_seq, fs_wal_fn fn, void *ctx, fs_strbuf *err)
{
    pthread_mutex_lock(&w->mu);
    int rc = FS_OK;
    for (size_t i = 0; i < w->n_segs && rc == FS_OK; i++) {
        if (i + 1 < w->n_segs && w->segs[i + 1].first_seq <= after_seq + 1)
            continue; /* every record of this segment is at or before after_seq */
        char *data = NULL;
        size_t len = 0;
        if ((rc = fs_read_file(w->segs[i].path, &data, &len, err)) != FS_OK)
            break;
        uint64_t last = 0, n = 0;
        size_t good_end = 0;
        char why[128];
        int fn_rc = 0;
        int bad = scan_segment((const uint8_t *)data, len, w->segs[i].first_seq, &last, &n, &good_end,
                               why, sizeof why, fn, ctx, after_seq, &fn_rc);
        free(data);
        if (fn_rc)
            rc = fn_rc;
        else if (bad && !w->read_only) { /* open() left a clean log: this is new damage */
            fs_sb_printf(err, "%s at offset %zu: %s", w->segs[i].path, good_end, why);
            rc = FS_E_CORRUPT;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int fs_wal_trim(fs_wal *w, uint64_t upto, fs_strbuf *err)
{
    pthread_mutex_lock(&w->mu);
    int rc = FS_OK;
    /* Everything is covered: switch to a fresh, empty segment so the old one
     * can go too. The new segment's header carries the next sequence number,
     * so numbering continues across a reopen. */
    if (!w->read_only && upto >= w->last_seq && w->fd >= 0 && w->offset > SEG_HEADER &&
        (rc = rotate(w, w->last_seq + 1, err)) != FS_OK) {
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    size_t drop = 0;
    /* Segment i holds seqs [first_i, first_{i+1}); keep the active one. */
    while (drop + 1 < w->n_segs && w->segs[drop + 1].first_seq <= upto + 1)
        drop++;
    for (size_t i = 0; i < drop; i++) {
        if (unlink(w->segs[i].path) != 0 && errno != ENOENT) {
            fs_sb_printf(err, "cannot remove %s: %s", w->segs[i].path, strerror(errno));
            rc = FS_E_IO;
            drop = i;
            break;
        }
        free(w->segs[i].path);
    }
    if (drop)
        memmove(w->segs, w->segs + drop, (w->n_segs - drop) * sizeof *w->segs);
    w->n_segs -= drop;
    if (drop && rc == FS_OK)
        rc = fs_fsync_dir(w->dir, err);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

uint64_t fs_wal_first_seq(fs_wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t v = w->n_segs ? w->segs[0].first_seq : w->last_seq + 1;
    pthread_mutex_unlock(&w->mu);
    return v;
}

uint64_t fs_wal_last_seq(fs_wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t v = w->last_seq;
    pthread_mutex_unlock(&w->mu);
    return v;
}

uint64_t fs_wal_durable_seq(fs_wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t v = w->durable_seq;
    pthread_mutex_unlock(&w->mu);
    return v;
}

uint64_t fs_wal_sync_count(fs_wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t v = w->sync_count;
    pthread_mutex_unlock(&w->mu);
    return v;
}

int fs_wal_close(fs_wal *w, fs_strbuf *err)
{
    if (!w)
        return FS_OK;
    int rc = FS_OK;
    pthread_mutex_lock(&w->mu);
    if (!w->broken && !w->read_only)
        rc = sync_locked(w, err);
    pthread_mutex_unlock(&w->mu);
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; i < w->n_segs; i++)
        free(w->segs[i].path);
    free(w->segs);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->synced);
    free(w->dir);
    free(w);
    return rc;
}
