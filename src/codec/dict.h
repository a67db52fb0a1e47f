/* Dictionary encoding of string columns (symbols, timeframes, labels: few
 * distinct values over many rows). Algorithm and layout: see dict.c. */
#ifndef FS_CODEC_DICT_H
#define FS_CODEC_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"

/* Appends the encoding of the strings vals[i][0..lens[i]) for i in [0, n) to
 * w. Strings may hold any bytes, NUL included (hence lens); vals[i] may be
 * NULL when lens[i] == 0. The caller keeps ownership of vals and lens.
 * @return FS_OK; FS_E_NOMEM; FS_E_INVAL when vals or lens is NULL with n > 0,
 *         or there are more than UINT32_MAX distinct values. */
int fs_dict_encode(const char *const *vals, const uint32_t *lens, size_t n, fs_wbuf *w);

/* Decoded strings. Ownership (LMDB style): everything below is owned by this
 * struct and released by fs_dict_strings_free(), all at once; no pointer in
 * it may be freed on its own.
 *  - vals[i], lens[i] for i in [0, n): row i. vals[i] points into `arena`;
 *    rows with the same value share the same pointer. Each string is followed
 *    by a NUL for convenience, but may contain NULs itself: use lens[i].
 *  - dict[k], dict_lens[k] for k in [0, ndict): the distinct values in order
 *    of first appearance; codes[i] is row i's index into them (handy for
 *    equality filters and group-by without comparing strings).
 * The pointers stay valid until fs_dict_strings_free(); the arrays must not
 * be modified. With n == 0 every pointer is NULL. */
typedef struct {
    size_t n;
    const char **vals;
    uint32_t *lens;
    size_t ndict;
    const char **dict;
    uint32_t *dict_lens;
    uint32_t *codes;
    char *arena; /* the distinct strings, each NUL-terminated */
} fs_dict_strings;

/* Decodes exactly n strings from r into *out (overwritten, never read).
 * On FS_OK the caller owns *out and frees it with fs_dict_strings_free().
 * On failure *out is zeroed and owns nothing (freeing it is harmless).
 * @return FS_OK; FS_E_CORRUPT when the bytes are malformed or end early;
 *         FS_E_NOMEM. Allocations are bounded by n and by the length of the
 *         remaining input, never by a count read from the input. */
int fs_dict_decode(fs_rbuf *r, size_t n, fs_dict_strings *out);

/* Releases what fs_dict_decode() gave and zeroes *s. NULL and a zeroed
 * struct are allowed. */
void fs_dict_strings_free(fs_dict_strings *s);

#endif
