/* Columnar batches (see batch.h): growth, setters, sorting, and the
 * self-describing serialization that WAL records carry.
 *
 * Serialized layout (integers via buf.h: varints LEB128, u64 little-endian):
 *   varint  format (1)
 *   varint  table name length, bytes
 *   varint  row count n, varint column count
 *   per column: varint name length, bytes, u8 type
 *   n x (varint entity length, bytes)     entity keys
 *   n x svarint                           event_ts
 *   n x varint                            seq
 *   per column: validity (n bytes, 0/1), then the n values:
 *     INT64/TIMESTAMP svarint, FLOAT64 u64 bits, BOOL u8, STRING varint len + bytes
 * Plain and simple on purpose: a WAL record is read once, at recovery; the
 * compressed layouts are for chunk files. */
#include "storage/batch.h"

#include "core/bigmem.h"

#include "fstore.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Large column arrays ask for transparent huge pages (core/bigmem.h): a
 * batch of a million rows is ~100 MB, and first-touching it in 4 KiB pages
 * cost more than parsing the rows. */

/* Capacity for exactly `cap` rows (cap >= b->n). */
static int resize(fs_batch *b, size_t cap)
{
#define GROW(ptr)                                                                                 \
    do {                                                                                          \
        void *p_ = realloc((ptr), cap * sizeof *(ptr));                                           \
        if (!p_)                                                                                  \
            return -1;                                                                            \
        (ptr) = p_;                                                                               \
        fs_huge_hint(p_, cap * sizeof *(ptr));                                                       \
    } while (0)
    GROW(b->entity);
    GROW(b->entity_len);
    GROW(b->event_ts);
    GROW(b->seq);
    for (size_t c = 0; c < b->ncols; c++) {
        fs_column *col = &b->cols[c];
        GROW(col->valid);
        switch (col->type) {
        case FS_VT_INT64:
        case FS_VT_TIMESTAMP: GROW(col->i64); break;
        case FS_VT_FLOAT64: GROW(col->f64); break;
        case FS_VT_BOOL: GROW(col->b); break;
        case FS_VT_STRING:
            GROW(col->s);
            GROW(col->slen);
            break;
        }
    }
#undef GROW
    b->cap = cap;
    return 0;
}

static int grow(fs_batch *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    return resize(b, cap);
}

int fs_batch_reserve(fs_batch *b, size_t rows)
{
    return rows <= b->cap ? FS_OK : resize(b, rows) ? FS_E_NOMEM : FS_OK;
}

int fs_batch_init(fs_batch *b, const fs_colspec *cols, size_t ncols)
{
    memset(b, 0, sizeof *b);
    b->cols = calloc(ncols ? ncols : 1, sizeof *b->cols);
    if (!b->cols)
        return FS_E_NOMEM;
    b->ncols = ncols;
    for (size_t c = 0; c < ncols; c++) {
        b->cols[c].name = cols[c].name;
        b->cols[c].type = cols[c].type;
    }
    return FS_OK;
}

void fs_batch_free(fs_batch *b)
{
    free(b->entity);
    free(b->entity_len);
    free(b->event_ts);
    free(b->seq);
    for (size_t c = 0; c < b->ncols; c++) {
        fs_column *col = &b->cols[c];
        free(col->valid);
        free(col->i64);
        free(col->f64);
        free(col->b);
        free(col->s);
        free(col->slen);
    }
    free(b->cols);
    fs_arena_free(&b->arena);
    fs_arena_free(&b->meta);
    memset(b, 0, sizeof *b);
}

void fs_batch_clear(fs_batch *b)
{
    b->n = 0;
    fs_arena_free(&b->arena); /* strings of dropped rows */
}

long fs_batch_add_row(fs_batch *b, const char *entity, size_t entity_len, int64_t event_ts)
{
    if (grow(b, b->n + 1))
        return -1;
    /* Rows of one entity usually come together: share the previous row's
     * copy of the key instead of copying it again for every row. */
    const char *e;
    if (b->n && b->entity_len[b->n - 1] == entity_len &&
        memcmp(b->entity[b->n - 1], entity, entity_len) == 0)
        e = b->entity[b->n - 1];
    else if (!(e = fs_arena_strndup(&b->arena, entity, entity_len)))
        return -1;
    size_t r = b->n;
    b->entity[r] = e;
    b->entity_len[r] = (uint32_t)entity_len;
    b->event_ts[r] = event_ts;
    b->seq[r] = 0;
    for (size_t c = 0; c < b->ncols; c++) {
        fs_column *col = &b->cols[c];
        col->valid[r] = 0;
        switch (col->type) {
        case FS_VT_INT64:
        case FS_VT_TIMESTAMP: col->i64[r] = 0; break;
        case FS_VT_FLOAT64: col->f64[r] = 0; break;
        case FS_VT_BOOL: col->b[r] = 0; break;
        case FS_VT_STRING:
            col->s[r] = "";
            col->slen[r] = 0;
            break;
        }
    }
    b->n++;
    return (long)r;
}

void fs_batch_set_i64(fs_batch *b, size_t col, size_t row, int64_t v)
{
    b->cols[col].i64[row] = v;
    b->cols[col].valid[row] = 1;
}

void fs_batch_set_f64(fs_batch *b, size_t col, size_t row, double v)
{
    b->cols[col].f64[row] = v;
    b->cols[col].valid[row] = 1;
}

void fs_batch_set_bool(fs_batch *b, size_t col, size_t row, int v)
{
    b->cols[col].b[row] = v ? 1 : 0;
    b->cols[col].valid[row] = 1;
}

int fs_batch_set_str(fs_batch *b, size_t col, size_t row, const char *s, size_t len)
{
    fs_column *c = &b->cols[col];
    const char *copy;
    /* Symbols, timeframes and labels repeat row after row: share the
     * previous row's copy when it is the same string. */
    if (row && c->valid[row - 1] && c->slen[row - 1] == len && memcmp(c->s[row - 1], s, len) == 0)
        copy = c->s[row - 1];
    else if (!(copy = fs_arena_strndup(&b->arena, s, len)))
        return -1;
    c->s[row] = copy;
    c->slen[row] = (uint32_t)len;
    c->valid[row] = 1;
    return 0;
}

void fs_batch_pop_row(fs_batch *b)
{
    if (b->n)
        b->n--; /* its strings stay in the arena until clear/free: harmless */
}

int fs_batch_copy_row(fs_batch *dst, const fs_batch *src, size_t row)
{
    return fs_batch_copy_row_cols(dst, src, row, NULL);
}

int fs_batch_copy_row_cols(fs_batch *dst, const fs_batch *src, size_t row, const int *map)
{
    long r = fs_batch_add_row(dst, src->entity[row], src->entity_len[row], src->event_ts[row]);
    if (r < 0)
        return -1;
    dst->seq[r] = src->seq[row];
    for (size_t c = 0; c < dst->ncols; c++) {
        int k = map ? map[c] : c < src->ncols ? (int)c : -1;
        if (k < 0 || !src->cols[k].valid[row])
            continue;
        const fs_column *sc = &src->cols[k];
        switch (sc->type) {
        case FS_VT_INT64:
        case FS_VT_TIMESTAMP: fs_batch_set_i64(dst, c, (size_t)r, sc->i64[row]); break;
        case FS_VT_FLOAT64: fs_batch_set_f64(dst, c, (size_t)r, sc->f64[row]); break;
        case FS_VT_BOOL: fs_batch_set_bool(dst, c, (size_t)r, sc->b[row]); break;
        case FS_VT_STRING:
            if (fs_batch_set_str(dst, c, (size_t)r, sc->s[row], sc->slen[row]))
                return -1;
            break;
        }
    }
    return 0;
}

int fs_batch_append_shared(fs_batch *dst, const fs_batch *src)
{
    if (!src->n)
        return FS_OK;
    if (grow(dst, dst->n + src->n))
        return FS_E_NOMEM;
    size_t o = dst->n, n = src->n;
#define CP(field) memcpy(dst->field + o, src->field, n * sizeof *src->field)
    CP(entity);
    CP(entity_len);
    CP(event_ts);
    CP(seq);
    for (size_t c = 0; c < dst->ncols && c < src->ncols; c++) {
        CP(cols[c].valid);
        switch (src->cols[c].type) {
        case FS_VT_INT64:
        case FS_VT_TIMESTAMP: CP(cols[c].i64); break;
        case FS_VT_FLOAT64: CP(cols[c].f64); break;
        case FS_VT_BOOL: CP(cols[c].b); break;
        case FS_VT_STRING:
            CP(cols[c].s);
            CP(cols[c].slen);
            break;
        }
    }
#undef CP
    dst->n += n;
    return FS_OK;
}

int fs_batch_col(const fs_batch *b, const char *name)
{
    for (size_t c = 0; c < b->ncols; c++)
        if (strcmp(b->cols[c].name, name) == 0)
            return (int)c;
    return -1;
}

/* ---- sorting: compute a permutation, then apply it column by column ---- */

static int cmp_rows(const fs_batch *b, size_t x, size_t y)
{
    uint32_t lx = b->entity_len[x], ly = b->entity_len[y];
    int c = memcmp(b->entity[x], b->entity[y], lx < ly ? lx : ly);
    if (c)
        return c;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    if (b->event_ts[x] != b->event_ts[y])
        return b->event_ts[x] < b->event_ts[y] ? -1 : 1;
    if (b->seq[x] != b->seq[y])
        return b->seq[x] < b->seq[y] ? -1 : 1;
    return x < y ? -1 : x > y; /* stable: equal keys keep their order */
}

static const fs_batch *sort_batch; /* qsort has no context argument in C11 */
static int cmp_index(const void *a, const void *b)
{
    return cmp_rows(sort_batch, *(const size_t *)a, *(const size_t *)b);
}

#define PERMUTE(arr, type)                                                                        \
    do {                                                                                          \
        type *tmp_ = malloc(b->n * sizeof *tmp_);                                                 \
        if (!tmp_) {                                                                              \
            free(perm);                                                                           \
            return FS_E_NOMEM;                                                                    \
        }                                                                                         \
        for (size_t i_ = 0; i_ < b->n; i_++)                                                      \
            tmp_[i_] = (arr)[perm[i_]];                                                           \
        memcpy((arr), tmp_, b->n * sizeof *tmp_);                                                 \
        free(tmp_);                                                                               \
    } while (0)

int fs_batch_sort(fs_batch *b)
{
    if (b->n < 2)
        return FS_OK;
    int sorted = 1;
    for (size_t i = 1; i < b->n && sorted; i++)
        sorted = cmp_rows(b, i - 1, i) < 0;
    if (sorted)
        return FS_OK; /* the common case: ingest files come in order */
    size_t *perm = malloc(b->n * sizeof *perm);
    if (!perm)
        return FS_E_NOMEM;
    for (size_t i = 0; i < b->n; i++)
        perm[i] = i;
    /* qsort_r would avoid the static, but it is not C11; sorting is done by
     * the single writer thread, so the static is not shared concurrently. */
    sort_batch = b;
    qsort(perm, b->n, sizeof *perm, cmp_index);
    sort_batch = NULL;
    PERMUTE(b->entity, const char *);
    PERMUTE(b->entity_len, uint32_t);
    PERMUTE(b->event_ts, int64_t);
    PERMUTE(b->seq, uint64_t);
    for (size_t c = 0; c < b->ncols; c++) {
        fs_column *col = &b->cols[c];
        PERMUTE(col->valid, uint8_t);
        switch (col->type) {
        case FS_VT_INT64:
        case FS_VT_TIMESTAMP: PERMUTE(col->i64, int64_t); break;
        case FS_VT_FLOAT64: PERMUTE(col->f64, double); break;
        case FS_VT_BOOL: PERMUTE(col->b, uint8_t); break;
        case FS_VT_STRING:
            PERMUTE(col->s, const char *);
            PERMUTE(col->slen, uint32_t);
            break;
        }
    }
    free(perm);
    return FS_OK;
}

/* ---- serialization ---- */

int fs_batch_serialize(const fs_batch *b, const char *table, fs_wbuf *w)
{
    fs_wbuf_varint(w, 1);
    fs_wbuf_varint(w, strlen(table));
    fs_wbuf_bytes(w, table, strlen(table));
    fs_wbuf_varint(w, b->n);
    fs_wbuf_varint(w, b->ncols);
    for (size_t c = 0; c < b->ncols; c++) {
        fs_wbuf_varint(w, strlen(b->cols[c].name));
        fs_wbuf_bytes(w, b->cols[c].name, strlen(b->cols[c].name));
        fs_wbuf_u8(w, (uint8_t)b->cols[c].type);
    }
    for (size_t r = 0; r < b->n; r++) {
        fs_wbuf_varint(w, b->entity_len[r]);
        fs_wbuf_bytes(w, b->entity[r], b->entity_len[r]);
    }
    for (size_t r = 0; r < b->n; r++)
        fs_wbuf_svarint(w, b->event_ts[r]);
    for (size_t r = 0; r < b->n; r++)
        fs_wbuf_varint(w, b->seq[r]);
    for (size_t c = 0; c < b->ncols; c++) {
        const fs_column *col = &b->cols[c];
        fs_wbuf_bytes(w, col->valid, b->n);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (col->type == FS_VT_FLOAT64) { /* little-endian u64 bits: the array as it is */
            fs_wbuf_bytes(w, col->f64, b->n * sizeof(double));
            continue;
        }
#endif
        for (size_t r = 0; r < b->n; r++) {
            switch (col->type) {
            case FS_VT_INT64:
            case FS_VT_TIMESTAMP: fs_wbuf_svarint(w, col->i64[r]); break;
            case FS_VT_FLOAT64: {
                uint64_t bits;
                memcpy(&bits, &col->f64[r], 8);
                fs_wbuf_u64(w, bits);
                break;
            }
            case FS_VT_BOOL: fs_wbuf_u8(w, col->b[r]); break;
            case FS_VT_STRING:
                fs_wbuf_varint(w, col->slen[r]);
                fs_wbuf_bytes(w, col->s[r], col->slen[r]);
                break;
            }
        }
    }
    return fs_wbuf_status(w);
}

/* A string of `len` bytes from r, copied into the batch arena. */
static const char *read_str(fs_rbuf *r, fs_batch *b, uint64_t len)
{
    const uint8_t *p = len <= UINT32_MAX ? fs_rbuf_take(r, (size_t)len) : NULL;
    return p ? fs_arena_strndup(&b->arena, (const char *)p, (size_t)len) : NULL;
}

int fs_batch_deserialize(const void *data, size_t len, const char **table, fs_batch *out)
{
    fs_rbuf r;
    fs_rbuf_init(&r, data, len);
    uint64_t fmt, tlen, n, ncols;
    memset(out, 0, sizeof *out);
    if (fs_rbuf_varint(&r, &fmt) || fmt != 1 || fs_rbuf_varint(&r, &tlen))
        return FS_E_CORRUPT;
    fs_arena names = {0}; /* column names outlive fs_batch_init's borrowing */
    const uint8_t *tp = fs_rbuf_take(&r, tlen <= len ? (size_t)tlen : len + 1);
    if (!tp || fs_rbuf_varint(&r, &n) || fs_rbuf_varint(&r, &ncols) ||
        n > len || ncols > len) /* each row and column takes at least a byte */
        return FS_E_CORRUPT;
    fs_colspec *spec = calloc(ncols ? ncols : 1, sizeof *spec);
    if (!spec)
        return FS_E_NOMEM;
    for (uint64_t c = 0; c < ncols; c++) {
        uint64_t nl;
        uint8_t type;
        const uint8_t *np;
        if (fs_rbuf_varint(&r, &nl) || !(np = fs_rbuf_take(&r, nl <= len ? (size_t)nl : len + 1)) ||
            fs_rbuf_u8(&r, &type) || type > FS_VT_TIMESTAMP) {
            free(spec);
            fs_arena_free(&names);
            return FS_E_CORRUPT;
        }
        spec[c].name = fs_arena_strndup(&names, (const char *)np, (size_t)nl);
        spec[c].type = (fs_vtype)type;
    }
    int rc = fs_batch_init(out, spec, (size_t)ncols);
    free(spec);
    if (rc != FS_OK || grow(out, (size_t)n)) {
        fs_arena_free(&names);
        fs_batch_free(out);
        return FS_E_NOMEM;
    }
    /* Hand the names to the batch, so it owns everything it points to. */
    out->meta = names;
    names = (fs_arena){0};
    *table = fs_arena_strndup(&out->meta, (const char *)tp, (size_t)tlen);
    rc = FS_E_CORRUPT;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t el;
        if (fs_rbuf_varint(&r, &el) || el > UINT32_MAX)
            goto bad;
        const char *e = read_str(&r, out, el);
        if (!e)
            goto bad;
        out->entity[i] = e;
        out->entity_len[i] = (uint32_t)el;
    }
    for (uint64_t i = 0; i < n; i++)
        if (fs_rbuf_svarint(&r, &out->event_ts[i]))
            goto bad;
    for (uint64_t i = 0; i < n; i++)
        if (fs_rbuf_varint(&r, &out->seq[i]))
            goto bad;
    out->n = (size_t)n;
    for (size_t c = 0; c < out->ncols; c++) {
        fs_column *col = &out->cols[c];
        if (n && fs_rbuf_bytes(&r, col->valid, (size_t)n))
            goto bad;
        for (size_t i = 0; i < n; i++) {
            if (col->valid[i] > 1)
                goto bad;
            switch (col->type) {
            case FS_VT_INT64:
            case FS_VT_TIMESTAMP:
                if (fs_rbuf_svarint(&r, &col->i64[i]))
                    goto bad;
                break;
            case FS_VT_FLOAT64: {
                uint64_t bits;
                if (fs_rbuf_u64(&r, &bits))
                    goto bad;
                memcpy(&col->f64[i], &bits, 8);
                break;
            }
            case FS_VT_BOOL:
                if (fs_rbuf_u8(&r, &col->b[i]) || col->b[i] > 1)
                    goto bad;
                break;
            case FS_VT_STRING: {
                uint64_t sl;
                if (fs_rbuf_varint(&r, &sl) || sl > UINT32_MAX || !(col->s[i] = read_str(&r, out, sl)))
                    goto bad;
                col->slen[i] = (uint32_t)sl;
                break;
            }
            }
        }
    }
    if (r.pos != r.len)
        goto bad;
    return FS_OK;
bad:
    fs_batch_free(out);
    *table = NULL;
    return rc;
}
