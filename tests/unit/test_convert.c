/* dtype -> float32 conversion: float16 edge cases against values computed by hand from the
 * IEEE 754 definition, bfloat16, float64 rounding, integers, and unsupported types. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/tensor.h"

static void test_half(void **state) {
    (void)state;
    assert_true(sc_half_to_float(0x3c00) == 1.0f);
    assert_true(sc_half_to_float(0xc000) == -2.0f);
    assert_true(sc_half_to_float(0x7bff) == 65504.0f);             /* largest normal */
    assert_true(sc_half_to_float(0x0400) == ldexpf(1.0f, -14));    /* smallest normal */
    assert_true(sc_half_to_float(0x0001) == ldexpf(1.0f, -24));    /* smallest subnormal */
    assert_true(sc_half_to_float(0x03ff) == ldexpf(1023.0f, -24)); /* largest subnormal */
    assert_true(sc_half_to_float(0x3555) == 0x1.554p-2f);          /* 0.333251953125 */
    float z = sc_half_to_float(0x8000);
    assert_true(z == 0.0f && signbit(z));
    assert_true(isinf(sc_half_to_float(0x7c00)) && sc_half_to_float(0x7c00) > 0);
    assert_true(isinf(sc_half_to_float(0xfc00)) && sc_half_to_float(0xfc00) < 0);
    assert_true(isnan(sc_half_to_float(0x7e00)));
}

static void test_bfloat16(void **state) {
    (void)state;
    assert_true(sc_bfloat16_to_float(0x3f80) == 1.0f);
    assert_true(sc_bfloat16_to_float(0xc0a0) == -5.0f);
    assert_true(sc_bfloat16_to_float(0x3e80) == 0.25f);
    assert_true(isinf(sc_bfloat16_to_float(0x7f80)));
}

static void test_arrays(void **state) {
    (void)state;
    float out[4];
    const uint8_t half_le[] = {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x7c};
    assert_int_equal(sc_convert_to_float32(SC_DT_HALF, half_le, 4, out, NULL), SC_OK);
    assert_true(out[0] == 1.0f && out[1] == -2.0f && out[2] == 0.0f && isinf(out[3]));
    const double d[3] = {0.1, -1e300, 3.0};
    assert_int_equal(sc_convert_to_float32(SC_DT_DOUBLE, d, 3, out, NULL), SC_OK);
    assert_true(out[0] == 0.1f && isinf(out[1]) && out[2] == 3.0f);
    const int64_t i64[2] = {-7, 16777217}; /* 2^24 + 1 rounds to 2^24 in float32 */
    assert_int_equal(sc_convert_to_float32(SC_DT_INT64, i64, 2, out, NULL), SC_OK);
    assert_true(out[0] == -7.0f && out[1] == 16777216.0f);
    const uint8_t b[3] = {0, 1, 2};
    assert_int_equal(sc_convert_to_float32(SC_DT_BOOL, b, 3, out, NULL), SC_OK);
    assert_true(out[0] == 0.0f && out[1] == 1.0f && out[2] == 1.0f);
    /* Unaligned input: a byte buffer offset by one. */
    uint8_t raw[1 + 8];
    float f2[2] = {1.5f, -2.25f};
    memcpy(raw + 1, f2, 8);
    assert_int_equal(sc_convert_to_float32(SC_DT_FLOAT, raw + 1, 2, out, NULL), SC_OK);
    assert_true(out[0] == 1.5f && out[1] == -2.25f);
}

static void test_unsupported(void **state) {
    (void)state;
    sc_error err;
    float out[1];
    assert_int_equal(sc_convert_to_float32(SC_DT_STRING, "x", 1, out, &err), SC_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "string"));
    assert_false(sc_dtype_converts_to_float32(SC_DT_VARIANT));
    assert_true(sc_dtype_converts_to_float32(SC_DT_BFLOAT16));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half),
        cmocka_unit_test(test_bfloat16),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_unsupported),
    };
    return cmocka_run_group_tests_name("convert", tests, NULL, NULL);
}
