/* tests/fuzz/fuzz_safetensors.c — libFuzzer target: bytes as a .safetensors file; every tensor
 * the reader accepts is read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz/fuzz_file.h"
#include "sidecar/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_file("f.safetensors", data, size);
    sc_safetensors *st = NULL;
    sc_error err;
    if (sc_safetensors_open(path, &st, &err) != SC_OK) return 0;
    for (size_t i = 0; i < sc_safetensors_num_tensors(st); i++) {
        const sc_tensor_info *t = sc_safetensors_tensor(st, i);
        (void)sc_safetensors_dtype_str(st, t);
        if (t->size > FZ_MAX_BYTES) continue;
        void *buf = malloc(t->size ? t->size : 1);
        if (buf) (void)sc_safetensors_read(st, t, buf, t->size, &err);
        free(buf);
    }
    sc_safetensors_free(st);
    return 0;
}
