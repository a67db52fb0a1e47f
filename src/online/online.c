/* The online store handle: loading and refreshing view files, the writers'
 * protocol, prepared queries and the lookup hot path (online.h explains the
 * structure; fstore.h is the contract). */
#include "online/online.h"

#include "api/store_internal.h"
#include "core/fileio.h"
#include "core/timeutil.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* What a handle keeps of the registry besides its views, so that queries
 * resolve without the store's lock. */
typedef struct {
    char *name;
    size_t n;
    char **items; /* "view:feature" or "view" */
} oservice;

typedef struct oextra {
    size_t nsvc;
    oservice *svc;
    size_t noff;
    char **offline; /* views that exist but are not online */
} oextra;

/* The handles of this process, one per store handle. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
typedef struct ohandle {
    fs_online *o;
    oextra *x;
    struct ohandle *next;
} ohandle;
static ohandle *g_handles;

static oextra *extra_of(const fs_online *o)
{
    for (ohandle *h = g_handles; h; h = h->next)
        if (h->o == o)
            return h->x;
    return NULL;
}

const char *fs_online_status_name(int status)
{
    switch (status) {
    case FS_ONLINE_PRESENT: return "PRESENT";
    case FS_ONLINE_NULL_VALUE: return "NULL_VALUE";
    case FS_ONLINE_OUTSIDE_MAX_AGE: return "OUTSIDE_MAX_AGE";
    default: return "NOT_FOUND";
    }
}

/* ---- creating and freeing ------------------------------------------------------ */

static void view_free(oview *v)
{
    free(v->name);
    free(v->source);
    free(v->vtable);
    free(v->src_conf);
    for (size_t k = 0; k < v->nkeys; k++)
        free(v->keys[k]);
    free(v->keys);
    for (size_t f = 0; f < v->nf; f++) {
        free(v->f[f].name);
        free(v->f[f].qname);
        free(v->f[f].column);
    }
    free(v->f);
    fs_otab_free(atomic_load(&v->tab));
}

static void extra_free(oextra *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nsvc; i++) {
        free(x->svc[i].name);
        for (size_t k = 0; k < x->svc[i].n; k++)
            free(x->svc[i].items[k]);
        free(x->svc[i].items);
    }
    free(x->svc);
    for (size_t i = 0; i < x->noff; i++)
        free(x->offline[i]);
    free(x->offline);
    free(x);
}

static void online_free(fs_online *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nv; i++)
        view_free(&o->views[i]);
    free(o->views);
    free(o->dir);
    pthread_mutex_destroy(&o->wmu);
    free(o);
}

static char *dupstr(const char *s, int *oom)
{
    char *d = strdup(s ? s : "");
    if (!d)
        *oom = 1;
    return d;
}

static int view_init(oview *v, const fs_registry *r, const fs_view_def *d)
{
    int oom = 0;
    v->name = dupstr(d->name, &oom);
    v->source = dupstr(d->source, &oom);
    size_t vl = strlen(FS_VIEW_TABLE_PREFIX) + strlen(d->name) + 1;
    if ((v->vtable = malloc(vl)))
        snprintf(v->vtable, vl, "%s%s", FS_VIEW_TABLE_PREFIX, d->name);
    else
        oom = 1;
    const fs_source_def *src = fs_reg_source(r, d->source);
    if (src && src->confidence)
        v->src_conf = dupstr(src->confidence, &oom);
    v->ttl_ns = d->ttl_ns;
    const fs_entity_def *ent = fs_reg_entity(r, d->entity);
    size_t nk = ent ? ent->join_keys.n : 0;
    if (nk > FS_ONLINE_MAX_KEYS)
        nk = FS_ONLINE_MAX_KEYS;
    v->keys = calloc(nk + 1, sizeof *v->keys);
    for (size_t k = 0; v->keys && k < nk; k++, v->nkeys++)
        v->keys[k] = dupstr(ent->join_keys.items[k], &oom);
    v->f = calloc(d->n_features + 1, sizeof *v->f);
    if (!v->keys || !v->f)
        return FS_E_NOMEM;
    for (size_t i = 0; i < d->n_features; i++, v->nf++) {
        const fs_feature_def *f = &d->features[i];
        ofeat *of = &v->f[i];
        of->name = dupstr(f->name, &oom);
        size_t ql = strlen(d->name) + strlen(f->name) + 2;
        if ((of->qname = malloc(ql)))
            snprintf(of->qname, ql, "%s:%s", d->name, f->name);
        else
            oom = 1;
        of->from = f->how == FS_PROD_FROM;
        of->column = dupstr(of->from ? f->from : f->name, &oom);
        v->any_from |= of->from;
        v->any_computed |= !of->from;
    }
    otab *t = fs_otab_new(v->nf);
    atomic_store(&v->tab, t);
    if (!t)
        oom = 1;
    return oom ? FS_E_NOMEM : FS_OK;
}

static char *view_path(const fs_online *o, const oview *v)
{
    size_t len = strlen(o->dir) + strlen(v->name) + 8;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s.bin", o->dir, v->name);
    return p;
}

static int64_t mtime_of(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * FS_NS_PER_S + st->st_mtim.tv_nsec;
}

static int same_file(const oview *v, const struct stat *st)
{
    return v->has_file && v->dev == st->st_dev && v->ino == st->st_ino &&
           v->mtime_ns == mtime_of(st) && v->size == st->st_size;
}

static void remember(oview *v, const struct stat *st)
{
    v->has_file = 1;
    v->dev = st->st_dev;
    v->ino = st->st_ino;
    v->mtime_ns = mtime_of(st);
    v->size = st->st_size;
}

/* ---- readers and the publication of tables ---------------------------------------
 *
 * A reader increments `enters` of its thread's slot, loads table pointers,
 * copies what it needs, and increments `exits`. A writer swaps a view's
 * pointer, then, for each slot, reads `enters` and waits until `exits` has
 * caught up with it: every reader that could have loaded the old pointer
 * entered before the swap (sequentially consistent increments and loads), so
 * once they have all left, nobody holds it. Readers entering later see the
 * new pointer. `exits` always catches up (readers leave), so writers never
 * starve; threads beyond READER_SLOTS share slots, which stays correct. */
enum { READER_SLOTS = 64 };
typedef struct {
    _Atomic uint64_t enters, exits;
    char pad[128 - 2 * sizeof(uint64_t)]; /* two lines: the adjacent-line prefetcher pairs them */
} reader_slot;
static _Alignas(128) reader_slot g_readers[READER_SLOTS];
static atomic_uint g_next_reader;
static _Thread_local int t_reader = -1;

void *fs_online_read_begin(void)
{
    if (t_reader < 0)
        t_reader = (int)(atomic_fetch_add(&g_next_reader, 1) % READER_SLOTS);
    reader_slot *r = &g_readers[t_reader];
    atomic_fetch_add(&r->enters, 1);
    return r;
}

void fs_online_read_end(void *token)
{
    atomic_fetch_add_explicit(&((reader_slot *)token)->exits, 1, memory_order_release);
}

static void wait_for_readers(void)
{
    for (int i = 0; i < READER_SLOTS; i++) {
        uint64_t entered = atomic_load(&g_readers[i].enters);
        while (atomic_load_explicit(&g_readers[i].exits, memory_order_acquire) < entered)
            sched_yield();
    }
}

/* Publishes table t as v's (taking it) and frees the old one. */
static void publish(oview *v, otab *t)
{
    otab *old = atomic_exchange(&v->tab, t);
    wait_for_readers();
    fs_otab_free(old);
}

/* Re-reads v's file when it is not the one loaded. Returns 1 when reloaded,
 * 0 when unchanged, or an error. Call with o->wmu held. */
static int sync_view(fs_online *o, oview *v, fs_strbuf *err)
{
    char *path = view_path(o, v);
    if (!path)
        return FS_E_NOMEM;
    struct stat st;
    int rc = 0;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) {
            if (v->has_file) { /* removed (a new data directory in its place?): empty */
                otab *t = fs_otab_new(v->nf);
                if (!t)
                    rc = FS_E_NOMEM;
                else {
                    publish(v, t);
                    v->has_file = 0;
                    rc = 1;
                }
            }
        } else {
            fs_sb_printf(err, "cannot stat %s: %s", path, strerror(errno));
            rc = FS_E_IO;
        }
        free(path);
        return rc;
    }
    if (same_file(v, &st)) {
        free(path);
        return 0;
    }
    char *data = NULL;
    size_t len = 0;
    fs_strbuf perr = {0};
    rc = fs_read_file(path, &data, &len, err);
    otab *t = NULL;
    if (rc == FS_OK && (rc = fs_otab_parse(v, (const uint8_t *)data, len, &t, &perr)) != FS_OK)
        fs_sb_printf(err, "%s: %s", path, fs_sb_str(&perr));
    fs_sb_free(&perr);
    free(data);
    if (rc == FS_OK) {
        publish(v, t);
        remember(v, &st);
        rc = 1;
    }
    free(path);
    return rc;
}

static int copy_extra(const fs_registry *r, oextra *x)
{
    int oom = 0;
    x->svc = calloc(r->n_services + 1, sizeof *x->svc);
    x->offline = calloc(r->n_views + 1, sizeof *x->offline);
    if (!x->svc || !x->offline)
        return FS_E_NOMEM;
    for (size_t i = 0; i < r->n_services; i++, x->nsvc++) {
        const fs_service_def *sd = &r->services[i];
        oservice *sv = &x->svc[i];
        sv->name = dupstr(sd->name, &oom);
        if (!(sv->items = calloc(sd->features.n + 1, sizeof *sv->items)))
            return FS_E_NOMEM;
        for (size_t k = 0; k < sd->features.n; k++, sv->n++)
            sv->items[k] = dupstr(sd->features.items[k], &oom);
    }
    for (size_t i = 0; i < r->n_views; i++)
        if (!r->views[i].online)
            x->offline[x->noff++] = dupstr(r->views[i].name, &oom);
    return oom ? FS_E_NOMEM : FS_OK;
}

int fs_online_acquire(fs_store *s, fs_online **out, fs_strbuf *err)
{
    *out = NULL;
    pthread_mutex_lock(&g_mu);
    for (ohandle *h = g_handles; h; h = h->next)
        if (h->o->store == s) {
            h->o->refs++;
            *out = h->o;
            pthread_mutex_unlock(&g_mu);
            return FS_OK;
        }
    const fs_registry *r = s->cat.reg;
    fs_online *o = calloc(1, sizeof *o);
    ohandle *h = calloc(1, sizeof *h);
    oextra *x = calloc(1, sizeof *x);
    int rc = o && h && x ? FS_OK : FS_E_NOMEM;
    if (o)
        pthread_mutex_init(&o->wmu, NULL);
    if (rc == FS_OK) {
        o->store = s;
        o->refs = 1;
        o->dir = fs_path_join(s->dir, "online");
        size_t n = 0;
        for (size_t i = 0; i < r->n_views; i++)
            n += r->views[i].online != 0;
        o->views = calloc(n + 1, sizeof *o->views);
        if (!o->dir || !o->views)
            rc = FS_E_NOMEM;
        for (size_t i = 0; rc == FS_OK && i < r->n_views; i++)
            if (r->views[i].online)
                rc = view_init(&o->views[o->nv++], r, &r->views[i]);
        if (rc == FS_OK)
            rc = copy_extra(r, x);
    }
    if (rc == FS_OK) {
        pthread_mutex_lock(&o->wmu);
        for (size_t i = 0; rc == FS_OK && i < o->nv; i++) {
            int k = sync_view(o, &o->views[i], err);
            rc = k < 0 ? k : FS_OK;
        }
        pthread_mutex_unlock(&o->wmu);
    }
    if (rc != FS_OK) {
        online_free(o);
        free(h);
        extra_free(x);
        pthread_mutex_unlock(&g_mu);
        return rc;
    }
    h->o = o;
    h->x = x;
    h->next = g_handles;
    g_handles = h;
    *out = o;
    pthread_mutex_unlock(&g_mu);
    return FS_OK;
}

int fs_online_open(fs_store *s, fs_online **out, char **detail)
{
    if (out)
        *out = NULL;
    if (detail)
        *detail = NULL;
    if (!s || !out)
        return FS_E_INVAL;
    fs_strbuf err = {0};
    pthread_mutex_lock(&s->mu);
    int rc = fs_online_acquire(s, out, &err);
    pthread_mutex_unlock(&s->mu);
    if (rc != FS_OK && detail) {
        if (!err.len)
            fs_sb_puts(&err, fs_strerror(rc));
        *detail = fs_sb_take(&err);
    }
    fs_sb_free(&err);
    return rc;
}

void fs_online_close(fs_online *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&g_mu);
    if (--o->refs > 0) {
        pthread_mutex_unlock(&g_mu);
        return;
    }
    for (ohandle **p = &g_handles; *p; p = &(*p)->next)
        if ((*p)->o == o) {
            ohandle *h = *p;
            *p = h->next;
            extra_free(h->x);
            free(h);
            break;
        }
    pthread_mutex_unlock(&g_mu);
    online_free(o);
}

oview *fs_online_view(fs_online *o, const char *name)
{
    for (size_t i = 0; i < o->nv; i++)
        if (strcmp(o->views[i].name, name) == 0)
            return &o->views[i];
    return NULL;
}

int fs_online_refresh(fs_online *o)
{
    if (!o)
        return FS_E_INVAL;
    int n = 0, rc = 0;
    pthread_mutex_lock(&o->wmu);
    for (size_t i = 0; i < o->nv; i++) {
        int k = sync_view(o, &o->views[i], NULL);
        if (k < 0)
            rc = k;
        else
            n += k;
    }
    pthread_mutex_unlock(&o->wmu);
    return rc < 0 ? rc : n;
}

void fs_online_counts(fs_online *o, void (*fn)(void *ctx, const char *view, size_t n), void *ctx)
{
    for (size_t i = 0; i < o->nv; i++) {
        oview *v = &o->views[i];
        void *rd = fs_online_read_begin();
        size_t n = atomic_load(&v->tab)->n;
        fs_online_read_end(rd);
        fn(ctx, v->name, n);
    }
}

/* ---- writing ------------------------------------------------------------------ */

int fs_online_write_begin(fs_online *o, int wait_ms, int *lockfd, fs_strbuf *err)
{
    *lockfd = -1;
    int rc = fs_mkdirs(o->dir, err);
    if (rc != FS_OK)
        return rc;
    char *lock = fs_path_join(o->dir, "LOCK");
    if (!lock)
        return FS_E_NOMEM;
    rc = fs_lock(lock, wait_ms, lockfd, err);
    free(lock);
    if (rc == FS_OK)
        pthread_mutex_lock(&o->wmu);
    return rc;
}

void fs_online_write_end(fs_online *o, int lockfd)
{
    pthread_mutex_unlock(&o->wmu);
    fs_unlock(lockfd);
}

int fs_online_edit(fs_online *o, oview *v, otab **copy, fs_strbuf *err)
{
    *copy = NULL;
    int rc = sync_view(o, v, err);
    if (rc < 0)
        return rc;
    /* Only writers (who hold wmu) replace v->tab: it cannot go meanwhile. */
    return (*copy = fs_otab_clone(atomic_load(&v->tab))) ? FS_OK : FS_E_NOMEM;
}

int fs_online_commit_view(fs_online *o, oview *v, otab *copy, fs_strbuf *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    copy->generation++;
    int rc = fs_otab_serialize(v, copy, &data, &len);
    char *path = rc == FS_OK ? view_path(o, v) : NULL;
    if (rc == FS_OK && !path)
        rc = FS_E_NOMEM;
    if (rc == FS_OK)
        rc = fs_write_file_atomic(path, data, len, err);
    struct stat st;
    if (rc == FS_OK && stat(path, &st) != 0) {
        fs_sb_printf(err, "cannot stat %s: %s", path, strerror(errno));
        rc = FS_E_IO;
    }
    free(data);
    free(path);
    if (rc != FS_OK) {
        fs_otab_free(copy);
        return rc;
    }
    publish(v, copy);
    remember(v, &st);
    return FS_OK;
}

/* ---- queries ------------------------------------------------------------------- */

typedef struct {
    uint32_t view;
    uint32_t nparts;
    uint8_t part[FS_ONLINE_MAX_KEYS]; /* which of the query's keys, in the view's key order */
    uint32_t first, count;            /* its features: gout/gcol[first .. first+count) */
} qgroup;

struct fs_online_query {
    fs_online *o;
    size_t n;
    char **names;
    size_t ngroups;
    qgroup *groups;
    uint32_t *gout, *gcol;
    size_t nkeys;
    const char **keys; /* borrowed from the widest view */
};

void fs_online_query_free(fs_online_query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        free(q->names[i]);
    free(q->names);
    free(q->groups);
    free(q->gout);
    free(q->gcol);
    free(q->keys);
    free(q);
}

size_t fs_online_query_size(const fs_online_query *q) { return q ? q->n : 0; }
const char *fs_online_query_feature(const fs_online_query *q, size_t i)
{
    return q && i < q->n ? q->names[i] : NULL;
}
size_t fs_online_query_nkeys(const fs_online_query *q) { return q ? q->nkeys : 0; }
const char *fs_online_query_key(const fs_online_query *q, size_t i)
{
    return q && i < q->nkeys ? q->keys[i] : NULL;
}

typedef struct {
    uint32_t *view, *col;
    size_t n, cap;
} flist;

static int flist_add(flist *l, uint32_t view, uint32_t col)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        uint32_t *a = realloc(l->view, cap * sizeof *a);
        if (a)
            l->view = a;
        uint32_t *b = realloc(l->col, cap * sizeof *b);
        if (b)
            l->col = b;
        if (!a || !b)
            return FS_E_NOMEM;
        l->cap = cap;
    }
    l->view[l->n] = view;
    l->col[l->n++] = col;
    return FS_OK;
}

/* Adds "view:feature" or "view". */
static int resolve_one(fs_online *o, const oextra *x, const char *name, flist *l, fs_strbuf *err)
{
    const char *colon = strchr(name, ':');
    size_t vlen = colon ? (size_t)(colon - name) : strlen(name);
    for (size_t i = 0; i < o->nv; i++) {
        oview *v = &o->views[i];
        if (strlen(v->name) != vlen || strncmp(v->name, name, vlen) != 0)
            continue;
        if (!colon) {
            for (size_t f = 0; f < v->nf; f++)
                if (flist_add(l, (uint32_t)i, (uint32_t)f))
                    return FS_E_NOMEM;
            return FS_OK;
        }
        for (size_t f = 0; f < v->nf; f++)
            if (strcmp(v->f[f].name, colon + 1) == 0)
                return flist_add(l, (uint32_t)i, (uint32_t)f);
        fs_sb_printf(err, "unknown feature '%s': view '%s' has no feature '%s'", name, v->name, colon + 1);
        return FS_E_NOTFOUND;
    }
    for (size_t i = 0; x && i < x->noff; i++)
        if (strlen(x->offline[i]) == vlen && strncmp(x->offline[i], name, vlen) == 0) {
            fs_sb_printf(err, "feature view '%.*s' is not online (its definition says online: false)",
                         (int)vlen, name);
            return FS_E_INVAL;
        }
    fs_sb_printf(err, "unknown feature '%s' (write it as view:feature; no online view is named '%.*s')",
                 name, (int)vlen, name);
    return FS_E_NOTFOUND;
}

static int prepare(fs_online *o, const char *const *features, size_t n, const char *service,
                   fs_online_query **out, fs_strbuf *err)
{
    flist l = {0};
    int rc = FS_OK;
    pthread_mutex_lock(&g_mu);
    const oextra *x = extra_of(o);
    if (service) {
        const oservice *sv = NULL;
        for (size_t i = 0; x && i < x->nsvc; i++)
            if (strcmp(x->svc[i].name, service) == 0)
                sv = &x->svc[i];
        if (!sv) {
            fs_sb_printf(err, "unknown feature service '%s'", service);
            rc = FS_E_NOTFOUND;
        }
        for (size_t i = 0; rc == FS_OK && sv && i < sv->n; i++)
            rc = resolve_one(o, x, sv->items[i], &l, err);
    } else {
        for (size_t i = 0; rc == FS_OK && i < n; i++) {
            if (!features[i]) {
                rc = FS_E_INVAL;
                break;
            }
            rc = resolve_one(o, x, features[i], &l, err);
        }
    }
    pthread_mutex_unlock(&g_mu);
    if (rc == FS_OK && l.n == 0) {
        fs_sb_printf(err, "no features requested");
        rc = FS_E_INVAL;
    }
    fs_online_query *q = NULL;
    if (rc == FS_OK && !(q = calloc(1, sizeof *q)))
        rc = FS_E_NOMEM;
    if (rc == FS_OK) {
        q->o = o;
        q->names = calloc(l.n, sizeof *q->names);
        q->groups = calloc(l.n, sizeof *q->groups);
        q->gout = calloc(l.n, sizeof *q->gout);
        q->gcol = calloc(l.n, sizeof *q->gcol);
        if (!q->names || !q->groups || !q->gout || !q->gcol)
            rc = FS_E_NOMEM;
    }
    /* The widest view's keys key the query; every view's keys must be among them. */
    const oview *wide = NULL;
    for (size_t i = 0; rc == FS_OK && i < l.n; i++) {
        const oview *v = &o->views[l.view[i]];
        if (!wide || v->nkeys > wide->nkeys)
            wide = v;
    }
    if (rc == FS_OK) {
        q->nkeys = wide->nkeys;
        if (!(q->keys = calloc(wide->nkeys + 1, sizeof *q->keys)))
            rc = FS_E_NOMEM;
        for (size_t k = 0; rc == FS_OK && k < wide->nkeys; k++)
            q->keys[k] = wide->keys[k];
    }
    for (size_t i = 0; rc == FS_OK && i < l.n; i++) {
        q->names[i] = strdup(o->views[l.view[i]].f[l.col[i]].qname);
        if (!q->names[i]) {
            rc = FS_E_NOMEM;
            break;
        }
        q->n = i + 1;
        size_t g = 0;
        while (g < q->ngroups && q->groups[g].view != l.view[i])
            g++;
        if (g == q->ngroups) {
            const oview *v = &o->views[l.view[i]];
            qgroup *gr = &q->groups[q->ngroups++];
            gr->view = l.view[i];
            gr->nparts = (uint32_t)v->nkeys;
            for (size_t k = 0; k < v->nkeys; k++) {
                size_t w = 0;
                while (w < wide->nkeys && strcmp(wide->keys[w], v->keys[k]) != 0)
                    w++;
                if (w == wide->nkeys) {
                    fs_sb_printf(err, "views '%s' and '%s' are keyed by different entities: '%s' "
                                      "has join key '%s', which '%s' lacks",
                                 v->name, wide->name, v->name, v->keys[k], wide->name);
                    rc = FS_E_INVAL;
                    break;
                }
                gr->part[k] = (uint8_t)w;
            }
        }
    }
    /* Features grouped by view, each group's in request order. */
    uint32_t at = 0;
    for (size_t g = 0; rc == FS_OK && g < q->ngroups; g++) {
        q->groups[g].first = at;
        for (size_t i = 0; i < l.n; i++)
            if (l.view[i] == q->groups[g].view) {
                q->gout[at] = (uint32_t)i;
                q->gcol[at++] = l.col[i];
            }
        q->groups[g].count = at - q->groups[g].first;
    }
    free(l.view);
    free(l.col);
    if (rc != FS_OK) {
        fs_online_query_free(q);
        return rc;
    }
    *out = q;
    return FS_OK;
}

int fs_online_prepare(fs_online *o, const char *const *features, size_t n, const char *service,
                      fs_online_query **out, char **detail)
{
    if (out)
        *out = NULL;
    if (detail)
        *detail = NULL;
    if (!o || !out || (!service && !features && n))
        return FS_E_INVAL;
    fs_strbuf err = {0};
    int rc = prepare(o, features, n, service, out, &err);
    if (rc != FS_OK && detail) {
        if (!err.len)
            fs_sb_puts(&err, fs_strerror(rc));
        *detail = fs_sb_take(&err);
    }
    fs_sb_free(&err);
    return rc;
}

/* ---- the hot path ---------------------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * FS_NS_PER_S + ts.tv_nsec;
}

int fs_online_lookup_parts(fs_online *o, const fs_online_query *q, const char *const *parts,
                           const size_t *lens, size_t nparts, int64_t now, fs_online_value *out,
                           char *buf, size_t bufsz, size_t *needed)
{
    return fs_online_lookup_json(o, q, parts, lens, nparts, now, out, NULL, buf, bufsz, needed);
}

int fs_online_lookup_json(fs_online *o, const fs_online_query *q, const char *const *parts,
                          const size_t *lens, size_t nparts, int64_t now, fs_online_value *out,
                          char (*jt)[FS_OTAB_JT], char *buf, size_t bufsz, size_t *needed)
{
    if (nparts != q->nkeys)
        return FS_E_INVAL;
    if (!now)
        now = now_ns();
    size_t used = 0, want = 0;
    int rc = FS_OK;
    char kb[FS_ONLINE_MAX_KEY];
    void *rd = fs_online_read_begin();
    for (size_t g = 0; g < q->ngroups; g++) {
        const qgroup *gr = &q->groups[g];
        oview *v = &o->views[gr->view];
        size_t kl = 0;
        int fits = 1;
        for (uint32_t k = 0; k < gr->nparts && fits; k++) {
            size_t pl = lens[gr->part[k]];
            if (kl + pl + 1 > sizeof kb) {
                fits = 0;
                break;
            }
            if (k)
                kb[kl++] = ':';
            memcpy(kb + kl, parts[gr->part[k]], pl);
            kl += pl;
        }
        const otab *t = atomic_load(&v->tab);
        long e = fits ? fs_otab_find(t, kb, kl, fs_otab_hash(kb, kl)) : -1;
        for (uint32_t i = gr->first; i < gr->first + gr->count; i++) {
            fs_online_value *ov = &out[q->gout[i]];
            const ocell *c = e >= 0 ? &t->cells[(size_t)e * t->nf + q->gcol[i]] : NULL;
            if (jt) {
                if (c)
                    memcpy(jt[q->gout[i]], t->jt[(size_t)e * t->nf + q->gcol[i]], FS_OTAB_JT);
                else
                    jt[q->gout[i]][0] = 0;
            }
            if (!c || c->state == OC_NONE) {
                memset(ov, 0, sizeof *ov);
                ov->confidence = NAN;
                continue;
            }
            ov->event_ts = c->ts;
            ov->seq = c->seq;
            ov->confidence = c->conf;
            ov->str = NULL;
            ov->str_len = 0;
            ov->f64 = 0;
            ov->i64 = 0;
            if (c->state == OC_NULL) {
                ov->status = FS_ONLINE_NULL_VALUE;
                ov->type = FS_ONLINE_NONE;
                continue;
            }
            ov->status = v->ttl_ns > 0 && now - c->ts > v->ttl_ns ? FS_ONLINE_OUTSIDE_MAX_AGE
                                                                 : FS_ONLINE_PRESENT;
            switch (c->type) {
            case FS_VT_FLOAT64:
                ov->type = FS_ONLINE_DOUBLE;
                ov->f64 = c->v.f;
                break;
            case FS_VT_INT64:
                ov->type = FS_ONLINE_INT64;
                ov->i64 = c->v.i;
                break;
            case FS_VT_BOOL:
                ov->type = FS_ONLINE_BOOL;
                ov->i64 = c->v.i;
                break;
            case FS_VT_TIMESTAMP:
                ov->type = FS_ONLINE_TIMESTAMP;
                ov->i64 = c->v.i;
                break;
            case FS_VT_STRING:
                ov->type = FS_ONLINE_STRING;
                ov->str_len = c->slen;
                want += (size_t)c->slen + 1;
                if (buf && used + c->slen + 1 <= bufsz) {
                    memcpy(buf + used, c->s, c->slen);
                    buf[used + c->slen] = 0;
                    ov->str = buf + used;
                    used += (size_t)c->slen + 1;
                } else {
                    rc = FS_E_NOSPACE;
                }
                break;
            }
        }
    }
    fs_online_read_end(rd);
    if (needed)
        *needed = want;
    return rc;
}

int fs_online_lookup(fs_online *o, const fs_online_query *q, const char *entity, int64_t now,
                     fs_online_value *out, char *buf, size_t bufsz)
{
    if (!o || !q || !entity || !out || q->o != o)
        return FS_E_INVAL;
    const char *parts[FS_ONLINE_MAX_KEYS];
    size_t lens[FS_ONLINE_MAX_KEYS], n = 0;
    const char *p = entity;
    for (;;) {
        const char *c = strchr(p, ':');
        if (n == FS_ONLINE_MAX_KEYS)
            return FS_E_INVAL;
        parts[n] = p;
        lens[n++] = c ? (size_t)(c - p) : strlen(p);
        if (!c)
            break;
        p = c + 1;
    }
    return fs_online_lookup_parts(o, q, parts, lens, n, now, out, buf, bufsz, NULL);
}
