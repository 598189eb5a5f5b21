/* ckpt/h5_guard.h — checks of HDF5 bytes that libhdf5 1.10 would loop on. Internal. */
#ifndef SC_CKPT_H5_GUARD_H
#define SC_CKPT_H5_GUARD_H

#include <stddef.h>
#include <stdint.h>

/* libhdf5 1.10.8 (Debian 12) follows a local heap's free list until it meets the end marker,
 * allocating a node per step: a corrupt file whose list is a cycle makes it allocate without
 * end (a 14 KB file reached 13 GB in two minutes). Returns 1 and sets *at (the heap's byte
 * offset) when data[0..n) holds a version-0 local heap ("HEAP") whose free list, read with
 * libhdf5's own rules, is a cycle; 0 otherwise (also when the bytes are no HDF5 file). */
int sc_h5_heap_loops(const uint8_t *data, size_t n, uint64_t *at);

#endif
