/* tests/fuzz/fuzz_compile_json.c — libFuzzer target: bytes as a Keras compile config JSON
 * (model.get_compile_config() or config.json with compile_config). */
#include <stddef.h>
#include <stdint.h>

#include "sidecar/compile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const sc_compile_shapes shapes[] = {
        {.pred_rank = 2,
         .pred_last_dim = 4,
         .true_rank = 1,
         .true_last_dim = 1,
         .keras_version = 2},
        {.pred_rank = 2,
         .pred_last_dim = 1,
         .true_rank = 2,
         .true_last_dim = 1,
         .keras_version = 3},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        sc_compiled c;
        sc_error err;
        if (sc_compile_from_json((const char *)data, size, "fuzz.json", &shapes[i], &c, &err)
            == SC_OK)
            sc_compiled_clear(&c);
    }
    return 0;
}
