/* ckpt/h5_guard.h — checks of HDF5 bytes that libhdf5 1.10 would loop on. Internal. */
#ifndef SC_CKPT_H5_GUARD_H
#define SC_CKPT_H5_GUARD_H

#include <stddef.h>
#include <stdint.h>

/* libhdf5 1.10.8 (Debian 12) follows a local heap's free list until it meets the end marker,
 * allocating a node per step: a corrupt file whose list is a cycle makes it allocate without
 * end (a 14 KB file reached 13 GB in two minutes). These return 1 and set *at (the heap's byte
 * offset) when the bytes hold a version-0 local heap ("HEAP") whose free list, read with
 * libhdf5's own rules, is a cycle; 0 otherwise (also when the bytes are no HDF5 file).
 *
 * sc_h5_heap_loops checks data[0..n); sc_h5_heap_loops_fd checks an open file of n bytes,
 * streaming it through a small buffer (a 1 GB weights file costs a read of it, not a mapping
 * of it), and returns 0 when it cannot read (libhdf5 then names the problem). */
int sc_h5_heap_loops(const uint8_t *data, size_t n, uint64_t *at);
int sc_h5_heap_loops_fd(int fd, uint64_t n, uint64_t *at);

#endif
