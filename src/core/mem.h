/* core/mem.h — large buffers filled once and read many times. Internal.
 *
 * Whole arrays read from a file, activation arenas, oneDNN scratchpads and reordered weights are
 * megabytes that the process touches once, page by page. Each first touch of a 4 KiB page is a
 * page fault, and on virtual machines a fault costs several microseconds (measured here: reading
 * a 25 MB .npz member into a malloc'd buffer took 70 ms of CPU, 7 ms with 2 MiB pages). With
 * transparent huge pages in `madvise` mode (Debian's default) the kernel uses 2 MiB pages only
 * where asked; sc_mem_hint_huge asks for the 2 MiB-aligned interior of a buffer, so the edges
 * stay 4 KiB pages and the resident size never exceeds the buffer's own.
 */
#ifndef SC_CORE_MEM_H
#define SC_CORE_MEM_H

#include <stddef.h>

/* Buffers below this size are left alone (one huge page would be mostly edges). */
#define SC_MEM_HUGE_MIN ((size_t)4 << 20)

/* Advises 2 MiB pages for the aligned interior of [p, p + n) when n >= SC_MEM_HUGE_MIN. A hint
 * only: without THP, or on failure, nothing changes. Call it before the buffer is first touched. */
void sc_mem_hint_huge(void *p, size_t n);

/* malloc(n) followed by sc_mem_hint_huge; free() it as usual. */
void *sc_mem_alloc_large(size_t n);

/* aligned_alloc(align, n rounded up to align) followed by sc_mem_hint_huge; free() it. */
void *sc_mem_aligned_large(size_t align, size_t n);

#endif
