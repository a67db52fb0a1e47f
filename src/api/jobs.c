/* The job log: DIR/jobs.jsonl (contract in jobs.h). */
#include "api/jobs.h"

#include "core/fileio.h"
#include "fstore.h"
#include "registry/catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every line of the log as an array of objects; a torn last line (a crash
 * mid-append) is skipped. */
static json_t *read_lines(const char *dir)
{
    json_t *arr = json_array();
    char *path = fs_path_join(dir, "jobs.jsonl"), *text = NULL;
    size_t len = 0;
    fs_strbuf err = {0};
    if (path && fs_read_file(path, &text, &len, &err) == FS_OK) {
        char *line = text, *end = text + len;
        while (line < end) {
            char *nl = memchr(line, '\n', (size_t)(end - line));
            size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
            json_t *o = json_loadb(line, n, 0, NULL);
            if (json_is_object(o))
                json_array_append(arr, o);
            json_decref(o);
            line += n + 1;
        }
    }
    fs_sb_free(&err);
    free(text);
    free(path);
    return arr;
}

uint64_t fs_jobs_next_id(const char *dir)
{
    json_t *arr = read_lines(dir), *o;
    size_t i;
    uint64_t max = 0;
    json_array_foreach(arr, i, o) {
        uint64_t id = (uint64_t)json_integer_value(json_object_get(o, "id"));
        if (id > max)
            max = id;
    }
    json_decref(arr);
    return max + 1;
}

int fs_jobs_append(const char *dir, json_t *job, fs_strbuf *err)
{
    char *path = fs_path_join(dir, "jobs.jsonl");
    char *text = json_dumps(job, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    int rc = FS_OK;
    if (!path || !text) {
        rc = FS_E_NOMEM;
        goto out;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room: replace the NUL, write len + 1 */
    if (fd < 0 || write(fd, text, len + 1) != (ssize_t)(len + 1) || fsync(fd) != 0) {
        fs_sb_printf(err, "cannot append to %s: %s", path, strerror(errno));
        rc = errno == ENOSPC ? FS_E_NOSPACE : FS_E_IO;
    }
    if (fd >= 0)
        close(fd);
out:
    free(text);
    free(path);
    return rc;
}

json_t *fs_jobs_list(const char *dir, int writer_alive)
{
    json_t *lines = read_lines(dir), *jobs = json_array(), *o;
    size_t i;
    json_array_foreach(lines, i, o) {
        json_int_t id = json_integer_value(json_object_get(o, "id"));
        size_t k;
        json_t *j;
        int replaced = 0;
        json_array_foreach(jobs, k, j) {
            if (json_integer_value(json_object_get(j, "id")) == id) {
                json_array_set(jobs, k, o);
                replaced = 1;
                break;
            }
        }
        if (!replaced)
            json_array_append(jobs, o);
    }
    json_array_foreach(jobs, i, o) {
        const char *st = json_string_value(json_object_get(o, "status"));
        if (!writer_alive && st && strcmp(st, "running") == 0)
            json_object_set_new(o, "status", json_string("interrupted"));
    }
    json_decref(lines);
    return jobs;
}
