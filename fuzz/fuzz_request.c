/* libFuzzer target: the feature server's request handling (server.h's
 * fs_server_handle: routing, every endpoint's JSON parsing and validation,
 * lookups, the response writer) on arbitrary input.
 *
 * Input: byte 0 picks the endpoint and method (low 3 bits: the path, bit 3:
 * GET instead of POST); the rest is the body. Pushes and materializations
 * are validated in full but write nothing (validate_only), so that the run
 * stays fast and the store the same. A crash, a sanitizer report, a leak or
 * a reply that is not JSON with a 2xx/4xx status is a finding; so is a
 * get-online-features body whose answer from the direct reader
 * (server/gof_reader.c) differs by a byte from the answer of the general
 * one (jansson). */
#include "fuzz_common.h"
#include "server/server.h"

#include <jansson.h>
#include <stdint.h>

static fs_server *srv;

static const char *const paths[8] = {"/get-online-features", "/push", "/materialize", "/materialize-incremental",
                                     "/health", "/metrics", "/registry", "/nope"};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fs_store *s = fuzz_store();
    fs_server_opts o = {0};
    o.validate_only = 1;
    if (fs_server_create(s, &o, &srv, NULL) != FS_OK)
        fuzz_die("server", FS_E_IO, s);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *path = paths[data[0] & 7];
    const char *method = data[0] & 8 ? "GET" : "POST";
    fs_http_reply r;
    fs_server_handle(srv, method, path, (const char *)data + 1, size - 1, &r);
    if (r.status != 200 && r.status != 400 && r.status != 404 && r.status != 405)
        abort(); /* a 5xx: the server failed on input it should have refused or served */
    if (strcmp(path, "/metrics") != 0 || r.status != 200) {
        json_t *j = json_loadb(r.body, r.len, 0, NULL);
        if (!j)
            abort(); /* every other reply is JSON */
        json_decref(j);
    }
    if (strcmp(path, "/get-online-features") == 0 && strcmp(method, "POST") == 0) {
        fs_http_reply g;
        srv->json_only = 1;
        fs_server_handle(srv, method, path, (const char *)data + 1, size - 1, &g);
        srv->json_only = 0;
        if (g.status != r.status || g.len != r.len || memcmp(g.body, r.body, r.len) != 0)
            abort(); /* the two readers disagree */
        free(g.body);
    }
    free(r.body);
    return 0;
}
