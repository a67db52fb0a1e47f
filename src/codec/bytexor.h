/* Byte-aligned XOR compression of doubles: each value's bit pattern XORed
 * with the previous one, stored without its leading zero bytes. Lossless for
 * every bit pattern. Within a few percent of Gorilla's size on computed
 * series (indicator outputs, whose low mantissa bits are noise) at a fraction
 * of its cost to write and to read. The layout is described at the top of
 * bytexor.c; the verbs are those of src/codec/README.md. */
#ifndef FS_CODEC_BYTEXOR_H
#define FS_CODEC_BYTEXOR_H

#include "codec/buf.h"

#include <stddef.h>

/* The exact number of bytes fs_bytexor_encode writes for vals[0..n). */
size_t fs_bytexor_size(const double *vals, size_t n);
/* Appends the encoding of vals[0..n) to w (n == 0 writes nothing). FS_OK or
 * FS_E_NOMEM. */
int fs_bytexor_encode(const double *vals, size_t n, fs_wbuf *w);
/* Decodes exactly n values into out[0..n). FS_OK, or FS_E_CORRUPT when the
 * bytes end early or are malformed. */
int fs_bytexor_decode(fs_rbuf *r, size_t n, double *out);

#endif
