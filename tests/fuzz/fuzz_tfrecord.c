/* tests/fuzz/fuzz_tfrecord.c — libFuzzer target: arbitrary bytes as a TFRecord file, read in
 * every compression mode; each record's payload also goes through the Example decoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sidecar/data.h"

static int g_fd = -1;
static char g_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (g_fd < 0) {
        g_fd = memfd_create("fuzz_tfrecord", 0);
        if (g_fd < 0) return 0;
        snprintf(g_path, sizeof g_path, "/proc/self/fd/%d", g_fd);
    }
    if (ftruncate(g_fd, 0) != 0 || (size && pwrite(g_fd, data, size, 0) != (ssize_t)size)) return 0;
    static const sc_compression modes[] = {SC_COMPRESSION_AUTO, SC_COMPRESSION_NONE,
                                           SC_COMPRESSION_ZLIB, SC_COMPRESSION_GZIP};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        sc_tfrecord_params p = sc_tfrecord_default_params();
        p.compression = modes[m];
        p.max_record_size = 1 << 20; /* inflated streams are unbounded by the file size */
        p.buffer_size = 4096;
        sc_tfrecord_reader *r;
        sc_error err;
        if (sc_tfrecord_reader_create(g_path, &p, &r, &err) != SC_OK) continue;
        const uint8_t *rec;
        size_t len;
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < 1000; i++) {
                if (sc_tfrecord_reader_next(r, &rec, &len, &err) != SC_OK || !rec) break;
                sc_example ex = {rec, len, g_path, (uint64_t)i};
                float f[4];
                sc_example_get_floats(&ex, "x", f, 4, &err);
            }
            sc_tfrecord_reader_rewind(r, &err);
        }
        sc_tfrecord_reader_free(r);
    }
    return 0;
}
