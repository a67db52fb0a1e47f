/* The feature server's HTTP side: libmicrohttpd (a maintained HTTP/1.1
 * implementation: request parsing, keep-alive, chunked bodies, 100-continue)
 * with its own thread pool, request bodies limited to opts.max_body, the
 * metrics, a thread that reloads online files other processes replaced, and
 * the graceful stop (server.h). */
#include "server/server.h"

#include "core/strbuf.h"
#include "core/timeutil.h"
#include "online/online.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Memory of a connection (libmicrohttpd's pool: its read buffer, the request
 * head, the answer's head). The library clears the whole pool after every
 * request: at its default of 32 KiB, the memset was 3-4% of the server's CPU
 * samples under the paced benchmark. 16 KiB halves that and the memory of
 * idle connections, and still takes request heads of 8 KiB (tested); bodies
 * stream through it whatever their size. */
enum { CONNECTION_POOL = 16 << 10 };

/* Latency histogram bounds in seconds (the last bucket is +Inf). */
static const double lat_bounds[FS_LAT_BUCKETS - 1] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025,  0.05,    0.1,    0.25,  0.5,    1.0};
static const char *const ep_names[EP_COUNT] = {
    "get-online-features", "push", "materialize", "materialize-incremental",
    "health", "metrics", "registry", "other"};
static const int sc_codes[SC_COUNT] = {200, 400, 404, 405, 413, 500, 503, 0};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * FS_NS_PER_S + ts.tv_nsec;
}

static int status_slot(int status)
{
    for (int i = 0; i < SC_OTHER; i++)
        if (sc_codes[i] == status)
            return i;
    return SC_OTHER;
}

static void record(fs_server *srv, int ep, int status, int64_t ns)
{
    atomic_fetch_add(&srv->m.requests[ep][status_slot(status)], 1);
    double s = (double)ns / 1e9;
    int b = 0;
    while (b < FS_LAT_BUCKETS - 1 && s > lat_bounds[b])
        b++;
    atomic_fetch_add(&srv->m.lat_bucket[ep][b], 1);
    atomic_fetch_add(&srv->m.lat_sum_ns[ep], (uint_fast64_t)(ns > 0 ? ns : 0));
}

typedef struct {
    fs_strbuf *sb;
} count_ctx;

static void count_view(void *ctx, const char *view, size_t n)
{
    fs_sb_printf(((count_ctx *)ctx)->sb, "fstore_online_entities{view=\"%s\"} %zu\n", view, n);
}

char *fs_server_metrics_text(fs_server *srv, size_t *len)
{
    fs_strbuf sb = {0};
    fs_sb_puts(&sb, "# HELP fstore_http_requests_total HTTP requests answered, by endpoint and status.\n"
                    "# TYPE fstore_http_requests_total counter\n");
    for (int e = 0; e < EP_COUNT; e++)
        for (int c = 0; c < SC_COUNT; c++) {
            uint64_t n = atomic_load(&srv->m.requests[e][c]);
            if (n || (c == SC_200 && e < EP_OTHER))
                fs_sb_printf(&sb, "fstore_http_requests_total{endpoint=\"%s\",code=\"%s%d\"} %llu\n",
                             ep_names[e], c == SC_OTHER ? "other" : "", c == SC_OTHER ? 0 : sc_codes[c],
                             (unsigned long long)n);
        }
    fs_sb_puts(&sb, "# HELP fstore_http_errors_total HTTP requests answered with a 4xx or 5xx status.\n"
                    "# TYPE fstore_http_errors_total counter\n");
    for (int e = 0; e < EP_COUNT; e++) {
        uint64_t n = 0;
        for (int c = SC_400; c < SC_COUNT; c++)
            n += atomic_load(&srv->m.requests[e][c]);
        fs_sb_printf(&sb, "fstore_http_errors_total{endpoint=\"%s\"} %llu\n", ep_names[e], (unsigned long long)n);
    }
    fs_sb_puts(&sb, "# HELP fstore_http_request_duration_seconds Time from the request's arrival to its answer.\n"
                    "# TYPE fstore_http_request_duration_seconds histogram\n");
    for (int e = 0; e < EP_COUNT; e++) {
        uint64_t cum = 0;
        for (int b = 0; b < FS_LAT_BUCKETS; b++) {
            cum += atomic_load(&srv->m.lat_bucket[e][b]);
            if (b < FS_LAT_BUCKETS - 1)
                fs_sb_printf(&sb, "fstore_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n",
                             ep_names[e], lat_bounds[b], (unsigned long long)cum);
            else
                fs_sb_printf(&sb, "fstore_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n",
                             ep_names[e], (unsigned long long)cum);
        }
        fs_sb_printf(&sb, "fstore_http_request_duration_seconds_sum{endpoint=\"%s\"} %.9f\n", ep_names[e],
                     (double)atomic_load(&srv->m.lat_sum_ns[e]) / 1e9);
        fs_sb_printf(&sb, "fstore_http_request_duration_seconds_count{endpoint=\"%s\"} %llu\n", ep_names[e],
                     (unsigned long long)cum);
    }
    fs_sb_printf(&sb, "# HELP fstore_http_in_flight Requests being handled now.\n"
                      "# TYPE fstore_http_in_flight gauge\nfstore_http_in_flight %d\n",
                 atomic_load(&srv->m.in_flight));
    fs_sb_printf(&sb, "# HELP fstore_online_lookups_total Entities looked up by get-online-features.\n"
                      "# TYPE fstore_online_lookups_total counter\nfstore_online_lookups_total %llu\n",
                 (unsigned long long)atomic_load(&srv->m.entities_looked_up));
    fs_sb_puts(&sb, "# HELP fstore_online_entities Rows (entities) held by each online view.\n"
                    "# TYPE fstore_online_entities gauge\n");
    count_ctx cc = {&sb};
    fs_online_counts(srv->online, count_view, &cc);
    fs_sb_printf(&sb, "# HELP fstore_uptime_seconds Seconds since the server started.\n"
                      "# TYPE fstore_uptime_seconds gauge\nfstore_uptime_seconds %.3f\n",
                 (double)(mono_ns() - srv->started_ns) / 1e9);
    if (sb.oom) {
        fs_sb_free(&sb);
        return NULL;
    }
    *len = sb.len;
    return fs_sb_take(&sb);
}

/* ---- creating ---------------------------------------------------------------------- */

int fs_server_create(fs_store *store, const fs_server_opts *opts, fs_server **out, char **detail)
{
    *out = NULL;
    fs_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return FS_E_NOMEM;
    srv->store = store;
    srv->opts = opts ? *opts : (fs_server_opts){0};
    if (!srv->opts.max_body)
        srv->opts.max_body = 1 << 20;
    if (srv->opts.lock_wait_ms <= 0)
        srv->opts.lock_wait_ms = 5000;
    srv->listen_fd = -1;
    srv->started_ns = mono_ns();
    pthread_mutex_init(&srv->write_mu, NULL);
    pthread_mutex_init(&srv->stop_mu, NULL);
    pthread_cond_init(&srv->stop_cv, NULL);
    pthread_mutex_init(&srv->qmu, NULL);
    srv->qbuckets = calloc(fs_server_query_buckets(), sizeof *srv->qbuckets); /* NULL: no cache */
    int rc = fs_online_open(store, &srv->online, detail);
    if (rc != FS_OK) {
        fs_server_destroy(srv);
        return rc;
    }
    *out = srv;
    return FS_OK;
}

void fs_server_destroy(fs_server *srv)
{
    if (!srv)
        return;
    fs_server_query_cache_free(srv);
    pthread_mutex_destroy(&srv->qmu);
    fs_online_close(srv->online);
    pthread_mutex_destroy(&srv->write_mu);
    pthread_mutex_destroy(&srv->stop_mu);
    pthread_cond_destroy(&srv->stop_cv);
    free(srv);
}

/* ---- requests ------------------------------------------------------------------------ */

typedef struct {
    char *body;
    size_t len, cap;
    size_t expect; /* Content-Length when given (within the limit), else 0 */
    int too_big;
    int answered; /* a reply was queued before the body was read (413) */
    int64_t start;
    int endpoint;
    int status;
} request;

static enum MHD_Result queue(struct MHD_Connection *conn, request *rq, fs_http_reply *rep)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(rep->len, rep->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(rep->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->ctype ? rep->ctype : "application/json");
    if (rep->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
    if (rep->status == 413)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    rq->status = rep->status;
    rq->endpoint = rep->endpoint;
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static void too_big(fs_server *srv, fs_http_reply *rep, int ep)
{
    char msg[200];
    int n = snprintf(msg, sizeof msg, "{\"error\": \"request body larger than the limit of %zu bytes\"}\n",
                     srv->opts.max_body);
    memset(rep, 0, sizeof *rep);
    rep->status = 413;
    rep->endpoint = ep;
    rep->ctype = "application/json";
    rep->body = strdup(msg);
    rep->len = rep->body ? (size_t)n : 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    fs_server *srv = cls;
    request *rq = *con_cls;
    if (!rq) { /* headers are in */
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        rq->start = mono_ns();
        rq->endpoint = fs_server_route(url);
        rq->status = 500;
        *con_cls = rq;
        atomic_fetch_add(&srv->m.in_flight, 1);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long want = cl ? strtoull(cl, NULL, 10) : 0;
        if (want > srv->opts.max_body) {
            fs_http_reply rep;
            too_big(srv, &rep, rq->endpoint);
            rq->answered = 1; /* answered before the body: libmicrohttpd closes the connection */
            return queue(conn, rq, &rep);
        }
        rq->expect = (size_t)want;
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body */
        size_t n = *upload_size;
        *upload_size = 0;
        if (rq->answered || rq->too_big)
            return MHD_YES;
        if (rq->len + n > srv->opts.max_body) {
            rq->too_big = 1;
            free(rq->body);
            rq->body = NULL;
            rq->len = rq->cap = 0;
            return MHD_YES;
        }
        if (rq->len + n + 1 > rq->cap) {
            /* the size announced, else a start that grows */
            size_t cap = rq->cap ? rq->cap * 2 : rq->expect >= rq->len + n ? rq->expect + 1 : 1024;
            while (cap < rq->len + n + 1)
                cap *= 2;
            char *b = realloc(rq->body, cap);
            if (!b)
                return MHD_NO;
            rq->body = b;
            rq->cap = cap;
        }
        memcpy(rq->body + rq->len, upload_data, n);
        rq->len += n;
        return MHD_YES;
    }
    if (rq->answered)
        return MHD_YES;
    fs_http_reply rep;
    if (rq->too_big)
        too_big(srv, &rep, rq->endpoint);
    else
        fs_server_handle(srv, method, url, rq->body ? rq->body : "", rq->len, &rep);
    rq->answered = 1;
    return queue(conn, rq, &rep);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    fs_server *srv = cls;
    request *rq = *con_cls;
    if (!rq)
        return;
    record(srv, rq->endpoint, rq->status, mono_ns() - rq->start);
    free(rq->body);
    free(rq);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->m.in_flight, 1);
}

/* ---- the refresher ------------------------------------------------------------------ */

static void *refresher_main(void *arg)
{
    fs_server *srv = arg;
    pthread_mutex_lock(&srv->stop_mu);
    while (!srv->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000000L; /* 5 times a second */
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->stop_cv, &srv->stop_mu, &until);
        if (srv->stopping)
            break;
        pthread_mutex_unlock(&srv->stop_mu);
        fs_online_refresh(srv->online); /* other processes' materializations */
        pthread_mutex_lock(&srv->stop_mu);
    }
    pthread_mutex_unlock(&srv->stop_mu);
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------ */

int fs_server_start(fs_store *store, const fs_server_opts *opts, fs_server **out, char **detail)
{
    if (detail)
        *detail = NULL;
    if (!store || !out)
        return FS_E_INVAL;
    *out = NULL;
    fs_server *srv = NULL;
    int rc = fs_server_create(store, opts, &srv, detail);
    if (rc != FS_OK)
        return rc;
    const char *bind = srv->opts.bind && *srv->opts.bind ? srv->opts.bind : "127.0.0.1";
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (srv->opts.port < 0 || srv->opts.port > 65535) {
        fs_server_destroy(srv);
        if (detail)
            *detail = strdup("the port must be in 0..65535");
        return FS_E_INVAL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO;
    if (strchr(bind, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)srv->opts.port);
        if (inet_pton(AF_INET6, bind, &a6->sin6_addr) != 1)
            rc = FS_E_INVAL;
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)srv->opts.port);
        if (inet_pton(AF_INET, bind, &a4->sin_addr) != 1)
            rc = FS_E_INVAL;
    }
    if (rc != FS_OK) {
        fs_server_destroy(srv);
        if (detail && (*detail = malloc(strlen(bind) + 64)))
            sprintf(*detail, "not an IP address to bind to: '%s'", bind);
        return rc;
    }
    long threads = srv->opts.threads > 0 ? srv->opts.threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    if (threads > 256)
        threads = 256;
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)srv->opts.port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_POOL, MHD_OPTION_END);
    if (!srv->daemon) {
        int e = errno;
        fs_server_destroy(srv);
        if (detail && (*detail = malloc(strlen(bind) + 160)))
            sprintf(*detail, "cannot listen on %s port %d: %s", bind, opts ? opts->port : 0,
                    e ? strerror(e) : "libmicrohttpd could not start");
        return FS_E_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : srv->opts.port;
    if (pthread_create(&srv->refresher, NULL, refresher_main, srv) == 0)
        srv->refresher_started = 1;
    *out = srv;
    return FS_OK;
}

int fs_server_port(const fs_server *srv) { return srv ? srv->port : 0; }

void fs_server_stop(fs_server *srv, int grace_ms)
{
    if (!srv)
        return;
    /* Stop accepting; let what is in flight finish; then stop the threads
     * (closing idle keep-alive connections). */
    MHD_socket ls = MHD_quiesce_daemon(srv->daemon);
    if (ls != MHD_INVALID_SOCKET) /* refuse new connections now (close it after the stop) */
        shutdown(ls, SHUT_RDWR);
    int64_t until = mono_ns() + (int64_t)(grace_ms > 0 ? grace_ms : 0) * FS_NS_PER_MS;
    while (atomic_load(&srv->m.in_flight) > 0 && mono_ns() < until) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(srv->daemon);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    pthread_mutex_lock(&srv->stop_mu);
    srv->stopping = 1;
    pthread_cond_signal(&srv->stop_cv);
    pthread_mutex_unlock(&srv->stop_mu);
    if (srv->refresher_started)
        pthread_join(srv->refresher, NULL);
    fs_server_destroy(srv);
}
