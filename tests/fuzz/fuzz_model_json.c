/* tests/fuzz/fuzz_model_json.c — libFuzzer target: bytes as a Keras model JSON (config ->
 * model -> shape planning), then memory planning for a small batch when the model is small. */
#include <stddef.h>
#include <stdint.h>

#include "sidecar/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sc_model *m = NULL;
    sc_error err;
    if (sc_model_load_keras_json((const char *)data, size, "fuzz.json", &m, &err) != SC_OK)
        return 0;
    /* Plan memory only for models whose inputs and outputs are small: a valid 2^40-element model
     * would need that much memory, which is the caller's choice, not a bug. */
    int64_t total = 0;
    for (size_t i = 0; i < sc_model_num_inputs(m); i++) {
        sc_shape s = sc_model_input_shape(m, i);
        int64_t n = 1;
        for (int d = 0; d < s.rank; d++) n *= s.dims[d] < (1 << 20) ? s.dims[d] : (1 << 20);
        total += n;
    }
    if (total < (1 << 16) && sc_model_num_layers(m) < 64) {
        sc_runner *r = NULL;
        if (sc_runner_create(m, 2, &r, &err) == SC_OK && sc_runner_arena_bytes(r) < (64u << 20)) {
            static float zeros[1 << 17];
            const float *in[64];
            size_t n = sc_model_num_inputs(m);
            for (size_t i = 0; i < n && i < 64; i++) in[i] = zeros;
            if (n <= 64) (void)sc_runner_run(r, 1, in, &err);
        }
        sc_runner_free(r);
    }
    sc_model_free(m);
    return 0;
}
