/* libFuzzer target: whole HTTP requests through the running server
 * (libmicrohttpd's parsing, keep-alive, chunked bodies, body limits, then
 * the handlers): each input is written as raw bytes to a new loopback
 * connection to it, the write side is shut, and the answer is read to its
 * end. The server must answer or close; it must never crash,
 * hang or leak. Pushes and materializations validate but write nothing. */
#include "fuzz_common.h"
#include "server/server.h"

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>

static fs_server *srv;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    fs_store *s = fuzz_store();
    fs_server_opts o = {0};
    o.validate_only = 1;
    o.threads = 1;
    o.max_body = 2048;
    char *detail = NULL;
    if (fs_server_start(s, &o, &srv, &detail) != FS_OK)
        fuzz_die(detail ? detail : "server", FS_E_IO, s);
    return 0;
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)fs_server_port(srv));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void send_all(int fd, const void *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        ssize_t k = send(fd, (const char *)data + off, size - off, MSG_NOSIGNAL);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
}

/* Reads until the server closes, or until it says nothing for wait_ms.
 * Returns 1 when it closed, 0 on silence. */
static int drain(int fd, int wait_ms)
{
    char buf[65536];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, wait_ms) == 0)
            return 0;
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k <= 0)
            return 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = connect_server();
    if (fd < 0)
        abort(); /* the server is gone */
    send_all(fd, data, size);
    shutdown(fd, SHUT_WR);
    if (!drain(fd, 200)) {
        /* Silence: an incomplete request whose end libmicrohttpd waits for
         * (it may miss the half-close and keep the connection until its
         * timeout). That is fine as long as the server still answers
         * others: a health check on a new connection must come back. */
        static const char health[] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        int h = connect_server();
        if (h < 0)
            abort();
        send_all(h, health, sizeof health - 1);
        if (!drain(h, 5000))
            abort(); /* the server hangs */
        close(h);
    }
    close(fd);
    return 0;
}
