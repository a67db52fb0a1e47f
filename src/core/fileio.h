/* File helpers with the durability rules of the whole store: whole-file
 * reads, atomic replacement (temp file, fsync, rename, fsync of the
 * directory), advisory directory locks, and named fault points that tests
 * use to kill the process at an exact step. */
#ifndef FS_FILEIO_H
#define FS_FILEIO_H

#include <stddef.h>

#include "core/strbuf.h"

/* Reads a whole file into a malloc'd NUL-terminated buffer (*len excludes the
 * NUL). Returns FS_OK, FS_E_NOTFOUND (no such file) or FS_E_IO / FS_E_NOMEM;
 * on failure a message naming the path goes to `err` (may be NULL). */
int fs_read_file(const char *path, char **data, size_t *len, fs_strbuf *err);

/* Replaces `path` with `data` atomically: writes path.tmp, fsyncs it, renames
 * it over path and fsyncs the directory. After a crash at any point the file
 * holds either its old or its new content, never a mix. ENOSPC/EDQUOT/EFBIG
 * map to FS_E_NOSPACE and leave the old file untouched. */
int fs_write_file_atomic(const char *path, const void *data, size_t len, fs_strbuf *err);

/* fsync of a directory, so that a rename or create inside it is durable. */
int fs_fsync_dir(const char *dir, fs_strbuf *err);

/* mkdir -p. */
int fs_mkdirs(const char *path, fs_strbuf *err);

/* Takes an exclusive advisory lock (flock) on `path` (created if missing),
 * waiting up to wait_ms milliseconds (0: try once). On success *fd holds the
 * lock until fs_unlock(). FS_E_BUSY when the wait ran out. flock locks are
 * released by the kernel when the process dies, so a killed writer never
 * leaves a stale lock behind. */
int fs_lock(const char *path, int wait_ms, int *fd, fs_strbuf *err);
void fs_unlock(int fd);

/* Fault injection for crash tests: when the environment variable
 * FSTORE_CRASH_AT equals `name`, the process kills itself with SIGKILL right
 * here, as a power cut or an OOM kill would. Costs one getenv otherwise. */
void fs_fault_point(const char *name);

#endif
