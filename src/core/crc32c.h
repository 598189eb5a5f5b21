/* core/crc32c.h — CRC-32C (Castagnoli) and TensorFlow's masked form. Internal.
 *
 * Two implementations give identical results: the SSE4.2 `crc32` instruction (chosen at run
 * time when the CPU has it) and a portable slicing-by-8 table. sc_crc32c_extend continues a CRC
 * over more bytes, so sc_crc32c_extend(sc_crc32c(a), b) == sc_crc32c(a ++ b).
 */
#ifndef SC_CORE_CRC32C_H
#define SC_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t sc_crc32c_extend(uint32_t crc, const void *data, size_t n);
static inline uint32_t sc_crc32c(const void *data, size_t n) {
    return sc_crc32c_extend(0, data, n);
}

/* The two implementations, exposed so tests can compare them. */
uint32_t sc_crc32c_extend_portable(uint32_t crc, const void *data, size_t n);
uint32_t sc_crc32c_extend_hw(uint32_t crc, const void *data,
                             size_t n); /* only if sc_crc32c_hw_available() */
int sc_crc32c_hw_available(void);
/* "avx512-vpclmulqdq+sse4.2" (folding for long inputs), "sse4.2" or "portable".
 * SC_CRC32C_NO_VPCLMUL=1 in the environment turns the folding path off (tests, benchmarks). */
const char *sc_crc32c_impl_name(void);

/* TensorFlow stores CRCs "masked" so that a CRC of data containing CRCs stays well distributed. */
#define SC_CRC_MASK_DELTA 0xa282ead8u
static inline uint32_t sc_crc32c_mask(uint32_t crc) {
    return ((crc >> 15) | (crc << 17)) + SC_CRC_MASK_DELTA;
}
static inline uint32_t sc_crc32c_unmask(uint32_t masked) {
    uint32_t r = masked - SC_CRC_MASK_DELTA;
    return (r >> 17) | (r << 15);
}

#endif
