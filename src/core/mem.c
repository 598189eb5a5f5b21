/* core/mem.c — huge-page hints for large buffers (see mem.h). */
#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

void sc_mem_hint_huge(void *p, size_t n) {
#ifdef MADV_HUGEPAGE
    if (!p || n < SC_MEM_HUGE_MIN) return;
    uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

void *sc_mem_alloc_large(size_t n) {
    void *p = malloc(n ? n : 1);
    sc_mem_hint_huge(p, n);
    return p;
}

void *sc_mem_aligned_large(size_t align, size_t n) {
    size_t r = n % align ? n + (align - n % align) : n;
    if (r < n) return NULL; /* overflow */
    void *p = aligned_alloc(align, r ? r : align);
    sc_mem_hint_huge(p, r);
    return p;
}
