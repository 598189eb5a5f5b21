/* A pre-check of HDF5 bytes against one libhdf5 1.10 hang (see h5_guard.h).
 *
 * HDF5 file format 3.0, III.D "Local Heap": "HEAP", version 0, 3 reserved bytes, the data
 * segment size (L), the offset of the first free block (L, 1 = none), the data segment address
 * (O, relative to the base address). A free block in the data segment starts with the offset of
 * the next one (L, 1 = none) and its own size (L). libhdf5's H5HL__fl_deserialize stops with an
 * error on an offset beyond the segment, a next offset of 0, or a block past the segment's end,
 * and otherwise goes on: a list whose offsets come back around never ends. Lengths (L) and
 * addresses (O) have the sizes given in the superblock. */
#include "ckpt/h5_guard.h"

#include <string.h>

static const uint8_t k_sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
#define FREE_NULL 1u

typedef struct {
    const uint8_t *d;
    size_t n;
    uint64_t base, dsize, seg; /* seg: absolute offset of the data segment */
    int size_len;
} heap;

static int read_le(const uint8_t *d, size_t n, uint64_t off, int len, uint64_t *v) {
    if (len < 1 || len > 8 || off > n || n - off < (uint64_t)len) return -1;
    uint64_t x = 0;
    for (int i = 0; i < len; i++) x |= (uint64_t)d[off + i] << (8 * i);
    *v = x;
    return 0;
}

/* The next free block after fb as libhdf5 reads it; FREE_NULL where libhdf5 would stop. */
static uint64_t next_free(const heap *h, uint64_t fb) {
    uint64_t next, size;
    if (fb == FREE_NULL || fb >= h->dsize) return FREE_NULL;
    if (read_le(h->d, h->n, h->seg + fb, h->size_len, &next)
        || read_le(h->d, h->n, h->seg + fb + (uint64_t)h->size_len, h->size_len, &size))
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

/* The superblock: at 0 or a power of two from 512 on (a user block before it). */
static int superblock(const uint8_t *d, size_t n, uint64_t *base, int *addr_len, int *size_len) {
    for (uint64_t off = 0; off < n && n - off >= 16; off = off ? off * 2 : 512) {
        if (memcmp(d + off, k_sig, sizeof k_sig)) continue;
        int v = d[off + 8];
        *base = off; /* addresses count from the superblock when there is a user block */
        *addr_len = v < 2 ? d[off + 13] : d[off + 9];
        *size_len = v < 2 ? d[off + 14] : d[off + 10];
        return 0;
    }
    return -1;
}

int sc_h5_heap_loops(const uint8_t *data, size_t n, uint64_t *at) {
    uint64_t base;
    int addr_len, size_len;
    if (!data || superblock(data, n, &base, &addr_len, &size_len)) return 0;
    if (addr_len < 1 || addr_len > 8 || size_len < 1 || size_len > 8) return 0;
    const uint8_t *p = data, *end = data + n;
    while ((p = memmem(p, (size_t)(end - p), "HEAP", 4)) != NULL) {
        uint64_t off = (uint64_t)(p - data), head, addr;
        heap h = {data, n, base, 0, 0, size_len};
        uint64_t o = off + 8;
        if (off + 4 < n && data[off + 4] == 0 && !read_le(data, n, o, size_len, &h.dsize)
            && !read_le(data, n, o + (uint64_t)size_len, size_len, &head)
            && !read_le(data, n, o + 2 * (uint64_t)size_len, addr_len, &addr) && addr <= n
            && base <= n - addr) {
            h.seg = base + addr;
            if (h.dsize <= n - h.seg && free_list_loops(&h, head)) {
                *at = off;
                return 1;
            }
        }
        p += 4;
    }
    return 0;
}
