/* tests/fuzz/fuzz_npz.c — libFuzzer target: bytes as an .npz (zip of .npy, stored or deflated);
 * every array the reader lists is loaded. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz_file.h"
#include "sidecar/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sc_npz *z = NULL;
    sc_error err;
    if (sc_npz_open(fz_file("f.npz", data, size), &z, &err) != SC_OK) return 0;
    for (size_t i = 0; i < sc_npz_num_arrays(z) && i < 16; i++) {
        sc_array *a = NULL;
        if (sc_npz_load(z, sc_npz_array_name(z, i), &a, &err) == SC_OK) sc_array_free(a);
    }
    sc_npz_free(z);
    return 0;
}
