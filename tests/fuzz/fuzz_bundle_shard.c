/* fuzz_bundle_shard — libFuzzer target: an `.index` file plus one data shard.
 *
 * Input layout: uint32 LE n, then n bytes of `.index`, then the rest is the data file of shard
 * 0 (n is clamped to what is there). The index is opened first; the data is then written under
 * the shard name its header asks for ("<prefix>.data-00000-of-NNNNN"), and every tensor is read
 * with CRC verification and checked against the header's promises (bundle_fuzz_common.h);
 * then sc_ckpt_describe reads the step tensors and decodes the object graph.
 * Seeds (tests/fuzz/corpus/fuzz_bundle_shard) are real bundles in this layout, so mutations
 * mostly land in valid-looking files whose CRCs still match.
 */
#include <stdint.h>
#include <stdio.h>

#include "bundle_fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_dir_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    size_t n =
        (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
    data += 4;
    size -= 4;
    if (n > size) n = size;

    fuzz_write(".index", data, n);
    sc_bundle *b = NULL;
    sc_error err;
    sc_status s = sc_bundle_open(g_prefix, &b, &err);
    check_status(s, &err);
    if ((s == SC_OK) != (b != NULL)) abort();
    if (s != SC_OK) return 0;
    check_bundle(b);

    /* Only a few shard counts get a file name (the cleanup knows them); other counts leave
     * shard 0 missing, which the reads must report as UNAVAILABLE. */
    int32_t shards = sc_bundle_num_shards(b);
    char suffix[64] = "";
    if (shards >= 1 && shards <= 4) {
        snprintf(suffix, sizeof suffix, ".data-00000-of-%05d", (int)shards);
        fuzz_write(suffix, data + n, size - n);
    }
    read_all(b);

    /* What a checkpoint is: reads the step tensors and decodes the object graph, if any. */
    sc_ckpt_info info;
    s = sc_ckpt_describe(b, &info, &err);
    check_status(s, &err);
    if (s == SC_OK && ((info.step_source == SC_STEP_NONE) != (info.step == -1 && !info.step_key)))
        abort();
    sc_bundle_free(b);
    if (suffix[0]) fuzz_remove(suffix);
    return 0;
}
