/* Gorilla XOR compression of doubles (Pelkonen et al., "Gorilla: A Fast,
 * Scalable, In-Memory Time Series Database", VLDB 2015, section 4.1.2).
 * Lossless for every bit pattern (NaN payloads, -0.0, infinities, denormals).
 * The layout is described at the top of gorilla.c; the verbs are those of
 * src/codec/README.md. */
#ifndef FS_CODEC_GORILLA_H
#define FS_CODEC_GORILLA_H

#include "codec/buf.h"

#include <stddef.h>

/* Appends the encoding of vals[0..n) to w (the bit stream is flushed to a
 * whole byte at the end; n == 0 writes nothing). FS_OK or FS_E_NOMEM. */
int fs_gorilla_encode(const double *vals, size_t n, fs_wbuf *w);
/* Decodes exactly n values into out[0..n). FS_OK, or FS_E_CORRUPT when the
 * bytes end early or are malformed. Leaves r on a byte boundary. */
int fs_gorilla_decode(fs_rbuf *r, size_t n, double *out);

#endif
