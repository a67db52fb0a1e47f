/* The floor of the HTTP benchmark (bench/serve/run.sh): a minimal HTTP/1.1
 * server (one thread, epoll, keep-alive) that answers every request with the
 * same fixed body of the size fstore's answer has, without reading it. Under
 * the same wrk load as `fstore serve`, its latency is what the load
 * generator, the loopback TCP stack and the machine cost alone: the part of
 * fstore's figures that no server could remove here.
 * usage: floor PORT BODY_BYTES   (prints "listening" once ready) */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    int fd;
    size_t len;
    char buf[16384];
} conn;

/* Sends all of it (waiting when the socket is full); -1 when the peer is gone. */
static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pf = {fd, POLLOUT, 0};
            poll(&pf, 1, 1000);
            continue;
        }
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Answers the complete requests at the start of c->buf. */
static int serve(conn *c, const char *resp, size_t rlen)
{
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end)
            return c->len < sizeof c->buf ? 0 : -1;
        size_t head = (size_t)(end + 4 - c->buf), body = 0;
        *end = 0; /* for strcasestr; the request is dropped below */
        char *cl = strcasestr(c->buf, "\r\ncontent-length:");
        if (cl)
            body = strtoul(cl + 17, NULL, 10);
        *end = '\r';
        if (body > sizeof c->buf - head)
            return -1;
        if (c->len < head + body)
            return 0;
        if (send_all(c->fd, resp, rlen))
            return -1;
        memmove(c->buf, c->buf + head + body, c->len - head - body);
        c->len -= head + body;
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: floor PORT BODY_BYTES\n");
        return 2;
    }
    int port = atoi(argv[1]);
    size_t blen = strtoul(argv[2], NULL, 10);
    char *resp = malloc(blen + 256);
    if (!resp)
        return 1;
    int hl = snprintf(resp, 256,
                      "HTTP/1.1 200 OK\r\nDate: Mon, 23 Nov 2026 12:00:00 GMT\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      blen);
    memset(resp + hl, ' ', blen);
    size_t rlen = (size_t)hl + blen;
    int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1024)) {
        perror("floor: listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) { /* the listening socket */
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn *nc = calloc(1, sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            ssize_t k = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
            if ((k < 0 && (errno == EAGAIN || errno == EINTR)))
                continue;
            if (k <= 0 || (c->len += (size_t)k, serve(c, resp, rlen) != 0)) {
                close(c->fd);
                free(c);
            }
        }
    }
}
