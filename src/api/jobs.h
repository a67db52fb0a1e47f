/* The job log of a data directory (DIR/jobs.jsonl): one JSON object per line,
 * appended and fsynced. A job writes a "running" line when it starts and its
 * final line when it ends; the last line of an id wins, so a job whose
 * process died shows as "interrupted" (its "running" line is the last). */
#ifndef FS_JOBS_H
#define FS_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "core/strbuf.h"

/* The next job id: one more than the greatest in the log. */
uint64_t fs_jobs_next_id(const char *dir);

/* Appends `job` (an object with at least "id" and "status") as one line. */
int fs_jobs_append(const char *dir, json_t *job, fs_strbuf *err);

/* Every job, oldest first, its last line each; "running" jobs whose writer
 * is gone (no live writer lock) are reported "interrupted". New reference. */
json_t *fs_jobs_list(const char *dir, int writer_alive);

#endif
