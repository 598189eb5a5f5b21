/* A pre-check of HDF5 bytes against one libhdf5 1.10 hang (see h5_guard.h).
 *
 * HDF5 file format 3.0, III.D "Local Heap": "HEAP", version 0, 3 reserved bytes, the data
 * segment size (L), the offset of the first free block (L, 1 = none), the data segment address
 * (O, relative to the base address). A free block in the data segment starts with the offset of
 * the next one (L, 1 = none) and its own size (L). libhdf5's H5HL__fl_deserialize stops with an
 * error on an offset beyond the segment, a next offset of 0, or a block past the segment's end,
 * and otherwise goes on: a list whose offsets come back around never ends. Lengths (L) and
 * addresses (O) have the sizes given in the superblock.
 *
 * Heaps may sit anywhere in the file, so every "HEAP" is looked at; the few bytes each needs are
 * read through a small source interface, from memory or with pread. */
#include "ckpt/h5_guard.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint8_t k_sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
#define FREE_NULL 1u
#define CHUNK     (1u << 20)

typedef struct {
    const uint8_t *mem; /* or */
    int fd;
    uint64_t n;
} source;

/* Reads len bytes at off; -1 past the end or on a read error. */
static int src_read(const source *s, uint64_t off, void *buf, size_t len) {
    if (off > s->n || s->n - off < len) return -1;
    if (s->mem) {
        memcpy(buf, s->mem + off, len);
        return 0;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(s->fd, (uint8_t *)buf + got, len - got, (off_t)(off + got));
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

static int src_le(const source *s, uint64_t off, int len, uint64_t *v) {
    uint8_t b[8];
    if (len < 1 || len > 8 || src_read(s, off, b, (size_t)len)) return -1;
    uint64_t x = 0;
    for (int i = 0; i < len; i++) x |= (uint64_t)b[i] << (8 * i);
    *v = x;
    return 0;
}

typedef struct {
    const source *s;
    uint64_t base, dsize, seg; /* seg: the data segment's file offset */
    int addr_len, size_len;
} heap;

/* The next free block after fb as libhdf5 reads it; FREE_NULL where libhdf5 would stop. */
static uint64_t next_free(const heap *h, uint64_t fb) {
    uint64_t next, size;
    if (fb == FREE_NULL || fb >= h->dsize) return FREE_NULL;
    if (src_le(h->s, h->seg + fb, h->size_len, &next)
        || src_le(h->s, h->seg + fb + (uint64_t)h->size_len, h->size_len, &size))
        return FREE_NULL;
    if (next == 0 || size > h->dsize - fb) return FREE_NULL;
    return next;
}

/* Floyd's cycle finding: exact, constant memory, at most about three times the list's length. */
static int free_list_loops(const heap *h, uint64_t head) {
    uint64_t slow = head, fast = head;
    for (;;) {
        fast = next_free(h, fast);
        if (fast == FREE_NULL) return 0;
        fast = next_free(h, fast);
        if (fast == FREE_NULL) return 0;
        slow = next_free(h, slow);
        if (slow == fast) return 1;
    }
}

/* Whether the "HEAP" at off starts a local heap whose free list loops. */
static int heap_loops(heap *h, uint64_t off) {
    uint8_t ver;
    uint64_t head, addr, o = off + 8, sl = (uint64_t)h->size_len;
    if (src_read(h->s, off + 4, &ver, 1) || ver != 0 || src_le(h->s, o, h->size_len, &h->dsize)
        || src_le(h->s, o + sl, h->size_len, &head) || src_le(h->s, o + 2 * sl, h->addr_len, &addr)
        || addr > h->s->n || h->base > h->s->n - addr)
        return 0;
    h->seg = h->base + addr;
    return h->dsize <= h->s->n - h->seg && free_list_loops(h, head);
}

/* The superblock: at 0 or a power of two from 512 on (a user block before it). */
static int superblock(const source *s, heap *h) {
    for (uint64_t off = 0; off < s->n && s->n - off >= 16; off = off ? off * 2 : 512) {
        uint8_t b[16];
        if (src_read(s, off, b, sizeof b) || memcmp(b, k_sig, sizeof k_sig)) continue;
        h->base = off; /* addresses count from the superblock when there is a user block */
        h->addr_len = b[8] < 2 ? b[13] : b[9];
        h->size_len = b[8] < 2 ? b[14] : b[10];
        return h->addr_len >= 1 && h->addr_len <= 8 && h->size_len >= 1 && h->size_len <= 8 ? 0
                                                                                            : -1;
    }
    return -1;
}

/* Every "HEAP" in buf[0..len), which starts at file offset pos. */
static int scan(heap *h, const uint8_t *buf, size_t len, uint64_t pos, uint64_t *at) {
    const uint8_t *p = buf, *end = buf + len;
    while ((p = memmem(p, (size_t)(end - p), "HEAP", 4)) != NULL) {
        uint64_t off = pos + (uint64_t)(p - buf);
        if (heap_loops(h, off)) {
            *at = off;
            return 1;
        }
        p += 4;
    }
    return 0;
}

int sc_h5_heap_loops(const uint8_t *data, size_t n, uint64_t *at) {
    source s = {data, -1, n};
    heap h = {&s, 0, 0, 0, 0, 0};
    if (!data || superblock(&s, &h)) return 0;
    return scan(&h, data, n, 0, at);
}

int sc_h5_heap_loops_fd(int fd, uint64_t n, uint64_t *at) {
    source s = {NULL, fd, n};
    heap h = {&s, 0, 0, 0, 0, 0};
    if (superblock(&s, &h)) return 0;
    uint8_t *buf = malloc(CHUNK + 3);
    if (!buf) return 0;
    int found = 0;
    /* Chunks overlap by 3 bytes so that a "HEAP" across a boundary is seen once. */
    for (uint64_t pos = 0; pos < n && !found;) {
        size_t len = n - pos < CHUNK + 3 ? (size_t)(n - pos) : CHUNK + 3;
        if (src_read(&s, pos, buf, len)) break;
        found = scan(&h, buf, len, pos, at);
        if (len < CHUNK + 3) break;
        pos += CHUNK;
    }
    free(buf);
    return found;
}
