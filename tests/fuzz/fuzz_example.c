/* tests/fuzz/fuzz_example.c — libFuzzer target: arbitrary bytes as a serialized
 * tf.train.Example; every accessor must fail cleanly or stay inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sidecar/data.h"

static int touch_key(const uint8_t *key, size_t len, void *user) {
    size_t *sum = user;
    for (size_t i = 0; i < len; i++) *sum += key[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sc_example ex = {data, size, "fuzz", 0};
    sc_error err;
    size_t sum = 0;
    sc_example_foreach_key(&ex, touch_key, &sum, &err);
    static const char *const names[] = {"", "x", "label", "a"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        sc_feature f;
        int found;
        if (sc_example_find(&ex, names[i], &f, &found, &err) != SC_OK || !found) continue;
        float fl[8];
        int64_t il[8];
        sc_bytes bl[8];
        size_t n;
        sc_feature_floats(&ex, &f, fl, 8, &n, &err);
        sc_feature_int64s(&ex, &f, il, 8, &n, &err);
        if (sc_feature_bytes(&ex, &f, bl, 8, &n, &err) == SC_OK)
            for (size_t k = 0; k < n; k++)
                if (bl[k].size) sum += bl[k].data[bl[k].size - 1]; /* must be readable */
        if (f.count <= 8) {
            sc_example_get_floats(&ex, names[i], fl, f.count, &err);
            sc_example_get_int64s(&ex, names[i], il, f.count, &err);
            sc_example_get_bytes(&ex, names[i], bl, f.count, &err);
        }
    }
    sc_example_get_floats(&ex, "missing", NULL, 0, &err); /* the "features present" list */
    return sum == (size_t)-1;
}
