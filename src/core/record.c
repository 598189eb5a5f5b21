/* core/record.c — TFRecord framing. */
#include "core/record.h"
#include "core/crc32c.h"

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void sc_record_frame(uint8_t header[SC_RECORD_HEADER_SIZE], uint8_t footer[SC_RECORD_FOOTER_SIZE],
                     const void *payload, size_t len) {
    uint64_t l = len;
    put32(header, (uint32_t)l);
    put32(header + 4, (uint32_t)(l >> 32));
    put32(header + 8, sc_crc32c_mask(sc_crc32c(header, 8)));
    put32(footer, sc_crc32c_mask(sc_crc32c(payload, len)));
}

int sc_record_parse_header(const uint8_t header[SC_RECORD_HEADER_SIZE], uint64_t *len) {
    if (sc_crc32c_unmask(get32(header + 8)) != sc_crc32c(header, 8)) return -1;
    *len = (uint64_t)get32(header) | (uint64_t)get32(header + 4) << 32;
    return 0;
}

int sc_record_check_footer(const uint8_t footer[SC_RECORD_FOOTER_SIZE], const void *payload,
                           size_t len) {
    return sc_crc32c_unmask(get32(footer)) == sc_crc32c(payload, len) ? 0 : -1;
}
