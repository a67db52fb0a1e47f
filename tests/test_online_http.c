/* The feature server: every endpoint through the request handler (valid
 * requests and each kind of refusal), the two readers of a
 * get-online-features body giving the same answers, then a live server on
 * a free port over raw sockets: keep-alive, oversized bodies (413, by
 * Content-Length and by a chunked body, at the limit's byte), 100-continue,
 * HEAD, and a graceful stop that lets a request in flight finish, closes
 * idle connections and leaves no descriptor open. */
#include "test.h"

#include "fstore.h"
#include "core/strbuf.h"
#include "server/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *DEFS =
    "entities:\n  - {name: asset, join_keys: [symbol]}\n"
    "sources:\n  - name: ticks\n    entity: asset\n    timestamp: ts\n"
    "    columns:\n      - {name: symbol, type: string}\n      - {name: ts, type: timestamp}\n"
    "      - {name: x, type: float64, min: 0}\n      - {name: tag, type: string, nullable: true}\n"
    "      - {name: ok, type: bool, nullable: true}\n"
    "views:\n"
    "  - {name: v, entity: asset, source: ticks, ttl: 0, online: true, features: "
    "[{name: x, from: x}, {name: tag, type: categorical, from: tag}, {name: ok, type: boolean, from: ok}, "
    "{name: x3, expr: \"x * 3\"}]}\n"
    "  - {name: w, entity: asset, source: ticks, ttl: 10s, online: true, features: [{name: x, from: x}]}\n"
    "  - {name: cold, entity: asset, source: ticks, online: false, features: [{name: x, from: x}]}\n"
    "services:\n  - {name: svc, features: [v, \"w:x\"]}\n";

static fs_store *store;
static fs_server *srv;
static char *dir;

static json_t *call(const char *method, const char *path, const char *body, int want_status)
{
    fs_http_reply r;
    fs_server_handle(srv, method, path, body, body ? strlen(body) : 0, &r);
    if (r.status != want_status)
        fprintf(stderr, "  %s %s -> %d (wanted %d): %.*s\n", method, path, r.status, want_status, (int)r.len,
                r.body);
    CHECK_INT(r.status, want_status);
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    if (!j && strcmp(path, "/metrics") != 0)
        fprintf(stderr, "  not JSON: %.*s\n", (int)r.len, r.body);
    if (strcmp(path, "/metrics") == 0) {
        json_decref(j);
        j = json_stringn(r.body, r.len);
    }
    free(r.body);
    return j;
}

static int has_text(json_t *j, const char *needle)
{
    char *t = json_dumps(j, 0);
    int r = t && strstr(t, needle) != NULL;
    free(t);
    return r;
}

static const char *error_of(json_t *j)
{
    return json_string_value(json_object_get(j, "error"));
}

static void setup(void)
{
    dir = temp_dir();
    CHECK_INT(fs_init(dir, NULL), FS_OK);
    CHECK_INT(fs_open(dir, &store, NULL), FS_OK);
    CHECK_INT(fs_apply_text(store, "defs.yaml", DEFS, strlen(DEFS), 0, 0, NULL), FS_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/t.csv", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "symbol,ts,x,tag,ok\nA,1700000000,1.25,\"say \"\"hi\"\"\",true\nB,1700000000,2,,false\n"
               "A,1700000001,1.5,\"say \"\"hi\"\"\",true\n");
    fclose(f);
    fs_ingest_result ir;
    CHECK_INT(fs_ingest_file(store, "ticks", path, NULL, &ir), FS_OK);
    fs_compute_result cr;
    CHECK_INT(fs_compute(store, NULL, &cr), FS_OK);
    fs_materialize_result mr;
    CHECK_INT(fs_materialize(store, NULL, &mr), FS_OK);
}

TEST(test_get_online_features)
{
    fs_server_opts o = {0};
    CHECK_INT(fs_server_create(store, &o, &srv, NULL), FS_OK);
    json_t *j = call("POST", "/get-online-features",
                     "{\"features\": [\"v:x\", \"v:tag\", \"v:ok\", \"v:x3\", \"w:x\"], "
                     "\"entities\": {\"symbol\": [\"A\", \"Z\", \"B\"]}, \"full_feature_names\": true}", 200);
    json_t *names = json_object_get(json_object_get(j, "metadata"), "feature_names");
    CHECK_INT(json_array_size(names), 6);
    CHECK_STR(json_string_value(json_array_get(names, 0)), "symbol");
    CHECK_STR(json_string_value(json_array_get(names, 1)), "v__x");
    json_t *res = json_object_get(j, "results");
    CHECK_INT(json_array_size(res), 6);
    json_t *keys = json_object_get(json_array_get(res, 0), "values");
    CHECK_STR(json_string_value(json_array_get(keys, 1)), "Z");
    json_t *x = json_array_get(res, 1);
    CHECK_NEAR(json_real_value(json_array_get(json_object_get(x, "values"), 0)), 1.5, 0);
    CHECK(json_is_null(json_array_get(json_object_get(x, "values"), 1)));
    CHECK_STR(json_string_value(json_array_get(json_object_get(x, "statuses"), 0)), "PRESENT");
    CHECK_STR(json_string_value(json_array_get(json_object_get(x, "statuses"), 1)), "NOT_FOUND");
    CHECK_STR(json_string_value(json_array_get(json_object_get(x, "event_timestamps"), 0)), "2023-11-14T22:13:21Z");
    CHECK_STR(json_string_value(json_array_get(json_object_get(x, "event_timestamps"), 1)), "1970-01-01T00:00:00Z");
    json_t *tag = json_object_get(json_array_get(res, 2), "values");
    CHECK_STR(json_string_value(json_array_get(tag, 0)), "say \"hi\"");
    CHECK(json_is_null(json_array_get(tag, 2)));
    CHECK_STR(json_string_value(json_array_get(json_object_get(json_array_get(res, 2), "statuses"), 2)), "NULL_VALUE");
    CHECK(json_is_true(json_array_get(json_object_get(json_array_get(res, 3), "values"), 0)));
    CHECK(json_is_false(json_array_get(json_object_get(json_array_get(res, 3), "values"), 2)));
    CHECK_NEAR(json_number_value(json_array_get(json_object_get(json_array_get(res, 4), "values"), 0)), 4.5, 0);
    /* w has a TTL of 10 s: its 2023 value is stale now, and still given. */
    json_t *wx = json_array_get(res, 5);
    CHECK_STR(json_string_value(json_array_get(json_object_get(wx, "statuses"), 0)), "OUTSIDE_MAX_AGE");
    CHECK_NEAR(json_real_value(json_array_get(json_object_get(wx, "values"), 0)), 1.5, 0);
    json_decref(j);
    /* Full names, and a service. */
    j = call("POST", "/get-online-features",
             "{\"feature_service\": \"svc\", \"entities\": {\"symbol\": [\"B\"]}, \"full_feature_names\": true}", 200);
    names = json_object_get(json_object_get(j, "metadata"), "feature_names");
    CHECK_INT(json_array_size(names), 6);
    CHECK_STR(json_string_value(json_array_get(names, 1)), "v__x");
    CHECK_STR(json_string_value(json_array_get(names, 5)), "w__x");
    json_decref(j);
    /* Integer entity values are keys too; no rows is an empty answer. */
    j = call("POST", "/get-online-features", "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [7]}}", 200);
    CHECK_INT(json_integer_value(json_array_get(json_object_get(json_array_get(json_object_get(j, "results"), 0), "values"), 0)), 7);
    json_decref(j);
    j = call("POST", "/get-online-features", "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": []}}", 200);
    json_decref(j);
    /* Refusals. */
    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"", "empty body"},
        {"{\"features\": [", "malformed JSON"},
        {"{\"es\\\xc9\xa2\\\\\x16\"B}", "malformed JSON"}, /* fuzz: raw bytes quoted in the error */
        {"[1, 2]", "must be a JSON object"},
        {"{}", "missing 'features'"},
        {"{\"features\": \"v:x\", \"entities\": {\"symbol\": [\"A\"]}}", "must be a list"},
        {"{\"features\": [], \"entities\": {\"symbol\": [\"A\"]}}", "is empty"},
        {"{\"features\": [1], \"entities\": {\"symbol\": [\"A\"]}}", "features[0]"},
        {"{\"features\": [\"v:x\"], \"feature_service\": \"svc\", \"entities\": {}}", "not both"},
        {"{\"features\": [\"v:nope\"], \"entities\": {\"symbol\": [\"A\"]}}", "no feature 'nope'"},
        {"{\"features\": [\"nope:x\"], \"entities\": {\"symbol\": [\"A\"]}}", "unknown feature"},
        {"{\"features\": [\"cold:x\"], \"entities\": {\"symbol\": [\"A\"]}}", "not online"},
        {"{\"feature_service\": \"nosvc\", \"entities\": {\"symbol\": [\"A\"]}}", "unknown feature service"},
        {"{\"feature_service\": 3, \"entities\": {\"symbol\": [\"A\"]}}", "must be a name"},
        {"{\"features\": [\"v:x\"]}", "missing 'entities'"},
        {"{\"features\": [\"v:x\"], \"entities\": []}", "missing 'entities'"},
        {"{\"features\": [\"v:x\"], \"entities\": {}}", "'entities' is empty"},
        {"{\"features\": [\"v:x\"], \"entities\": {\"sym\": [\"A\"]}}", "missing join key 'symbol'"},
        {"{\"features\": [\"v:x\"], \"entities\": {\"symbol\": \"A\"}}", "must be a list"},
        {"{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"A\"], \"tf\": [\"1h\", \"4h\"]}}", "ragged"},
        {"{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [null]}}", "string or an integer"},
        {"{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [1.5]}}", "string or an integer"},
        {"{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"A\"]}, \"full_feature_names\": 1}", "true or false"},
        {"{\"features\": [\"v:x\", \"w:x\"], \"entities\": {\"symbol\": [\"A\"]}}", "full_feature_names"},
        {"{\"features\": [\"v:x\"], \"features\": [\"w:x\"], \"entities\": {\"symbol\": [\"A\"]}}", "duplicate"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = call("POST", "/get-online-features", bad[i].body, 400);
        CHECK_CONTAINS(error_of(j), bad[i].msg);
        json_decref(j);
    }
    j = call("GET", "/get-online-features", NULL, 405);
    json_decref(j);
    j = call("POST", "/nope", "{}", 404);
    CHECK_CONTAINS(error_of(j), "no such endpoint");
    json_decref(j);
    j = call("DELETE", "/health", NULL, 405);
    json_decref(j);
    j = call("GET", "/health", NULL, 200);
    json_decref(j);
    j = call("GET", "/registry", NULL, 200);
    CHECK(json_object_get(j, "views") != NULL);
    json_decref(j);
    fs_server_destroy(srv);
}

/* Both readers of a get-online-features body (gof_read, then jansson for
 * whatever it leaves) give the same answer, byte for byte: on requests it
 * reads, on every refusal, and on bodies one byte away from those. */
static int same_answer(const char *body, size_t len)
{
    fs_http_reply a, b;
    srv->json_only = 0;
    fs_server_handle(srv, "POST", "/get-online-features", body, len, &a);
    srv->json_only = 1;
    fs_server_handle(srv, "POST", "/get-online-features", body, len, &b);
    srv->json_only = 0;
    int same = a.status == b.status && a.len == b.len && memcmp(a.body, b.body, a.len) == 0 &&
               strcmp(a.ctype, b.ctype) == 0;
    if (!same)
        fprintf(stderr, "  readers differ on %.*s:\n    %d %.*s\n    %d %.*s\n", (int)len, body, a.status,
                (int)a.len, a.body, b.status, (int)b.len, b.body);
    free(a.body);
    free(b.body);
    return same;
}

TEST(test_readers_agree)
{
    fs_server_opts o = {0};
    CHECK_INT(fs_server_create(store, &o, &srv, NULL), FS_OK);
    static const char *const bodies[] = {
        "{\"features\": [\"v:x\", \"v:tag\", \"v:ok\", \"v:x3\", \"w:x\"], "
        "\"entities\": {\"symbol\": [\"A\", \"Z\", \"B\"]}, \"full_feature_names\": true}",
        "{\"features\":[\"v:x\",\"v:tag\"],\"entities\":{\"symbol\":[\"A\",\"B\"]}}",
        " {\n\t\"entities\" : { \"symbol\" : [ \"A\" ] } ,\r\n \"features\" : [ \"v\" ] } \n",
        "{\"feature_service\": \"svc\", \"entities\": {\"symbol\": [\"B\"]}, \"full_feature_names\": true}",
        "{\"feature_service\": \"svc\", \"entities\": {\"symbol\": [\"B\"]}, \"full_feature_names\": false}",
        "{\"feature_service\": \"svc\", \"entities\": {\"symbol\": [\"B\"]}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [7, -3, 0, 123456789012345678, \"7\"]}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [-0]}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [1234567890123456789]}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [99999999999999999999]}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [1e2, 1.5, 01]}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"\\u0041\", \"\\/\", \"\xc3\xa9\", \"\"]}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": []}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"A\"], \"tf\": [\"1h\"], \"x\": [1]}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"A\"], \"symbol\": [\"B\"]}}",
        "{\"features\": [\"v:x\"], \"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"A\"]}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"A\"]}, \"other\": 1}",
        "{\"features\": null, \"feature_service\": \"svc\", \"entities\": {\"symbol\": [\"A\"]}}",
        "{\"features\": [\"v:x\"], \"feature_service\": \"svc\", \"entities\": {\"symbol\": [\"A\"]}}",
        "{\"features\": [\"v:x\", \"w:x\"], \"entities\": {\"symbol\": [\"A\"]}}",
        "{\"features\": [\"v:x\", \"w:x\"], \"entities\": {\"symbol\": [\"A\"]}, \"full_feature_names\": true}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"A\"]}, \"full_feature_names\": null}",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"A\"]}} x",
        "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"A\"], \"tf\": [\"1h\", \"4h\"]}}",
        "{\"features\": [\"v:nope\"], \"entities\": {\"symbol\": [\"A\"]}}",
        "{\"features\": [\"\"], \"entities\": {\"symbol\": [\"A\"]}}",
        "{\"features\": [\"v:x\"], \"entities\": {}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"sym\": [\"A\"]}}",
        "{\"features\": [\"v:x\"], \"entities\": {\"a\": [1], \"b\": [1], \"c\": [1], \"d\": [1], \"e\": [1], "
        "\"f\": [1], \"g\": [1], \"h\": [1], \"i\": [1], \"j\": [1], \"k\": [1], \"l\": [1], \"m\": [1], "
        "\"n\": [1], \"o\": [1], \"p\": [1], \"symbol\": [\"A\"]}}",
        "{\"features\": [\"v:x\"]}",
        "{}",
        "[]",
        "",
    };
    /* One byte away: each byte deleted, or replaced by one of these. */
    static const char subst[] = {' ', '"', '\\', ',', ':', '[', ']', '{', '}', '0', '-', 'x', 'e', '\x80', '\0'};
    size_t n = sizeof bodies / sizeof bodies[0], compared = 0, differ = 0;
    char mut[1024];
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(bodies[i]);
        differ += !same_answer(bodies[i], len);
        compared++;
        for (size_t p = 0; p < len && len < sizeof mut; p++) {
            memcpy(mut, bodies[i], p);
            memcpy(mut + p, bodies[i] + p + 1, len - p - 1);
            differ += !same_answer(mut, len - 1);
            memcpy(mut, bodies[i], len);
            for (size_t k = 0; k < sizeof subst; k++) {
                mut[p] = subst[k];
                differ += !same_answer(mut, len);
            }
            compared += 1 + sizeof subst;
        }
    }
    /* Many entities and features: beyond the reader's inline storage. */
    fs_strbuf big = {0};
    fs_sb_puts(&big, "{\"features\": [");
    for (int f = 0; f < 100; f++)
        fs_sb_printf(&big, "%s\"v:%s\"", f ? ", " : "", f % 2 ? "x" : "x3");
    fs_sb_puts(&big, "], \"full_feature_names\": true, \"entities\": {\"symbol\": [");
    for (int e = 0; e < 600; e++)
        fs_sb_printf(&big, "%s\"%c\"", e ? ", " : "", "ABZ"[e % 3]);
    fs_sb_puts(&big, "]}}");
    differ += !same_answer(big.buf, big.len);
    compared++;
    fs_sb_free(&big);
    CHECK(compared > 5000);
    CHECK_INT(differ, 0);
    fs_server_destroy(srv);
}

TEST(test_push_and_materialize)
{
    fs_server_opts o = {0};
    CHECK_INT(fs_server_create(store, &o, &srv, NULL), FS_OK);
    json_t *j = call("POST", "/push",
                     "{\"push_source_name\": \"ticks\", \"to\": \"online\", \"df\": {\"symbol\": [\"C\", \"D\"], "
                     "\"ts\": [\"2023-11-14T22:13:20Z\", 1700000000], \"x\": [3, -1]}}", 400);
    CHECK_CONTAINS(error_of(j), "df row 1");
    CHECK_CONTAINS(error_of(j), "below the minimum");
    CHECK_INT(json_integer_value(json_object_get(j, "row")), 1);
    CHECK_STR(json_string_value(json_object_get(j, "column")), "x");
    json_decref(j);
    j = call("POST", "/get-online-features", "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"C\"]}}", 200);
    CHECK(has_text(j, "NOT_FOUND")); /* nothing of the bad push */
    json_decref(j);
    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"{\"df\": {}}", "push_source_name"},
        {"{\"push_source_name\": \"ticks\"}", "'df'"},
        {"{\"push_source_name\": \"ticks\", \"df\": []}", "'df'"},
        {"{\"push_source_name\": \"ticks\", \"df\": {}, \"to\": \"disk\"}", "'to'"},
        {"{\"push_source_name\": \"ticks\", \"df\": {}, \"to\": 1}", "'to'"},
        {"{\"push_source_name\": \"nope\", \"df\": {}}", "no source named 'nope'"},
        {"{\"push_source_name\": \"ticks\", \"df\": {\"symbol\": [\"A\"], \"x\": []}}", "different lengths"},
        {"{\"push_source_name\": \"ticks\", \"df\": {\"symbol\": \"A\"}}", "not a list"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = call("POST", "/push", bad[i].body, 400);
        CHECK_CONTAINS(error_of(j), bad[i].msg);
        json_decref(j);
    }
    j = call("POST", "/push",
             "{\"push_source_name\": \"ticks\", \"to\": \"online_and_offline\", \"df\": {\"symbol\": [\"C\"], "
             "\"ts\": [1700000005], \"x\": [3], \"tag\": [\"new\"]}}", 200);
    CHECK(json_integer_value(json_object_get(j, "offline_commit")) > 0);
    json_decref(j);
    j = call("POST", "/get-online-features",
             "{\"features\": [\"v:x\", \"v:tag\", \"v:x3\"], \"entities\": {\"symbol\": [\"C\"]}}", 200);
    json_t *res = json_object_get(j, "results");
    CHECK_NEAR(json_number_value(json_array_get(json_object_get(json_array_get(res, 1), "values"), 0)), 3, 0);
    CHECK_STR(json_string_value(json_array_get(json_object_get(json_array_get(res, 2), "values"), 0)), "new");
    CHECK_NEAR(json_number_value(json_array_get(json_object_get(json_array_get(res, 3), "values"), 0)), 9, 0);
    json_decref(j);
    /* Materialize. */
    j = call("POST", "/materialize", "{\"start_ts\": \"2023-11-14T00:00:00Z\", \"end_ts\": \"2023-11-15T00:00:00Z\", "
                                     "\"feature_views\": [\"v\"]}", 200);
    CHECK_INT(json_integer_value(json_object_get(j, "views")), 1);
    json_decref(j);
    j = call("POST", "/materialize-incremental", "{\"end_ts\": 1700000100}", 200);
    json_decref(j);
    j = call("POST", "/materialize", "{\"end_ts\": \"yesterday\"}", 400);
    CHECK_CONTAINS(error_of(j), "end_ts");
    json_decref(j);
    j = call("POST", "/materialize", "{\"feature_views\": [\"cold\"]}", 400);
    CHECK_CONTAINS(error_of(j), "not online");
    json_decref(j);
    j = call("POST", "/materialize", "{\"feature_views\": \"v\"}", 400);
    json_decref(j);
    j = call("POST", "/materialize", "{\"start_ts\": 1700000100, \"end_ts\": 1700000000}", 400);
    json_decref(j);
    j = call("GET", "/metrics", NULL, 200);
    CHECK_CONTAINS(json_string_value(j), "fstore_online_entities{view=\"v\"} 3");
    CHECK_CONTAINS(json_string_value(j), "fstore_online_lookups_total");
    json_decref(j);
    fs_server_destroy(srv);
    /* Validate-only servers write nothing. */
    o.validate_only = 1;
    CHECK_INT(fs_server_create(store, &o, &srv, NULL), FS_OK);
    j = call("POST", "/push", "{\"push_source_name\": \"ticks\", \"to\": \"online\", \"df\": {\"symbol\": [\"E\"], "
                              "\"ts\": [1700000005], \"x\": [3]}}", 200);
    CHECK_STR(json_string_value(json_object_get(j, "status")), "validated");
    json_decref(j);
    j = call("POST", "/get-online-features", "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"E\"]}}", 200);
    CHECK(has_text(j, "NOT_FOUND"));
    json_decref(j);
    fs_server_destroy(srv);
}

/* ---- a live server ----------------------------------------------------------------- */

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

/* Reads one response (headers + Content-Length body) into buf. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
        buf[n] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        char *cl = strcasestr(buf, "Content-Length:");
        if (end && cl && n >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
            break;
    }
    buf[n] = 0;
    return n ? atoi(buf + 9) : 0;
}

/* Reads up to the end of one head (an interim 100 Continue has no body). */
static int read_head(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t k = recv(fd, buf + n, 1, 0);
        if (k <= 0)
            break;
        n++;
        buf[n] = 0;
        if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    buf[n] = 0;
    return n > 12 ? atoi(buf + 9) : 0;
}

/* Descriptors open in this process: a stop must close every one it opened. */
static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    fs_server *s;
} stop_ctx;

static void *stopper(void *p)
{
    fs_server_stop(((stop_ctx *)p)->s, 5000);
    return NULL;
}

TEST(test_live_server)
{
    fs_server_opts o = {0};
    o.port = 0;
    o.threads = 2;
    o.max_body = 1000;
    char *detail = NULL;
    fs_server *live = NULL;
    int fds_before = open_fds();
    CHECK_INT(fs_server_start(store, &o, &live, &detail), FS_OK);
    int port = fs_server_port(live);
    CHECK(port > 0);
    char buf[8192];
    const char *q = "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"A\"]}}";
    char req[1024];
    snprintf(req, sizeof req, "POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(q), q);
    int fd = connect_to(port);
    CHECK(fd >= 0);
    for (int i = 0; i < 3; i++) { /* keep-alive: three requests on one connection */
        send_all(fd, req);
        CHECK_INT(read_response(fd, buf, sizeof buf), 200);
        CHECK_CONTAINS(buf, "\"values\":[1.5]");
    }
    /* Too large by its Content-Length: 413 before the body is read. */
    send_all(fd, "POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
    CHECK_INT(read_response(fd, buf, sizeof buf), 413);
    CHECK_CONTAINS(buf, "larger than the limit of 1000 bytes");
    close(fd);
    /* Too large as a chunked body. */
    fd = connect_to(port);
    send_all(fd, "POST /push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[800];
    int cl = snprintf(chunk, sizeof chunk, "2bc\r\n"); /* 700 bytes a chunk */
    memset(chunk + cl, ' ', 700);
    memcpy(chunk + cl + 700, "\r\n", 3);
    send_all(fd, chunk);
    send_all(fd, chunk);
    send_all(fd, "0\r\n\r\n");
    CHECK_INT(read_response(fd, buf, sizeof buf), 413);
    CHECK_CONTAINS(buf, "{\"error\": \"request body larger than the limit of 1000 bytes\"}");
    close(fd);
    /* A body of exactly the limit is taken; one byte more is not (by its
     * Content-Length). */
    char at[1200];
    memset(at, ' ', sizeof at);
    at[1000] = 0;
    memcpy(at, "{}", 2);
    fd = connect_to(port);
    snprintf(req, sizeof req, "POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
    send_all(fd, req);
    send_all(fd, at);
    CHECK_INT(read_response(fd, buf, sizeof buf), 400); /* read, then refused for what it says */
    snprintf(req, sizeof req, "POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n");
    send_all(fd, req);
    CHECK_INT(read_response(fd, buf, sizeof buf), 413);
    close(fd);
    /* Expect: 100-continue, HEAD, a query string, an escaped path. */
    fd = connect_to(port);
    snprintf(req, sizeof req,
             "POST /get-online-features HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
             strlen(q));
    send_all(fd, req);
    CHECK_INT(read_head(fd, buf, sizeof buf), 100);
    send_all(fd, q);
    CHECK_INT(read_response(fd, buf, sizeof buf), 200);
    CHECK_CONTAINS(buf, "\"values\":[1.5]");
    send_all(fd, "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_INT(read_head(fd, buf, sizeof buf), 200);
    CHECK(strcasestr(buf, "Content-Length: 17") != NULL);
    send_all(fd, "GET /%68ealth?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n"); /* the HEAD had no body: this is next */
    CHECK_INT(read_response(fd, buf, sizeof buf), 200);
    CHECK_CONTAINS(buf, "{\"status\": \"ok\"}");
    int idle = fd; /* left open, idle: the stop below closes it rather than wait for it */
    /* Malformed HTTP gets an answer from the library, not a crash. */
    fd = connect_to(port);
    send_all(fd, "GARBAGE\r\n\r\n");
    int st = read_response(fd, buf, sizeof buf);
    CHECK(st == 400 || st == 0);
    close(fd);
    /* Graceful stop: a request whose body is still arriving finishes. */
    fd = connect_to(port);
    snprintf(req, sizeof req, "POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
             strlen(q));
    send_all(fd, req);
    send_all(fd, "{\"features\": ");
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL); /* the server has the headers: the request is in flight */
    pthread_t t;
    stop_ctx sc = {live};
    int64_t t0 = now_ms();
    pthread_create(&t, NULL, stopper, &sc);
    nanosleep(&ts, NULL);
    CHECK(connect_to(port) < 0); /* no new connections once stopping */
    send_all(fd, q + strlen("{\"features\": "));
    CHECK_INT(read_response(fd, buf, sizeof buf), 200);
    CHECK_CONTAINS(buf, "PRESENT");
    CHECK(recv(idle, buf, sizeof buf, 0) == 0); /* the idle connection was closed */
    close(fd);
    close(idle);
    pthread_join(t, NULL);
    CHECK(now_ms() - t0 < 2500); /* the grace is 5 s: nothing waited for the idle connection */
    CHECK_INT(open_fds(), fds_before); /* sockets, pipes, epoll: all closed */
    /* Bad options. */
    o.bind = "not-an-address";
    CHECK_INT(fs_server_start(store, &o, &live, &detail), FS_E_INVAL);
    CHECK_CONTAINS(detail, "not an IP address");
    fs_free(detail);
}

/* Requests larger than a connection's memory pool (16 KiB: the library
 * clears the whole pool after every request, so it is kept small): an 8 KB
 * header line and a 60 KB body (5,000 entities) both get their answer. */
TEST(test_large_requests)
{
    fs_server_opts o = {0};
    o.threads = 1;
    char *detail = NULL;
    fs_server *live = NULL;
    CHECK_INT(fs_server_start(store, &o, &live, &detail), FS_OK);
    int port = fs_server_port(live);
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    fs_strbuf req = {0};
    const char *q = "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [\"A\"]}}";
    fs_sb_puts(&req, "POST /get-online-features HTTP/1.1\r\nHost: x\r\nX-Trace: ");
    for (int i = 0; i < 8000; i++) /* a head of 8 KB */
        fs_sb_append(&req, "t", 1);
    fs_sb_printf(&req, "\r\nContent-Length: %zu\r\n\r\n%s", strlen(q), q);
    int fd = connect_to(port);
    CHECK(fd >= 0);
    send_all(fd, req.buf);
    CHECK_INT(read_response(fd, buf, cap), 200);
    CHECK_CONTAINS(buf, "\"values\":[1.5]");
    fs_strbuf body = {0};
    fs_sb_puts(&body, "{\"features\": [\"v:x\"], \"entities\": {\"symbol\": [");
    for (int e = 0; e < 5000; e++)
        fs_sb_printf(&body, "%s\"%-10s\"", e ? ", " : "", "A");
    fs_sb_puts(&body, "]}}");
    CHECK(body.len > 60000);
    fs_sb_reset(&req);
    fs_sb_printf(&req, "POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", body.len);
    send_all(fd, req.buf);
    send_all(fd, body.buf);
    CHECK_INT(read_response(fd, buf, cap), 200);
    CHECK_CONTAINS(buf, "\"statuses\":[\"NOT_FOUND\""); /* "A" padded to 10 characters: no such entity */
    close(fd);
    fs_server_stop(live, 1000);
    fs_sb_free(&req);
    fs_sb_free(&body);
    free(buf);
}

int main(void)
{
    setup();
    RUN(test_get_online_features);
    RUN(test_readers_agree);
    RUN(test_push_and_materialize);
    RUN(test_live_server);
    RUN(test_large_requests);
    fs_close(store);
    rm_rf(dir);
    free(dir);
    TEST_EXIT();
}
