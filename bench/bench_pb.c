/* bench_pb — the hand-written BundleEntryProto codec (bench_pb_hand.h, on core/pb.h) against
 * protobuf-c's generated code (bench/proto/tensor_bundle.proto, built by bench_pb.cmake when
 * protoc-c and libprotobuf-c are installed).
 *
 *   bench_pb
 *
 * Messages: 1024 entries of a realistic Keras checkpoint (float32 kernels [784,512] and
 * [3,3,64,128], biases, Adam slots, int64 scalars) with growing offsets, sizes and masked CRCs.
 * Measures, best of 5 interleaved runs of >= 0.2 s CPU time each:
 *   decode: entries/s of hand_decode_entry (into a reused struct) vs protobuf-c unpack +
 *           free_unpacked (which allocates every message);
 *   encode: entries/s of hand_encode_entry (into a reused buffer) vs protobuf-c
 *           get_packed_size + pack (into a reused buffer);
 *   for the record: entries/s of sc_bundle_open on an .index (on tmpfs) holding the same
 *           messages, i.e. the product's own decoder with the SSTable walk around it;
 *   code size: bytes of machine code and tables, read from this executable's symbol table
 *           (hand_* functions + the sc_pb_* functions of core/pb.c, vs the generated
 *           tensorflow__* functions and descriptors + the text of libprotobuf-c.so).
 * Before timing, both codecs must decode each other's bytes to the same fields and produce
 * identical encodings; otherwise exit 1. Ratios are hand / protobuf-c (>1: hand is faster).
 */
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "bench_pb_hand.h"
#include "bench_util.h"
#include "ckpt/sstable.h"
#include "core/fileio.h"
#include "core/pb.h"
#include "sidecar/checkpoint.h"
#ifdef SC_HAVE_PROTOBUF_C
#include "tensor_bundle.pb-c.h"
#endif

#define NUM_MSGS        1024
#define RUNS            5
#define MIN_RUN_SECONDS 0.2

typedef struct corpus {
    hand_entry entries[NUM_MSGS];
    sc_pb_buf bytes;         /* all messages back to back */
    size_t at[NUM_MSGS + 1]; /* message i is bytes.data[at[i] .. at[i+1]) */
} corpus;

static void make_corpus(corpus *c) {
    static const int64_t shapes[][4] = {{784, 512},      {512}, {512, 10}, {10},
                                        {3, 3, 64, 128}, {128}, {0},       {0}};
    static const int ranks[] = {2, 1, 2, 1, 4, 1, 0, 0};
    static const int32_t dtypes[] = {1, 1, 1, 1, 1, 1, 9, 1};
    uint64_t x = 12345, offset = 0;
    for (int i = 0; i < NUM_MSGS; i++) {
        hand_entry *e = &c->entries[i];
        int k = i % 8;
        *e = (hand_entry){.dtype = dtypes[k], .rank = ranks[k]};
        int64_t elems = 1;
        for (int d = 0; d < e->rank; d++) elems *= (e->dims[d] = shapes[k][d]);
        e->size = elems * (e->dtype == 9 ? 8 : 4);
        e->offset = (int64_t)offset;
        offset += (uint64_t)e->size;
        x = x * 6364136223846793005u + 1442695040888963407u;
        e->crc32c = (uint32_t)(x >> 32) | 1u; /* nonzero: proto3 would omit a zero */
        c->at[i] = c->bytes.len;
        hand_encode_entry(e, &c->bytes);
    }
    c->at[NUM_MSGS] = c->bytes.len;
}

static int same_entry(const hand_entry *a, const hand_entry *b) {
    if (a->dtype != b->dtype || a->rank != b->rank || a->shard_id != b->shard_id
        || a->offset != b->offset || a->size != b->size || a->crc32c != b->crc32c
        || a->num_slices != b->num_slices)
        return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return 0;
    return 1;
}

/* One timed operation: a pass over the corpus, repeated until MIN_RUN_SECONDS of CPU time. */
typedef void (*pass_fn)(corpus *c, void *ctx);
typedef struct bench_op {
    pass_fn fn;
    void *ctx;
    double best; /* entries/s */
} bench_op;

/* RUNS rounds of every op, interleaved, keeping each op's best rate: ops measured next to each
 * other see the same machine, which is what the ratios need on a shared host. */
static void measure(bench_op *ops, int n, corpus *c) {
    for (int r = 0; r < RUNS; r++) {
        for (int i = 0; i < n; i++) {
            size_t passes = 0;
            double t0 = bench_cpu_now(), dt;
            do {
                ops[i].fn(c, ops[i].ctx);
                passes++;
            } while ((dt = bench_cpu_now() - t0) < MIN_RUN_SECONDS);
            double eps = (double)passes * NUM_MSGS / dt;
            if (eps > ops[i].best) ops[i].best = eps;
        }
    }
}

static void hand_decode_pass(corpus *c, void *ctx) {
    hand_entry e;
    uint64_t acc = 0;
    (void)ctx;
    for (int i = 0; i < NUM_MSGS; i++) {
        if (hand_decode_entry(c->bytes.data + c->at[i], c->at[i + 1] - c->at[i], &e)) abort();
        acc += (uint64_t)e.size;
    }
    bench_keep(acc);
}

static void hand_encode_pass(corpus *c, void *ctx) {
    sc_pb_buf *out = ctx;
    for (int i = 0; i < NUM_MSGS; i++) {
        out->len = 0;
        hand_encode_entry(&c->entries[i], out);
    }
    if (out->failed) abort();
    bench_keep(out->len);
}

/* The product path for the same entries: an .index holding them (keys in order, the header
 * first) on tmpfs, opened with sc_bundle_open: file read + SSTable walk + entry decode. */
typedef struct open_ctx {
    char prefix[256];
} open_ctx;

static int write_index(const corpus *c, open_ctx *o) {
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(o->prefix, sizeof o->prefix, "%s/sc-bench-pb-%ld", base, (long)getpid());
    sc_sst_writer *w;
    sc_error err;
    const uint8_t *data;
    size_t len;
    char path[300], key[64];
    if (sc_sst_writer_create(0, SC_SST_NO_COMPRESSION, &w, &err) != SC_OK) goto fail;
    sc_status s = sc_sst_writer_add(w, "", 0, "\x08\x01\x1a\x02\x08\x01", 6, &err);
    for (int i = 0; s == SC_OK && i < NUM_MSGS; i++) {
        int n = snprintf(key, sizeof key, "model/layer_with_weights-%04d/%s", i,
                         ".ATTRIBUTES/VARIABLE_VALUE");
        s = sc_sst_writer_add(w, key, (size_t)n, c->bytes.data + c->at[i], c->at[i + 1] - c->at[i],
                              &err);
    }
    snprintf(path, sizeof path, "%s.index", o->prefix);
    if (s == SC_OK) s = sc_sst_writer_finish(w, &data, &len, &err);
    if (s == SC_OK) s = sc_write_file_atomic(path, data, len, &err);
    sc_sst_writer_free(w);
    if (s == SC_OK) return 0;
fail:
    fprintf(stderr, "bench_pb: writing the index: %s\n", err.message);
    return -1;
}

static void open_pass(corpus *c, void *ctx) {
    open_ctx *o = ctx;
    sc_bundle *b;
    sc_error err;
    (void)c;
    if (sc_bundle_open(o->prefix, &b, &err) != SC_OK) {
        fprintf(stderr, "bench_pb: %s\n", err.message);
        abort();
    }
    if (sc_bundle_num_tensors(b) != NUM_MSGS) {
        fprintf(stderr, "bench_pb: %s.index: %zu tensors, expected %d\n", o->prefix,
                sc_bundle_num_tensors(b), NUM_MSGS);
        abort();
    }
    bench_keep((uint64_t)sc_bundle_tensor(b, NUM_MSGS - 1)->offset);
    sc_bundle_free(b);
}

/* ---- code size from ELF symbol and section tables ----------------------------------------- */

typedef int (*sym_match)(const char *name);

/* Sums st_size of the function and object symbols whose names match, in the ELF image. */
static size_t elf_symbol_bytes(const uint8_t *img, size_t n, sym_match match) {
    const Elf64_Ehdr *eh = (const void *)img;
    if (n < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0
        || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr)
        || eh->e_shoff > n || (n - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
        return 0;
    const Elf64_Shdr *sh = (const void *)(img + eh->e_shoff);
    size_t total = 0;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
        const Elf64_Shdr *st = &sh[sh[i].sh_link];
        if (sh[i].sh_offset > n || sh[i].sh_size > n - sh[i].sh_offset || st->sh_offset > n
            || st->sh_size > n - st->sh_offset || st->sh_size == 0)
            return 0;
        const Elf64_Sym *sym = (const void *)(img + sh[i].sh_offset);
        const char *names = (const char *)img + st->sh_offset;
        for (size_t k = 0; k < sh[i].sh_size / sizeof *sym; k++) {
            int type = ELF64_ST_TYPE(sym[k].st_info);
            if ((type != STT_FUNC && type != STT_OBJECT) || sym[k].st_name >= st->sh_size
                || !memchr(names + sym[k].st_name, '\0', st->sh_size - sym[k].st_name))
                continue;
            if (match(names + sym[k].st_name)) total += sym[k].st_size;
        }
    }
    return total;
}

static int is_hand_decoder(const char *s) {
    return strncmp(s, "hand_decode", 11) == 0 || strncmp(s, "sc_pb_read", 10) == 0
           || strcmp(s, "sc_pb_next") == 0 || strcmp(s, "sc_pb_skip") == 0;
}
static int is_hand_codec(const char *s) {
    return strncmp(s, "hand_", 5) == 0 || strncmp(s, "sc_pb_", 6) == 0;
}

static size_t self_bytes(sym_match match) {
    uint8_t *img;
    size_t n;
    if (sc_read_file("/proc/self/exe", &img, &n, NULL) != SC_OK) return 0;
    size_t r = elf_symbol_bytes(img, n, match);
    free(img);
    return r;
}

#ifdef SC_HAVE_PROTOBUF_C
#include "bench_pb_protobuf_c.h"
#endif

int main(void) {
    static corpus c;
    make_corpus(&c);
    if (c.bytes.failed) return 1;
    for (int i = 0; i < NUM_MSGS; i++) { /* the hand codec round-trips its own bytes */
        hand_entry e;
        if (hand_decode_entry(c.bytes.data + c.at[i], c.at[i + 1] - c.at[i], &e)
            || !same_entry(&e, &c.entries[i])) {
            fprintf(stderr, "bench_pb: hand codec does not round-trip message %d\n", i);
            return 1;
        }
    }
    sc_pb_buf out = {0};
    open_ctx oc;
    if (write_index(&c, &oc) != 0) return 1;
    enum { HAND_DEC, HAND_ENC, OPEN, PC_DEC, PC_ENC, NUM_OPS };
    bench_op ops[NUM_OPS] = {
        [HAND_DEC] = {hand_decode_pass, NULL, 0},
        [HAND_ENC] = {hand_encode_pass, &out, 0},
        [OPEN] = {open_pass, &oc, 0},
    };
    int nops = OPEN + 1, rc = 0;
#ifdef SC_HAVE_PROTOBUF_C
    static pc_msgs m;
    if (pc_setup(&m, &c) != 0) {
        rc = 1;
        goto done;
    }
    ops[PC_DEC] = (bench_op){pc_decode_pass, NULL, 0};
    ops[PC_ENC] = (bench_op){pc_encode_pass, &m, 0};
    nops = NUM_OPS;
#endif
    measure(ops, nops, &c);
    size_t hand_dec = self_bytes(is_hand_decoder), hand_all = self_bytes(is_hand_codec);

    printf("bench_pb: %d BundleEntryProto messages, %.1f bytes each on average, best of %d "
           "interleaved runs\n",
           NUM_MSGS, (double)c.bytes.len / NUM_MSGS, RUNS);
    printf("  hand-written decode  %8.2f M entries/s  (no allocation)\n", ops[HAND_DEC].best / 1e6);
    printf("  hand-written encode  %8.2f M entries/s  (reused buffer)\n", ops[HAND_ENC].best / 1e6);
    printf("  sc_bundle_open       %8.2f M entries/s  (product path: read .index + SSTable + "
           "entries)\n",
           ops[OPEN].best / 1e6);
    printf("  hand-written code    %8zu bytes decoder, %zu bytes decoder+encoder "
           "(hand_* + core/pb.c functions)\n",
           hand_dec, hand_all);
#ifdef SC_HAVE_PROTOBUF_C
    pc_report(ops[HAND_DEC].best, ops[HAND_ENC].best, ops[PC_DEC].best, ops[PC_ENC].best, hand_all);
done:
    free(m.out);
#else
    printf("  protobuf-c not installed: skipped (install protobuf-c-compiler libprotobuf-c-dev)\n");
#endif
    char index_path[300];
    snprintf(index_path, sizeof index_path, "%s.index", oc.prefix);
    unlink(index_path);
    sc_pb_buf_free(&out);
    sc_pb_buf_free(&c.bytes);
    return rc;
}
