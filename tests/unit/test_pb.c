/* Protobuf wire helpers: the encodings of FORMATS §0.2 and §1.3, malformed input, and the
 * sub-message length patch when a body outgrows one length byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/pb.h"

static void test_varints(void **state) {
    (void)state;
    sc_pb_buf b = {0};
    sc_pb_put_varint(&b, 0);
    sc_pb_put_varint(&b, 300);
    sc_pb_put_int(&b, 1, -1);
    const uint8_t want[] = {0x00, 0xac, 0x02, 0x08, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    sc_pb_reader r = sc_pb_reader_init(b.data, b.len);
    uint64_t v;
    assert_int_equal(sc_pb_read_varint64(&r, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(sc_pb_read_varint64(&r, &v), 0);
    assert_int_equal(v, 300);
    uint32_t field;
    int wire;
    assert_int_equal(sc_pb_next(&r, &field, &wire), 1);
    assert_int_equal(field, 1);
    assert_int_equal(wire, SC_PB_VARINT);
    assert_int_equal(sc_pb_read_varint64(&r, &v), 0);
    assert_int_equal((int64_t)v, -1);
    assert_int_equal(sc_pb_next(&r, &field, &wire), 0);
    sc_pb_buf_free(&b);
}

static void test_malformed(void **state) {
    (void)state;
    const uint8_t unterminated[] = {0x80, 0x80};
    sc_pb_reader r = sc_pb_reader_init(unterminated, sizeof unterminated);
    uint64_t v;
    assert_int_equal(sc_pb_read_varint64(&r, &v), -1);
    const uint8_t eleven[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    r = sc_pb_reader_init(eleven, sizeof eleven);
    assert_int_equal(sc_pb_read_varint64(&r, &v), -1); /* overflows 64 bits */
    const uint8_t big_len[] = {0x0a, 0x05, 'a', 'b'};  /* length 5, only 2 bytes */
    r = sc_pb_reader_init(big_len, sizeof big_len);
    uint32_t f;
    int w;
    assert_int_equal(sc_pb_next(&r, &f, &w), 1);
    const uint8_t *d;
    size_t n;
    assert_int_equal(sc_pb_read_len(&r, &d, &n), -1);
    const uint8_t group[] = {0x0b}; /* field 1, wire type 3 */
    r = sc_pb_reader_init(group, 1);
    assert_int_equal(sc_pb_next(&r, &f, &w), -1);
    const uint8_t field0[] = {0x02};
    r = sc_pb_reader_init(field0, 1);
    assert_int_equal(sc_pb_next(&r, &f, &w), -1);
    const uint8_t short32[] = {0x0d, 1, 2};
    r = sc_pb_reader_init(short32, sizeof short32);
    assert_int_equal(sc_pb_next(&r, &f, &w), 1);
    assert_int_equal(sc_pb_skip(&r, w), -1);
}

/* FORMATS §1.3: float32 [3, 32] at offset 1234, size 384, masked crc 0x11223344. */
static void test_bundle_entry_vector(void **state) {
    (void)state;
    sc_pb_buf b = {0};
    sc_pb_put_uint(&b, 1, 1);
    size_t shape = sc_pb_begin_sub(&b, 2);
    size_t d0 = sc_pb_begin_sub(&b, 2);
    sc_pb_put_uint(&b, 1, 3);
    sc_pb_end_sub(&b, d0);
    size_t d1 = sc_pb_begin_sub(&b, 2);
    sc_pb_put_uint(&b, 1, 32);
    sc_pb_end_sub(&b, d1);
    sc_pb_end_sub(&b, shape);
    sc_pb_put_uint(&b, 4, 1234);
    sc_pb_put_uint(&b, 5, 384);
    sc_pb_put_key(&b, 6, SC_PB_I32);
    sc_pb_put_fixed32(&b, 0x11223344u);
    const uint8_t want[] = {0x08, 0x01, 0x12, 0x08, 0x12, 0x02, 0x08, 0x03, 0x12, 0x02, 0x08, 0x20,
                            0x20, 0xd2, 0x09, 0x28, 0x80, 0x03, 0x35, 0x44, 0x33, 0x22, 0x11};
    assert_false(b.failed);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    sc_pb_buf_free(&b);
}

static void test_long_submessage(void **state) {
    (void)state;
    sc_pb_buf b = {0};
    char body[300];
    memset(body, 'x', sizeof body);
    size_t m = sc_pb_begin_sub(&b, 3);
    sc_pb_put_lenfield(&b, 1, body, sizeof body);
    sc_pb_end_sub(&b, m);
    sc_pb_reader r = sc_pb_reader_init(b.data, b.len);
    uint32_t f;
    int w;
    assert_int_equal(sc_pb_next(&r, &f, &w), 1);
    assert_int_equal(f, 3);
    sc_pb_reader sub;
    assert_int_equal(sc_pb_read_sub(&r, &sub), 0);
    assert_true(sc_pb_done(&r));
    assert_int_equal(sc_pb_next(&sub, &f, &w), 1);
    const uint8_t *d;
    size_t n;
    assert_int_equal(sc_pb_read_len(&sub, &d, &n), 0);
    assert_int_equal(n, sizeof body);
    assert_memory_equal(d, body, n);
    sc_pb_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bundle_entry_vector),
        cmocka_unit_test(test_long_submessage),
    };
    return cmocka_run_group_tests_name("pb", tests, NULL, NULL);
}
