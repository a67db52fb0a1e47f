/* SHA-256 (FIPS 180-4), for content hashes that identify files: a training
 * run records the hash of its labels and of its output, and a rebuild must
 * reproduce the output hash exactly. Streaming: init, update any number of
 * times, final. */
#ifndef FS_SHA256_H
#define FS_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    uint8_t buf[64];
    size_t nbuf;
} fs_sha256;

void fs_sha256_init(fs_sha256 *c);
void fs_sha256_update(fs_sha256 *c, const void *data, size_t n);
/* Writes the digest as 64 lowercase hex digits and a NUL. */
void fs_sha256_hex(fs_sha256 *c, char out[65]);

/* On x86 CPUs with the SHA extensions the blocks are hashed with those
 * instructions, else with portable code; the digest is the same either way.
 * For tests and benchmarks only: */
/* 1 when the hardware path is available on this CPU (and build), else 0. */
int fs_sha256_hw_available(void);
/* on != 0 makes every later block use the portable code, 0 restores the
 * automatic choice. Process-wide; takes effect even mid-stream (both paths
 * share the state format). */
void fs_sha256_force_portable(int on);

#endif
