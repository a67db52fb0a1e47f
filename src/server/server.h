/* The HTTP feature server (docs/http-api.md). Two halves:
 *  - handlers.c: one request in, one reply out (method, path, body ->
 *    status, JSON body). No sockets, no libmicrohttpd: this is what the
 *    fuzzer drives (fuzz/), and every byte of input is validated here;
 *    gof_reader.c reads the usual get-online-features body without jansson;
 *  - http.c: the libmicrohttpd daemon (HTTP/1.1 parsing, keep-alive, the
 *    thread pool), body limits, metrics, the refresher thread and the
 *    graceful stop.
 */
#ifndef FS_SERVER_H
#define FS_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "fstore.h"
#include "server/gof_reader.h"

/* Endpoints, for routing and metrics. */
enum {
    EP_GET_ONLINE_FEATURES = 0,
    EP_PUSH,
    EP_MATERIALIZE,
    EP_MATERIALIZE_INCREMENTAL,
    EP_HEALTH,
    EP_METRICS,
    EP_REGISTRY,
    EP_OTHER,
    EP_COUNT
};

/* Status codes counted by the metrics. */
enum { SC_200 = 0, SC_400, SC_404, SC_405, SC_413, SC_500, SC_503, SC_OTHER, SC_COUNT };

#define FS_LAT_BUCKETS 14 /* upper bounds in http.c, the last is +Inf */

typedef struct {
    atomic_uint_fast64_t requests[EP_COUNT][SC_COUNT];
    atomic_uint_fast64_t lat_bucket[EP_COUNT][FS_LAT_BUCKETS];
    atomic_uint_fast64_t lat_sum_ns[EP_COUNT];
    atomic_uint_fast64_t entities_looked_up;
    atomic_int in_flight;
} fs_server_metrics;

struct fs_server {
    fs_store *store;
    fs_online *online;
    fs_server_opts opts;
    pthread_mutex_t write_mu; /* pushes and materializations, one at a time */
    fs_server_metrics m;
    int64_t started_ns;
    /* http.c */
    struct MHD_Daemon *daemon;
    int port;
    int listen_fd;
    pthread_t refresher;
    int refresher_started;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    int stopping;
    /* Prepared queries by their features (handlers.c): read without a
     * lock; qmu serializes the threads adding to them. */
    pthread_mutex_t qmu;
    struct qentry *_Atomic *qbuckets; /* QCACHE_BUCKETS chains */
    size_t qcount;
    /* Tests and fuzzing: read every get-online-features body with jansson
     * (the general reader), not gof_read first. */
    int json_only;
};

typedef struct {
    int status;          /* HTTP status */
    char *body;          /* malloc'd */
    size_t len;
    const char *ctype;   /* static */
    const char *allow;   /* for 405: the Allow header (static), else NULL */
    int endpoint;        /* EP_* */
} fs_http_reply;

/* Creates the server's state (no socket): opens the store's online handle. */
int fs_server_create(fs_store *store, const fs_server_opts *opts, fs_server **out, char **detail);
/* Frees what fs_server_create made (after the daemon stopped). */
void fs_server_destroy(fs_server *srv);

/* The endpoint a path names (EP_OTHER when none). */
int fs_server_route(const char *path);

/* Handles one request. `body` need not be NUL-terminated. Always fills
 * `out` (on memory exhaustion with a static 500 body); free out->body. */
void fs_server_handle(fs_server *srv, const char *method, const char *path, const char *body,
                      size_t len, fs_http_reply *out);

/* The Prometheus text of /metrics (handlers.c calls it; http.c fills it). */
char *fs_server_metrics_text(fs_server *srv, size_t *len);

/* The prepared query for a list of features or a service, with the names
 * of its answer (handlers.c, struct qentry): from the server's cache
 * (prepared once per distinct list; *owned NULL), or, when the cache is
 * full, made for this request alone (*owned = *q: fs_server_query_free it). */
struct qentry;
int fs_server_query(fs_server *srv, const gof_text *features, size_t n, const gof_text *service,
                    const struct qentry **q, struct qentry **owned, char **detail);
void fs_server_query_free(struct qentry *owned);
/* The cache's bucket count (for fs_server_create), and freeing it. */
size_t fs_server_query_buckets(void);
void fs_server_query_cache_free(fs_server *srv);

#endif
