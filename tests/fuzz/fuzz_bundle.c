/* fuzz_bundle — libFuzzer target: the input is a whole TensorBundle `.index` file.
 *
 * Each input goes twice through the reader: once in memory through sc_sst_foreach (the SSTable
 * layer alone: footer, block handles, trailers, CRCs, prefix-compressed keys, Snappy blocks),
 * then written to a tmpfs file and opened with sc_bundle_open (header and entry protos, shapes,
 * shard ids). An opened bundle is checked against its header's promises and every tensor is
 * read; no data shard exists, so reads must fail cleanly. fuzz_bundle_shard adds the shard.
 */
#include <stdint.h>
#include <string.h>

#include "bundle_fuzz_common.h"
#include "ckpt/sstable.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_dir_init();
    return 0;
}

typedef struct walk {
    size_t entries;
    uint8_t *last; /* the previous key, copied (keys are valid only during the callback) */
    size_t last_len;
} walk;

static sc_status visit(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len, sc_error *err) {
    (void)err;
    walk *w = ctx;
    if ((key_len && !key) || (value_len && !value)) abort();
    /* Touch every byte of the views so ASan checks them, whatever buffer they live in. */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < key_len; i++) sink ^= key[i];
    for (size_t i = 0; i < value_len; i++) sink ^= value[i];
    (void)sink;
    /* Keys strictly increase, bytewise (sstable.h: verified by the reader). */
    if (w->entries > 0) {
        size_t m = w->last_len < key_len ? w->last_len : key_len;
        int c = m ? memcmp(w->last, key, m) : 0;
        if (c > 0 || (c == 0 && w->last_len >= key_len)) abort();
    }
    uint8_t *copy = realloc(w->last, key_len ? key_len : 1);
    if (!copy) abort();
    if (key_len) memcpy(copy, key, key_len);
    w->last = copy;
    w->last_len = key_len;
    w->entries++;
    return SC_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    walk w = {0};
    sc_sst_stats stats;
    sc_error err;
    sc_status s = sc_sst_foreach("fuzz.index", data, size, visit, &w, &stats, &err);
    check_status(s, &err);
    if (s == SC_OK
        && (stats.num_entries != w.entries || stats.num_snappy_blocks > stats.num_data_blocks))
        abort();
    free(w.last);

    fuzz_write(".index", data, size);
    sc_bundle *b = NULL;
    s = sc_bundle_open(g_prefix, &b, &err);
    check_status(s, &err);
    if ((s == SC_OK) != (b != NULL)) abort();
    if (s == SC_OK) {
        check_bundle(b);
        read_all(b);
        sc_bundle_free(b);
    }
    return 0;
}
