/* Bit-packing codecs: booleans one bit each, and frame-of-reference (FOR)
 * bit-packing of int64 in frames of FS_FRAME values. Layouts and the
 * algorithm are described in bitpack.c. The frame packer is exported so that
 * other codecs (delta-of-delta timestamps, scaled decimals) share it. */
#ifndef FS_CODEC_BITPACK_H
#define FS_CODEC_BITPACK_H

#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"

/* Values per frame in every frame-packed codec. */
#define FS_FRAME 128

/* Bits needed to hold v: 0 for 0, 64 for values with the top bit set. */
unsigned fs_bits_needed(uint64_t v);

/* Booleans: vals[i] must be 0 or 1, else FS_E_INVAL (nothing written).
 * FS_OK or FS_E_NOMEM. */
int fs_bool_encode(const uint8_t *vals, size_t n, fs_wbuf *w);
/* Decodes n booleans (0/1) into out. FS_OK or FS_E_CORRUPT. */
int fs_bool_decode(fs_rbuf *r, size_t n, uint8_t *out);

/* Frame-of-reference int64: any values, including INT64_MIN..INT64_MAX in one
 * frame (width 64). FS_OK or FS_E_NOMEM. */
int fs_for_encode(const int64_t *vals, size_t n, fs_wbuf *w);
/* FS_OK or FS_E_CORRUPT (truncated input, bit width > 64). */
int fs_for_decode(fs_rbuf *r, size_t n, int64_t *out);

/* Low-level frame packer: appends the low `width` (0..64) bits of each of
 * vals[0..cnt) (cnt <= FS_FRAME), low bits first, padded with zero bits to a
 * whole byte: ceil(cnt * width / 8) bytes. The writer must be byte-aligned. */
void fs_pack_frame(fs_wbuf *w, const uint64_t *vals, size_t cnt, unsigned width);
/* Reverses fs_pack_frame. 0, or -1 (setting r->corrupt) when width > 64,
 * cnt > FS_FRAME or the bytes run out. The reader must be byte-aligned. */
int fs_unpack_frame(fs_rbuf *r, size_t cnt, unsigned width, uint64_t *out);

#endif
