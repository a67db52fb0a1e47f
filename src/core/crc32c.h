/* CRC-32C (Castagnoli): the checksum of WAL records and chunk blocks.
 *
 * Polynomial 0x1EDC6F41 (reflected 0x82F63B78), initial value and final xor
 * 0xFFFFFFFF, as in iSCSI (RFC 3720), ext4, LevelDB/RocksDB and the SSE4.2
 * `crc32` instruction. The pre/post inversion is done inside the call, so the
 * public value chains: start with crc = 0, and
 *     fs_crc32c(fs_crc32c(0, a, na), b, nb) == fs_crc32c(0, a ++ b, na + nb).
 *
 * fs_crc32c() uses the SSE4.2 instruction when the CPU has it (x86-64 only)
 * and software slice-by-8 otherwise. Thread-safe: the tables and the choice of
 * path are set up once, under pthread_once, on first use. */
#ifndef FS_CORE_CRC32C_H
#define FS_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of data[0..n) continuing from `crc` (0 to start). data may be NULL
 * when n == 0. */
uint32_t fs_crc32c(uint32_t crc, const void *data, size_t n);

/* The two paths, exposed so tests can check that they agree. */
uint32_t fs_crc32c_sw(uint32_t crc, const void *data, size_t n);
/* 1 when the hardware path is available on this CPU (and build), else 0. */
int fs_crc32c_hw_available(void);
/* Hardware path; falls back to software when fs_crc32c_hw_available() is 0. */
uint32_t fs_crc32c_hw(uint32_t crc, const void *data, size_t n);

#endif
