/* core/record.h — TFRecord framing (FORMATS §4.1), shared by the data reader and the
 * TensorBoard event writer. Internal.
 *
 *   uint64 LE length | uint32 LE masked crc32c(length bytes) | payload | uint32 LE masked crc32c(payload)
 */
#ifndef SC_CORE_RECORD_H
#define SC_CORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define SC_RECORD_HEADER_SIZE 12
#define SC_RECORD_FOOTER_SIZE 4

/* Fills the 12-byte header and the 4-byte footer that frame payload[0..len). */
void sc_record_frame(uint8_t header[SC_RECORD_HEADER_SIZE], uint8_t footer[SC_RECORD_FOOTER_SIZE],
                     const void *payload, size_t len);

/* Checks a 12-byte header; returns 0 and sets *len when its CRC matches, -1 otherwise. */
int sc_record_parse_header(const uint8_t header[SC_RECORD_HEADER_SIZE], uint64_t *len);

/* Returns 0 when footer holds the masked CRC of payload[0..len), -1 otherwise. */
int sc_record_check_footer(const uint8_t footer[SC_RECORD_FOOTER_SIZE], const void *payload,
                           size_t len);

#endif
