/* tools/sc_write_demo_ckpt.c — writes a small tf.train.CheckpointManager-style checkpoint with
 * the public writer API, for the demo and the CLI tests.
 *
 *   sc_write_demo_ckpt DIR [--all-dtypes] [--no-optimizer]
 *
 * DIR/ckpt-1.index, DIR/ckpt-1.data-00000-of-00001 and DIR/checkpoint (naming ckpt-1). Tensors,
 * added in this order (so the kernel sits at offset 0 of the data file; the CLI tests corrupt
 * it there):
 *   model/layer_with_weights-0/kernel  float32 [4,3]  (i - 5.5) / 8 = -0.6875, -0.5625, ... 0.6875
 *   model/layer_with_weights-0/bias    float32 [3]    0.5, -0.25, 0.125
 *   optimizer/_iterations              int64 []       32
 *   save_counter                       int64 []       1
 * each key followed by /.ATTRIBUTES/VARIABLE_VALUE. No _CHECKPOINTABLE_OBJECT_GRAPH.
 * --all-dtypes adds extra/<dtype> tensors of every type `sidecar inspect --values` decodes, and
 * extra/float8 (float8_e5m2), which it lists without decoding.
 * --no-optimizer leaves out optimizer/_iterations, so the step falls back to save_counter.
 * Prints the prefix. Exit 0 on success, 1 with "sc_write_demo_ckpt: <message>" on failure,
 * 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sidecar/checkpoint.h"

#define ATTR "/.ATTRIBUTES/VARIABLE_VALUE"

static sc_status add(sc_bundle_writer *w, const char *key, sc_dtype dt, int rank,
                     const int64_t *shape, const void *data, size_t size, sc_error *err) {
    return sc_bundle_writer_add(w, key, dt, rank, shape, data, size, 0, err);
}

static sc_status add_model(sc_bundle_writer *w, int optimizer, sc_error *err) {
    float kernel[12], bias[3] = {0.5f, -0.25f, 0.125f};
    int64_t iterations = 32, save_counter = 1;
    const int64_t kshape[2] = {4, 3}, bshape[1] = {3};
    sc_status st;
    for (int i = 0; i < 12; i++) kernel[i] = ((float)i - 5.5f) / 8.0f;
    if ((st = add(w, "model/layer_with_weights-0/kernel" ATTR, SC_DT_FLOAT, 2, kshape, kernel,
                  sizeof kernel, err))
        != SC_OK)
        return st;
    if ((st = add(w, "model/layer_with_weights-0/bias" ATTR, SC_DT_FLOAT, 1, bshape, bias,
                  sizeof bias, err))
        != SC_OK)
        return st;
    if (optimizer
        && (st = add(w, "optimizer/_iterations" ATTR, SC_DT_INT64, 0, NULL, &iterations,
                     sizeof iterations, err))
               != SC_OK)
        return st;
    return add(w, "save_counter" ATTR, SC_DT_INT64, 0, NULL, &save_counter, sizeof save_counter,
               err);
}

/* One tensor of each displayed type. Multi-byte values are spelled out little-endian so the
 * file is the same on any host. */
static sc_status add_all_dtypes(sc_bundle_writer *w, sc_error *err) {
    static const uint8_t b[3] = {1, 0, 1};
    static const uint8_t f16[6] = {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c}; /* 1, -2, inf */
    static const uint8_t bf16[4] = {0xc0, 0x3f, 0x80, 0xbf};            /* 1.5, -1 */
    static const uint8_t i8[3] = {0x80, 0x00, 0x7f};                    /* -128, 0, 127 */
    static const uint8_t u8[2] = {0, 255};
    static const uint8_t f8[2] = {0x3c, 0xc0}; /* float8_e5m2 1, -2 */
    static const uint8_t f64[16] = {0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f,  /* 0.1 */
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0}; /* -2 */
    static const uint8_t c64[8] = {0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0};  /* (1.5,-2) */
    static const uint8_t nonfinite[8] = {0x00, 0x00, 0xc0, 0x7f,
                                         0x00, 0x00, 0x80, 0xff}; /* nan, -inf */
    static const char long_string[] =
        "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz";
    const sc_bytes strings[3] = {{(const uint8_t *)"hello", 5},
                                 {(const uint8_t *)"a\"b\\c\n\x01", 7},
                                 {(const uint8_t *)long_string, sizeof long_string - 1}};
    const int64_t s1[] = {1}, s2[] = {2}, s3[] = {3}, s03[] = {0, 3};
    sc_status st = SC_OK;
    if ((st = add(w, "extra/bool", SC_DT_BOOL, 1, s3, b, sizeof b, err))
        || (st = add(w, "extra/float16", SC_DT_HALF, 1, s3, f16, sizeof f16, err))
        || (st = add(w, "extra/bfloat16", SC_DT_BFLOAT16, 1, s2, bf16, sizeof bf16, err))
        || (st = add(w, "extra/int8", SC_DT_INT8, 1, s3, i8, sizeof i8, err))
        || (st = add(w, "extra/uint8", SC_DT_UINT8, 1, s2, u8, sizeof u8, err))
        || (st = add(w, "extra/float8", SC_DT_FLOAT8_E5M2, 1, s2, f8, sizeof f8, err))
        || (st = add(w, "extra/float64", SC_DT_DOUBLE, 1, s2, f64, sizeof f64, err))
        || (st = add(w, "extra/complex64", SC_DT_COMPLEX64, 1, s1, c64, sizeof c64, err))
        || (st = add(w, "extra/nonfinite", SC_DT_FLOAT, 1, s2, nonfinite, sizeof nonfinite, err))
        || (st = add(w, "extra/empty", SC_DT_FLOAT, 2, s03, b, 0, err)))
        return st;
    return sc_bundle_writer_add_strings(w, "extra/string", 1, s3, strings, 0, err);
}

static sc_status write_demo(const char *dir, int all_dtypes, int optimizer, sc_error *err) {
    char prefix[4096];
    char name[] = "ckpt-1";
    char *paths[1] = {name};
    double stamps[1];
    sc_bundle_writer *w = NULL;
    sc_bundle_writer_params params = sc_bundle_writer_default_params();
    sc_status st;

    if ((size_t)snprintf(prefix, sizeof prefix, "%s/%s", dir, name) >= sizeof prefix) {
        snprintf(err->message, sizeof err->message, "%s: directory name too long", dir);
        return err->status = SC_INVALID_ARGUMENT;
    }
    if ((st = sc_bundle_writer_create(prefix, &params, &w, err)) != SC_OK) goto done;
    if ((st = add_model(w, optimizer, err)) != SC_OK) goto done;
    if (all_dtypes && (st = add_all_dtypes(w, err)) != SC_OK) goto done;
    if ((st = sc_bundle_writer_finish(w, err)) != SC_OK) goto done;

    stamps[0] = (double)time(NULL);
    sc_ckpt_state state = {
        .model_checkpoint_path = name,
        .all_model_checkpoint_paths = paths,
        .num_paths = 1,
        .all_model_checkpoint_timestamps = stamps,
        .num_timestamps = 1,
        .last_preserved_timestamp = stamps[0],
    };
    st = sc_ckpt_state_write(dir, &state, err);
done:
    sc_bundle_writer_free(w);
    return st;
}

int main(int argc, char **argv) {
    const char *dir = NULL;
    int all_dtypes = 0, optimizer = 1, bad = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--all-dtypes"))
            all_dtypes = 1;
        else if (!strcmp(argv[i], "--no-optimizer"))
            optimizer = 0;
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else
            bad = 1;
    }
    if (!dir || bad) {
        fprintf(stderr, "usage: sc_write_demo_ckpt DIR [--all-dtypes] [--no-optimizer]\n");
        return 2;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "sc_write_demo_ckpt: cannot create directory %s: %s\n", dir,
                strerror(errno));
        return 1;
    }
    sc_error err;
    sc_error_clear(&err);
    sc_status st = write_demo(dir, all_dtypes, optimizer, &err);
    if (st != SC_OK) {
        fprintf(stderr, "sc_write_demo_ckpt: %s\n",
                err.message[0] ? err.message : sc_status_name(st));
        return 1;
    }
    printf("%s/ckpt-1\n", dir);
    return 0;
}
