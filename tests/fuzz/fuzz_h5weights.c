/* tests/fuzz/fuzz_h5weights.c — libFuzzer target: bytes as a Keras 3 .weights.h5 (through
 * libhdf5: a crash inside it counts) and as a .keras archive (libzip, then its weights). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz/fuzz_file.h"
#include "sidecar/keras_weights.h"

static void read_all(sc_h5weights *h) {
    sc_error err;
    for (size_t i = 0; i < sc_h5weights_num_tensors(h); i++) {
        const sc_tensor_info *t = sc_h5weights_tensor(h, i);
        if (t->size > FZ_MAX_BYTES) continue;
        void *buf = malloc(t->size ? t->size : 1);
        if (buf) (void)sc_h5weights_read(h, t, buf, t->size, &err);
        free(buf);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sc_error err;
    sc_h5weights *h = NULL;
    if (sc_h5weights_open_memory(data, size, "fuzz.weights.h5", &h, &err) == SC_OK) {
        read_all(h);
        sc_h5weights_free(h);
    }
    sc_keras_archive *ar = NULL;
    if (sc_keras_archive_open(fz_file("f.keras", data, size), &ar, &err) == SC_OK) {
        size_t len;
        (void)sc_keras_archive_config(ar, &len);
        (void)sc_keras_archive_metadata(ar);
        if (sc_keras_archive_weights(ar)) read_all(sc_keras_archive_weights(ar));
        sc_keras_archive_free(ar);
    }
    return 0;
}
