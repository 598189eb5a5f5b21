/* tests/fuzz/fuzz_npy.c — libFuzzer target: arbitrary bytes as an .npy file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1); /* sc_array_from_npy takes ownership */
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    sc_array *a;
    sc_error err;
    if (sc_array_from_npy(buf, size, "fuzz.npy", "fuzz", "fuzz.npy", &a, &err) != SC_OK) return 0;
    const sc_array_info *info = sc_array_get_info(a);
    uint64_t rows = sc_array_num_rows(a);
    const void *row;
    size_t row_bytes;
    volatile uint8_t sink = 0;
    if (rows && sc_array_row(a, rows - 1, &row, &row_bytes, &err) == SC_OK && row_bytes)
        sink = ((const uint8_t *)row)[row_bytes - 1];
    if (info->nbytes) sink = ((const uint8_t *)sc_array_data(a))[info->nbytes - 1];
    (void)sink;
    sc_array_free(a);
    return 0;
}
