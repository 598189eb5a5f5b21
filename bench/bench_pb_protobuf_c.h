/* bench_pb_protobuf_c.h — the protobuf-c side of bench_pb (included only when bench_pb.cmake
 * found protoc-c and libprotobuf-c and generated tensor_bundle.pb-c.[ch]). */
#ifndef SC_BENCH_PB_PROTOBUF_C_H
#define SC_BENCH_PB_PROTOBUF_C_H

#include <link.h>

#include "tensor_bundle.pb-c.h"

typedef Tensorflow__BundleEntryProto pc_entry;
typedef Tensorflow__TensorShapeProto pc_shape;
typedef Tensorflow__TensorShapeProto__Dim pc_dim;

/* protobuf-c messages equal to the corpus entries, built once (not timed). */
typedef struct pc_msgs {
    pc_entry entries[NUM_MSGS];
    pc_shape shapes[NUM_MSGS];
    pc_dim dims[NUM_MSGS][HAND_MAX_RANK];
    pc_dim *dim_ptrs[NUM_MSGS][HAND_MAX_RANK];
    uint8_t *out;
    size_t out_cap;
} pc_msgs;

static void pc_build(pc_msgs *m, const corpus *c) {
    for (int i = 0; i < NUM_MSGS; i++) {
        const hand_entry *h = &c->entries[i];
        tensorflow__bundle_entry_proto__init(&m->entries[i]);
        tensorflow__tensor_shape_proto__init(&m->shapes[i]);
        for (int d = 0; d < h->rank; d++) {
            tensorflow__tensor_shape_proto__dim__init(&m->dims[i][d]);
            m->dims[i][d].size = h->dims[d];
            m->dim_ptrs[i][d] = &m->dims[i][d];
        }
        m->shapes[i].n_dim = (size_t)h->rank;
        m->shapes[i].dim = m->dim_ptrs[i];
        pc_entry *e = &m->entries[i];
        e->dtype = (Tensorflow__DataType)h->dtype;
        e->shape = &m->shapes[i];
        e->shard_id = h->shard_id;
        e->offset = h->offset;
        e->size = h->size;
        e->crc32c = h->crc32c;
    }
}

static int pc_to_hand(const pc_entry *p, hand_entry *h) {
    *h = (hand_entry){.dtype = (int32_t)p->dtype,
                      .shard_id = p->shard_id,
                      .offset = p->offset,
                      .size = p->size,
                      .crc32c = p->crc32c,
                      .num_slices = (int)p->n_slices};
    if (p->shape) {
        if (p->shape->n_dim > HAND_MAX_RANK) return -1;
        h->rank = (int)p->shape->n_dim;
        for (size_t d = 0; d < p->shape->n_dim; d++) h->dims[d] = p->shape->dim[d]->size;
    }
    return 0;
}

/* Both codecs read each other's bytes to the same fields and write identical bytes. */
static int pc_check(pc_msgs *m, const corpus *c) {
    for (int i = 0; i < NUM_MSGS; i++) {
        const uint8_t *bytes = c->bytes.data + c->at[i];
        size_t n = c->at[i + 1] - c->at[i];
        size_t packed = tensorflow__bundle_entry_proto__get_packed_size(&m->entries[i]);
        if (packed != n || tensorflow__bundle_entry_proto__pack(&m->entries[i], m->out) != n
            || memcmp(m->out, bytes, n) != 0) {
            fprintf(stderr, "bench_pb: protobuf-c and hand encodings of message %d differ\n", i);
            return -1;
        }
        pc_entry *u = tensorflow__bundle_entry_proto__unpack(NULL, n, bytes);
        hand_entry h;
        int ok = u && pc_to_hand(u, &h) == 0 && same_entry(&h, &c->entries[i]);
        tensorflow__bundle_entry_proto__free_unpacked(u, NULL);
        if (!ok) {
            fprintf(stderr, "bench_pb: protobuf-c decodes message %d differently\n", i);
            return -1;
        }
    }
    return 0;
}

static void pc_decode_pass(corpus *c, void *ctx) {
    (void)ctx;
    uint64_t acc = 0;
    for (int i = 0; i < NUM_MSGS; i++) {
        pc_entry *u = tensorflow__bundle_entry_proto__unpack(NULL, c->at[i + 1] - c->at[i],
                                                             c->bytes.data + c->at[i]);
        if (!u) abort();
        acc += (uint64_t)u->size;
        tensorflow__bundle_entry_proto__free_unpacked(u, NULL);
    }
    bench_keep(acc);
}

static void pc_encode_pass(corpus *c, void *ctx) {
    pc_msgs *m = ctx;
    size_t total = 0;
    (void)c;
    for (int i = 0; i < NUM_MSGS; i++) {
        size_t n = tensorflow__bundle_entry_proto__get_packed_size(&m->entries[i]);
        if (n > m->out_cap) abort();
        total += tensorflow__bundle_entry_proto__pack(&m->entries[i], m->out);
    }
    bench_keep(total);
}

static int is_generated(const char *s) { return strncmp(s, "tensorflow__", 12) == 0; }

static int find_lib(struct dl_phdr_info *info, size_t size, void *ctx) {
    (void)size;
    if (info->dlpi_name && strstr(info->dlpi_name, "libprotobuf-c")) {
        snprintf(ctx, 4096, "%s", info->dlpi_name);
        return 1;
    }
    return 0;
}

/* Executable and all loaded (SHF_ALLOC) section bytes of a shared library. */
static int lib_sizes(const char *path, size_t *text, size_t *alloc) {
    uint8_t *img;
    size_t n;
    *text = *alloc = 0;
    if (sc_read_file(path, &img, &n, NULL) != SC_OK) return -1;
    const Elf64_Ehdr *eh = (const void *)img;
    int rc = -1;
    if (n >= sizeof *eh && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0
        && eh->e_ident[EI_CLASS] == ELFCLASS64 && eh->e_shentsize == sizeof(Elf64_Shdr)
        && eh->e_shoff <= n && (n - eh->e_shoff) / sizeof(Elf64_Shdr) >= eh->e_shnum) {
        const Elf64_Shdr *sh = (const void *)(img + eh->e_shoff);
        for (unsigned i = 0; i < eh->e_shnum; i++) {
            if (!(sh[i].sh_flags & SHF_ALLOC)) continue;
            *alloc += sh[i].sh_size;
            if (sh[i].sh_flags & SHF_EXECINSTR) *text += sh[i].sh_size;
        }
        rc = 0;
    }
    free(img);
    return rc;
}

/* Builds the messages and checks both codecs agree; 0 or -1 (message printed). */
static int pc_setup(pc_msgs *m, const corpus *c) {
    pc_build(m, c);
    m->out_cap = 4096;
    m->out = malloc(m->out_cap);
    if (!m->out) {
        fprintf(stderr, "bench_pb: out of memory\n");
        return -1;
    }
    return pc_check(m, c);
}

static void pc_report(double hd, double he, double pd, double pe, size_t hand_all) {
    size_t gen = self_bytes(is_generated), lib_text = 0, lib_alloc = 0;
    char lib[4096] = "";
    dl_iterate_phdr(find_lib, lib);
    if (!lib[0] || lib_sizes(lib, &lib_text, &lib_alloc) != 0)
        snprintf(lib, sizeof lib, "libprotobuf-c.so (not found)");
    printf("  protobuf-c unpack    %8.2f M entries/s  (allocates; unpack + free_unpacked)\n",
           pd / 1e6);
    printf("  protobuf-c pack      %8.2f M entries/s  (get_packed_size + pack)\n", pe / 1e6);
    printf("  protobuf-c code      %8zu bytes generated (tensorflow__* functions + "
           "descriptors) + %zu bytes text (%zu loaded) of %s\n",
           gen, lib_text, lib_alloc, lib);
    printf("  encodings identical: yes (%d messages, both directions decode the same)\n", NUM_MSGS);
    printf("  ratio decode hand/protobuf-c  %6.2f\n", hd / pd);
    printf("  ratio encode hand/protobuf-c  %6.2f\n", he / pe);
    printf("  ratio code protobuf-c/hand    %6.2f (generated + library text vs hand codec)\n",
           (double)(gen + lib_text) / (double)hand_all);
    printf("  ratio code generated/hand     %6.2f (generated code alone, without the library)\n",
           (double)gen / (double)hand_all);
}

#endif
