/* File helpers: whole-file reads, atomic replace, directory fsync, flock
 * locks and fault points. */
#include "core/fileio.h"

#include "core/bigmem.h"

#include "fstore.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int errno_status(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return FS_E_NOSPACE;
    case ENOENT: return FS_E_NOTFOUND;
    case ENOMEM: return FS_E_NOMEM;
    default: return FS_E_IO;
    }
}

static int fail(fs_strbuf *err, int e, const char *what, const char *path)
{
    if (err)
        fs_sb_printf(err, "%s %s: %s", what, path, strerror(e));
    return errno_status(e);
}

int fs_read_file(const char *path, char **data, size_t *len, fs_strbuf *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errno, "cannot open", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail(err, e, "cannot stat", path);
    }
    /* Room past the size: the read that finds the end needs some, and a
     * buffer of exactly size + 1 was doubled (and copied) just for it. */
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 4096 : 4096, n = 0;
    char *buf = fs_big_malloc(cap); /* large files: huge pages, far fewer faults */
    if (!buf) {
        close(fd);
        return fail(err, ENOMEM, "cannot read", path);
    }
    for (;;) {
        if (n + 1 >= cap) { /* the file grew, or a pipe/proc file without a size */
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                close(fd);
                return fail(err, ENOMEM, "cannot read", path);
            }
            buf = p;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            return fail(err, e, "cannot read", path);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return FS_OK;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int fs_fsync_dir(const char *dir, fs_strbuf *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errno, "cannot open directory", dir);
    if (fsync(fd) != 0 && errno != EINVAL) { /* some filesystems cannot fsync dirs */
        int e = errno;
        close(fd);
        return fail(err, e, "cannot fsync directory", dir);
    }
    close(fd);
    return FS_OK;
}

int fs_write_file_atomic(const char *path, const void *data, size_t len, fs_strbuf *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5), *dcopy = strdup(path);
    if (!tmp || !dcopy) {
        free(tmp);
        free(dcopy);
        return fail(err, ENOMEM, "cannot write", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int rc = FS_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = fail(err, errno, "cannot create", tmp);
        goto out;
    }
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = fail(err, errno, "cannot write", tmp);
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0) {
        rc = fail(err, errno, "cannot close", tmp);
        unlink(tmp);
        goto out;
    }
    fs_fault_point("atomic-before-rename");
    if (rename(tmp, path) != 0) {
        rc = fail(err, errno, "cannot rename into", path);
        unlink(tmp);
        goto out;
    }
    fs_fault_point("atomic-after-rename");
    rc = fs_fsync_dir(dirname(dcopy), err);
out:
    free(tmp);
    free(dcopy);
    return rc;
}

int fs_mkdirs(const char *path, fs_strbuf *err)
{
    char *p = strdup(path);
    if (!p)
        return fail(err, ENOMEM, "cannot create directory", path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                int rc = fail(err, errno, "cannot create directory", p);
                free(p);
                return rc;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(err, ENOTDIR, "cannot create directory", path);
    return FS_OK;
}

int fs_lock(const char *path, int wait_ms, int *fd_out, fs_strbuf *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(err, errno, "cannot open lock file", path);
    for (int waited = 0;; waited += 10) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            *fd_out = fd;
            return FS_OK;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int rc = fail(err, errno, "cannot lock", path);
            close(fd);
            return rc;
        }
        if (waited >= wait_ms) {
            if (err)
                fs_sb_printf(err,
                             "%s is locked by another fstore process (waited %d ms); "
                             "try again when it finishes",
                             path, wait_ms);
            close(fd);
            return FS_E_BUSY;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void fs_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

void fs_fault_point(const char *name)
{
    const char *at = getenv("FSTORE_CRASH_AT");
    if (at && strcmp(at, name) == 0)
        raise(SIGKILL);
}
