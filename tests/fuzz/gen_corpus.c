/* gen_corpus.c — writes the seed corpora of the fuzz targets (run by scripts/fuzz-corpus).
 *
 *   gen_corpus OUTDIR      creates OUTDIR/fuzz_pb, OUTDIR/fuzz_bundle, OUTDIR/fuzz_bundle_shard
 *
 * Seeds: the minimal bundle of FORMATS Appendix A.4 (its bytes are spelled out below and must
 * open and read back cleanly: the generator fails otherwise), bundles made by sc_bundle_writer
 * (several dtypes and strings; tiny blocks so that the index has many blocks and restarts; two
 * shards), an index re-packed with Snappy blocks, an entry with slices, and for fuzz_pb the
 * FORMATS §1.3/A.2 protos plus every entry proto of the writer's index. Deterministic: the
 * same build gives the same bytes. Not part of the library: it may print and exit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/sstable.h"
#include "core/fileio.h"
#include "core/pb.h"
#include "sidecar/checkpoint.h"

static const char *g_out;

static void die(const char *what, const sc_error *err) {
    fprintf(stderr, "gen_corpus: %s%s%s\n", what, err ? ": " : "", err ? err->message : "");
    exit(1);
}

static void put(const char *target, const char *name, const void *a, size_t an, const void *b,
                size_t bn) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", g_out, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (an && fwrite(a, 1, an, f) != an) || (bn && fwrite(b, 1, bn, f) != bn)
        || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* fuzz_bundle_shard layout: uint32 LE index length, index, shard 0. */
static void put_shard_seed(const char *name, const uint8_t *idx, size_t in, const uint8_t *dat,
                           size_t dn) {
    uint8_t *buf = malloc(4 + in);
    if (!buf) die("out of memory", NULL);
    for (int i = 0; i < 4; i++) buf[i] = (uint8_t)(in >> (8 * i));
    memcpy(buf + 4, idx, in);
    put("fuzz_bundle_shard", name, buf, 4 + in, dat, dn);
    free(buf);
}

static const uint8_t A4_DATA[26] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x07,
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xd9,
                                    0xc6, 0x9c, 0x43, 'h',  'e',  'l',  'l',  'o'};

/* FORMATS Appendix A.4, tiny.index, assembled part by part as the appendix lists it. */
static size_t a4_index(uint8_t out[240]) {
    static const char *parts[] = {"\x00\x00\x06\x08\x01\x1a\x02\x08\x01",
                                  "\x00\x1c\x0d_CHECKPOINTABLE_OBJECT_GRAPH"
                                  "\x08\x07\x12\x00\x20\x10\x28\x0a\x35\xec\xe0\xc0\x29",
                                  "\x00\x1f\x0dstep/.ATTRIBUTES/VARIABLE_VALUE"
                                  "\x08\x09\x12\x00\x20\x08\x28\x08\x35\xbb\xd7\x9f\x11",
                                  "\x00\x1c\x0fw/.ATTRIBUTES/VARIABLE_VALUE"
                                  "\x08\x01\x12\x04\x12\x02\x08\x02\x28\x08\x35\x59\x3c\xe5\x35",
                                  "\x00\x00\x00\x00\x01\x00\x00\x00",
                                  "\x00\x0e\xd4\x32\x33",
                                  "\x00\x00\x00\x00\x01\x00\x00\x00\x00\xc0\xf2\xa1\xb0",
                                  "\x00\x01\x03\x78\x00\x9a\x01\x00\x00\x00\x00\x01\x00\x00\x00",
                                  "\x00\x80\x25\x0c\xfb",
                                  "\x9f\x01\x08\xac\x01\x0f"};
    static const size_t lens[] = {9, 44, 47, 46, 8, 5, 13, 15, 5, 6};
    size_t n = 0;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memcpy(out + n, parts[i], lens[i]);
        n += lens[i];
    }
    memset(out + n, 0, 232 - n);
    memcpy(out + 232, "\x57\xfb\x80\x8b\x24\x75\x47\xdb", 8);
    return 240;
}

/* Opens a bundle and reads every tensor: a seed the reader rejects would waste the corpus. */
static void check_readable(const char *prefix) {
    sc_bundle *b;
    sc_error err;
    if (sc_bundle_open(prefix, &b, &err) != SC_OK) die("seed does not open", &err);
    for (size_t i = 0; i < sc_bundle_num_tensors(b); i++) {
        const sc_tensor_info *t = sc_bundle_tensor(b, i);
        void *buf = malloc(t->size ? (size_t)t->size : 1);
        if (!buf) die("out of memory", NULL);
        if (t->num_slices == 0 && sc_bundle_read(b, t, buf, (size_t)t->size, &err) != SC_OK)
            die("seed tensor does not read back", &err);
        free(buf);
    }
    sc_bundle_free(b);
}

static void load(const char *path, uint8_t **data, size_t *len) {
    sc_error err;
    if (sc_read_file(path, data, len, &err) != SC_OK) die("cannot read back", &err);
}

/* A writer bundle under dir/name; seeds its index (and shard 0) under name. */
static void writer_seed(const char *dir, const char *name, int num_shards, size_t block_size,
                        int many) {
    char prefix[4096], path[4200];
    snprintf(prefix, sizeof prefix, "%s/%s", dir, name);
    sc_bundle_writer_params p = sc_bundle_writer_default_params();
    p.num_shards = num_shards;
    p.block_size = block_size;
    sc_bundle_writer *w;
    sc_error err;
    if (sc_bundle_writer_create(prefix, &p, &w, &err) != SC_OK) die("writer_create", &err);
    float f[6] = {1.5f, -2.0f, 0.25f, 3.0f, -0.5f, 8.0f};
    double d[2] = {3.141592653589793, -1e300};
    int64_t step = 1234, s23[2] = {2, 3}, s2[1] = {2}, s0[2] = {0, 3};
    int32_t i32[2] = {-7, 70000};
    uint8_t bools[2] = {1, 0};
    uint16_t half[2] = {0x3c00, 0xc000};
    sc_bytes strs[3] = {{(const uint8_t *)"model", 5},
                        {(const uint8_t *)"", 0},
                        {(const uint8_t *)"\x01\x02\xff", 3}};
    int64_t s3[1] = {3};
    sc_status s = SC_OK;
#define ADD(key, dt, rank, shape, data, size)                                                      \
    if (s == SC_OK)                                                                                \
    s = sc_bundle_writer_add(w, key, dt, rank, shape, data, size,                                  \
                             (int)(sizeof(key) % (size_t)num_shards), &err)
    ADD("model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", SC_DT_FLOAT, 2, s23, f,
        sizeof f);
    ADD("model/layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE", SC_DT_FLOAT, 1, s2, f, 8);
    ADD("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE", SC_DT_INT64, 0, NULL, &step, 8);
    ADD("extra/double", SC_DT_DOUBLE, 1, s2, d, sizeof d);
    ADD("extra/int32", SC_DT_INT32, 1, s2, i32, sizeof i32);
    ADD("extra/bool", SC_DT_BOOL, 1, s2, bools, sizeof bools);
    ADD("extra/half", SC_DT_HALF, 1, s2, half, sizeof half);
    ADD("extra/empty", SC_DT_FLOAT, 2, s0, f, 0);
    for (int i = 0; many && i < 24; i++) {
        char key[64];
        snprintf(key, sizeof key, "model/layer_with_weights-%d/kernel/.ATTRIBUTES/VARIABLE_VALUE",
                 i + 1);
        if (s == SC_OK)
            s = sc_bundle_writer_add(w, key, SC_DT_FLOAT, 1, s2, f + i % 4, 8, i % num_shards,
                                     &err);
    }
#undef ADD
    if (s == SC_OK)
        s = sc_bundle_writer_add_strings(w, "_CHECKPOINTABLE_OBJECT_GRAPH", 1, s3, strs, 0, &err);
    if (s != SC_OK || (s = sc_bundle_writer_finish(w, &err)) != SC_OK) die("writer", &err);
    sc_bundle_writer_free(w);
    check_readable(prefix);

    uint8_t *idx, *dat;
    size_t in, dn;
    snprintf(path, sizeof path, "%s.index", prefix);
    load(path, &idx, &in);
    snprintf(path, sizeof path, "%s.data-00000-of-%05d", prefix, num_shards);
    load(path, &dat, &dn);
    char seed[256];
    snprintf(seed, sizeof seed, "%s.index", name);
    put("fuzz_bundle", seed, idx, in, NULL, 0);
    snprintf(seed, sizeof seed, "%s.bundle", name);
    put_shard_seed(seed, idx, in, dat, dn);
    free(idx);
    free(dat);
}

/* Re-packs every entry of an index into a new table built by the project's SSTable writer. */
typedef struct repack {
    sc_sst_writer *w;
    size_t n;
    int emit_pb; /* also write each entry proto as a fuzz_pb seed */
} repack;

static sc_status repack_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *v,
                              size_t vlen, sc_error *err) {
    repack *r = ctx;
    if (r->emit_pb && vlen > 0) {
        char name[64];
        snprintf(name, sizeof name, "entry-%02zu.pb", r->n);
        put("fuzz_pb", name, v, vlen, NULL, 0);
    }
    r->n++;
    return sc_sst_writer_add(r->w, key, klen, v, vlen, err);
}

static void repack_seed(const char *dir, const char *from, int compression, int emit_pb,
                        const char *seed) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.index", dir, from);
    uint8_t *idx;
    size_t in;
    load(path, &idx, &in);
    repack r = {NULL, 0, emit_pb};
    sc_error err;
    const uint8_t *out;
    size_t on;
    if (sc_sst_writer_create(256, compression, &r.w, &err) != SC_OK
        || sc_sst_foreach(path, idx, in, repack_visit, &r, NULL, &err) != SC_OK
        || sc_sst_writer_finish(r.w, &out, &on, &err) != SC_OK)
        die("repack", &err);
    sc_sst_stats st;
    repack again = {NULL, 0, 0};
    if (sc_sst_writer_create(0, SC_SST_NO_COMPRESSION, &again.w, &err) != SC_OK
        || sc_sst_foreach(seed, out, on, repack_visit, &again, &st, &err) != SC_OK)
        die("repacked table does not read back", &err);
    sc_sst_writer_free(again.w);
    if (again.n != r.n || (compression == SC_SST_SNAPPY && st.num_snappy_blocks == 0))
        die("repacked table lost entries or has no Snappy block", NULL);
    put("fuzz_bundle", seed, out, on, NULL, 0);
    sc_sst_writer_free(r.w);
    free(idx);
}

/* A bundle whose only tensor is partitioned (BundleEntryProto.slices set): UNIMPLEMENTED. */
static void sliced_seed(void) {
    sc_sst_writer *w;
    sc_error err;
    sc_pb_buf e = {0};
    sc_pb_put_uint(&e, 1, SC_DT_FLOAT);
    size_t shape = sc_pb_begin_sub(&e, 2);
    size_t dim = sc_pb_begin_sub(&e, 2);
    sc_pb_put_uint(&e, 1, 4);
    sc_pb_end_sub(&e, dim);
    sc_pb_end_sub(&e, shape);
    size_t slice = sc_pb_begin_sub(&e, 7);
    size_t ext = sc_pb_begin_sub(&e, 1);
    sc_pb_put_uint(&e, 2, 2);
    sc_pb_end_sub(&e, ext);
    sc_pb_end_sub(&e, slice);
    const uint8_t *out;
    size_t on;
    if (e.failed || sc_sst_writer_create(0, SC_SST_NO_COMPRESSION, &w, &err) != SC_OK
        || sc_sst_writer_add(w, "", 0, "\x08\x01\x1a\x02\x08\x01", 6, &err) != SC_OK
        || sc_sst_writer_add(w, "sliced", 6, e.data, e.len, &err) != SC_OK
        || sc_sst_writer_finish(w, &out, &on, &err) != SC_OK)
        die("sliced seed", &err);
    put("fuzz_bundle", "sliced.index", out, on, NULL, 0);
    put("fuzz_pb", "sliced-entry.pb", e.data, e.len, NULL, 0);
    sc_pb_buf_free(&e);
    sc_sst_writer_free(w);
}

static void pb_seeds(void) {
    put("fuzz_pb", "header.pb", "\x08\x01\x1a\x02\x08\x01", 6, NULL, 0);
    /* FORMATS §1.3: float32 [3, 32] at offset 1234, size 384, masked crc 0x11223344. */
    put("fuzz_pb", "entry-example.pb",
        "\x08\x01\x12\x08\x12\x02\x08\x03\x12\x02\x08\x20\x20\xd2\x09\x28\x80\x03\x35\x44\x33"
        "\x22\x11",
        23, NULL, 0);
    /* FORMATS A.2: the file_version Event. */
    put("fuzz_pb", "event.pb",
        "\x09\x00\x00\x00\x40\xfc\x54\xd9\x41\x1a\x0d\x62\x72\x61\x69\x6e\x2e\x45\x76\x65\x6e\x74"
        "\x3a\x32",
        24, NULL, 0);
    /* Negative int64 (10-byte varint), packed repeated, fixed64, and a sub-message of 200
     * bytes whose length needs a 2-byte varint (sc_pb_end_sub moves the body). */
    sc_pb_buf b = {0};
    sc_pb_put_int(&b, 1, -1);
    uint8_t packed[] = {0x01, 0x96, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f};
    sc_pb_put_lenfield(&b, 3, packed, sizeof packed);
    sc_pb_put_double(&b, 4, 0.5);
    size_t m = sc_pb_begin_sub(&b, 5);
    for (uint32_t i = 0; i < 40; i++) sc_pb_put_float(&b, 1 + i % 3, (float)i);
    sc_pb_end_sub(&b, m);
    if (b.failed) die("out of memory", NULL);
    put("fuzz_pb", "mixed.pb", b.data, b.len, NULL, 0);
    sc_pb_buf_free(&b);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus OUTDIR\n");
        return 2;
    }
    g_out = argv[1];
    const char *targets[] = {"", "/fuzz_pb", "/fuzz_bundle", "/fuzz_bundle_shard"};
    for (size_t i = 0; i < 4; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s%s", g_out, targets[i]);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) die(strerror(errno), NULL);
    }
    char tmp[] = "/tmp/sc-gen-corpus-XXXXXX";
    if (!mkdtemp(tmp)) die("mkdtemp", NULL);

    uint8_t a4[240];
    size_t a4n = a4_index(a4);
    char prefix[4096], path[4200];
    snprintf(prefix, sizeof prefix, "%s/tiny", tmp);
    snprintf(path, sizeof path, "%s.index", prefix);
    sc_error err;
    if (sc_write_file_atomic(path, a4, a4n, &err) != SC_OK) die("write", &err);
    snprintf(path, sizeof path, "%s.data-00000-of-00001", prefix);
    if (sc_write_file_atomic(path, A4_DATA, sizeof A4_DATA, &err) != SC_OK) die("write", &err);
    check_readable(prefix); /* the appendix's bytes are exactly a readable bundle */
    put("fuzz_bundle", "a4-tiny.index", a4, a4n, NULL, 0);
    put_shard_seed("a4-tiny.bundle", a4, a4n, A4_DATA, sizeof A4_DATA);

    writer_seed(tmp, "small", 1, SC_SST_DEFAULT_BLOCK_SIZE, 0);
    writer_seed(tmp, "blocks", 1, 128, 1);
    writer_seed(tmp, "two-shards", 2, SC_SST_DEFAULT_BLOCK_SIZE, 0);
    repack_seed(tmp, "small", SC_SST_NO_COMPRESSION, 1, "repacked-small.index");
    repack_seed(tmp, "blocks", SC_SST_SNAPPY, 0, "snappy-blocks.index");
    sliced_seed();
    pb_seeds();

    /* The writer's files: remove exactly what was made. */
    const char *names[] = {"tiny.index",
                           "tiny.data-00000-of-00001",
                           "small.index",
                           "small.data-00000-of-00001",
                           "blocks.index",
                           "blocks.data-00000-of-00001",
                           "two-shards.index",
                           "two-shards.data-00000-of-00002",
                           "two-shards.data-00001-of-00002"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, names[i]);
        unlink(path);
    }
    if (rmdir(tmp) != 0) fprintf(stderr, "gen_corpus: %s left behind: %s\n", tmp, strerror(errno));
    return 0;
}
