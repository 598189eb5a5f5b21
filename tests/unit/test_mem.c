/* core/mem: large buffers are aligned, usable, and (where the kernel has transparent huge pages)
 * carry the MADV_HUGEPAGE advice on their 2 MiB-aligned interior, as /proc/self/smaps shows
 * in the VMA's flags ("hg"); small buffers are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/mem.h"

#define HUGE ((uintptr_t)2 << 20)

/* 1 if the mapping holding addr has the "hg" VmFlag, 0 if not, -1 if smaps cannot say. */
static int advised_huge(uintptr_t addr) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int in = 0, r = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = addr >= lo && addr < hi;
            continue;
        }
        if (in && !strncmp(line, "VmFlags:", 8)) {
            r = strstr(line, " hg") != NULL;
            break;
        }
    }
    fclose(f);
    return r;
}

static int thp_available(void) {
    return access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK) == 0;
}

static void test_aligned_and_usable(void **state) {
    (void)state;
    size_t sizes[] = {1, 63, 64, 4096, SC_MEM_HUGE_MIN - 1, SC_MEM_HUGE_MIN + 12345};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *p = sc_mem_aligned_large(64, sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        memset(p, 0xa5, sizes[i]);
        assert_int_equal(p[sizes[i] - 1], 0xa5);
        free(p);
        uint8_t *q = sc_mem_alloc_large(sizes[i]);
        assert_non_null(q);
        memset(q, 0x5a, sizes[i]);
        assert_int_equal(q[0], 0x5a);
        free(q);
    }
    assert_null(sc_mem_aligned_large(64, SIZE_MAX - 10)); /* rounding up would overflow */
    sc_mem_hint_huge(NULL, SC_MEM_HUGE_MIN);               /* a no-op, not a crash */
}

static void test_large_buffer_advised(void **state) {
    (void)state;
    if (!thp_available()) skip();
    size_t n = 3 * SC_MEM_HUGE_MIN;
    uint8_t *p = sc_mem_alloc_large(n);
    assert_non_null(p);
    uintptr_t interior = ((uintptr_t)p + HUGE - 1) & ~(HUGE - 1);
    int r = advised_huge(interior);
    if (r < 0) {
        free(p);
        skip();
    }
    assert_int_equal(r, 1);
    memset(p, 1, n); /* still an ordinary buffer */
    assert_int_equal(p[n - 1], 1);
    free(p);
}

static void test_small_buffer_not_advised(void **state) {
    (void)state;
    if (!thp_available()) skip();
    /* Below the threshold: an mmap'd chunk of its own (above glibc's mmap threshold) that
     * must not be advised. */
    size_t n = SC_MEM_HUGE_MIN - 4096;
    uint8_t *p = sc_mem_alloc_large(n);
    assert_non_null(p);
    int r = advised_huge(((uintptr_t)p + HUGE - 1) & ~(HUGE - 1));
    free(p);
    if (r < 0) skip();
    assert_int_equal(r, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_buffer_not_advised), /* first: nothing advised before it */
        cmocka_unit_test(test_aligned_and_usable),
        cmocka_unit_test(test_large_buffer_advised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
