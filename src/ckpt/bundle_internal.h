/* ckpt/bundle_internal.h — pieces shared by the bundle reader and writer (FORMATS §1.1, §1.4).
 * Internal. */
#ifndef SC_CKPT_BUNDLE_INTERNAL_H
#define SC_CKPT_BUNDLE_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/crc32c.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sidecar reads little-endian tensor data straight into memory: little-endian hosts only"
#endif

/* Tensor bytes are read and CRC'd in chunks this big: small enough that a chunk is still in L2
 * (512 KiB and up on current x86 server cores) when the CRC runs right after the read, large
 * enough to keep syscalls rare (4096 per GiB). */
#define SC_BUNDLE_READ_CHUNK ((size_t)256 << 10)

/* "<prefix>.data-SSSSS-of-NNNNN" (+ suffix, may be ""), malloc'd; NULL when out of memory. */
static inline char *sc_bundle_shard_path(const char *prefix, int shard, int num_shards,
                                         const char *suffix) {
    int n = snprintf(NULL, 0, "%s.data-%05d-of-%05d%s", prefix, shard, num_shards, suffix);
    if (n < 0) return NULL;
    char *p = malloc((size_t)n + 1);
    if (p) snprintf(p, (size_t)n + 1, "%s.data-%05d-of-%05d%s", prefix, shard, num_shards, suffix);
    return p;
}

/* A DT_STRING element length enters the CRC as a 4-byte LE integer when it fits, else 8. */
static inline uint32_t sc_bundle_crc_len(uint32_t crc, uint64_t len) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(len >> (8 * i));
    return sc_crc32c_extend(crc, b, len <= UINT32_MAX ? 4 : 8);
}

#endif
