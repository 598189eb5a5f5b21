/* CRC-32C: the check values of FORMATS Appendix A.1, masking, and agreement of the SSE4.2 and
 * portable paths on every length and alignment around the stream-splitting boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/crc32c.h"
#include "core/record.h"

static void test_check_values(void **state) {
    (void)state;
    assert_int_equal(sc_crc32c("123456789", 9), 0xE3069283u);
    assert_int_equal(sc_crc32c_extend_portable(0, "123456789", 9), 0xE3069283u);
    uint8_t zeros[32] = {0};
    assert_int_equal(sc_crc32c(zeros, 32), 0x8A9136AAu);
    assert_int_equal(sc_crc32c("", 0), 0u);
}

static void test_mask(void **state) {
    (void)state;
    assert_int_equal(sc_crc32c_mask(0xE3069283u), 0xC78AB0E5u);
    for (uint32_t v = 1; v < 0xF0000000u; v = v * 3 + 7)
        assert_int_equal(sc_crc32c_unmask(sc_crc32c_mask(v)), v);
}

static void test_extend(void **state) {
    (void)state;
    const char *s = "hello, sidecar";
    for (size_t cut = 0; cut <= strlen(s); cut++)
        assert_int_equal(sc_crc32c_extend(sc_crc32c(s, cut), s + cut, strlen(s) - cut),
                         sc_crc32c(s, strlen(s)));
}

/* Lengths around the 3 x 256 and 3 x 8192 byte stream blocks, at every alignment mod 8. */
static void test_paths_agree(void **state) {
    (void)state;
    size_t max = 3 * 8192 * 2 + 777;
    uint8_t *buf = malloc(max + 8);
    assert_non_null(buf);
    uint32_t x = 12345;
    for (size_t i = 0; i < max + 8; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    /* Also around the 256-byte step, 64- and 16-byte tails of the folding (VPCLMULQDQ) path. */
    const size_t lens[] = {
        0,   1,   7,   8,   9,    15,           16,       63,           64,
        255, 256, 257, 271, 272,  319,          320,      511,          512,
        513, 767, 768, 769, 1000, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 3 * 8192 + 3 * 256 + 5,
        max};
    for (size_t a = 0; a < 8; a++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            uint32_t p = sc_crc32c_extend_portable(0x1234u, buf + a, lens[i]);
            assert_int_equal(sc_crc32c_extend(0x1234u, buf + a, lens[i]), p);
            if (sc_crc32c_hw_available())
                assert_int_equal(sc_crc32c_extend_hw(0x1234u, buf + a, lens[i]), p);
        }
    free(buf);
}

/* FORMATS §4.1: framing headers for lengths 0 and 24; Appendix A.2 record. */
static void test_record_vectors(void **state) {
    (void)state;
    uint8_t h[12], f[4];
    sc_record_frame(h, f, "", 0);
    const uint8_t h0[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0x29, 0x03, 0x98, 0x07};
    assert_memory_equal(h, h0, 12);
    const uint8_t payload[24] = {0x09, 0x00, 0x00, 0x00, 0x40, 0xfc, 0x54, 0xd9,
                                 0x41, 0x1a, 0x0d, 'b',  'r',  'a',  'i',  'n',
                                 '.',  'E',  'v',  'e',  'n',  't',  ':',  '2'};
    sc_record_frame(h, f, payload, 24);
    const uint8_t h24[12] = {0x18, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0x7f, 0x4b, 0x22};
    const uint8_t f24[4] = {0xec, 0xed, 0x8f, 0x9d};
    assert_memory_equal(h, h24, 12);
    assert_memory_equal(f, f24, 4);
    uint64_t len = 0;
    assert_int_equal(sc_record_parse_header(h, &len), 0);
    assert_int_equal(len, 24);
    assert_int_equal(sc_record_check_footer(f, payload, 24), 0);
    h[0] ^= 1;
    assert_int_equal(sc_record_parse_header(h, &len), -1);
    f[2] ^= 0x10;
    assert_int_equal(sc_record_check_footer(f, payload, 24), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_values),   cmocka_unit_test(test_mask),
        cmocka_unit_test(test_extend),         cmocka_unit_test(test_paths_agree),
        cmocka_unit_test(test_record_vectors),
    };
    return cmocka_run_group_tests_name("crc32c", tests, NULL, NULL);
}
