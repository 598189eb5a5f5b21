/* core/fileio.h — small, careful file helpers shared by readers and writers. Internal.
 * Every failure fills err with the path and strerror. */
#ifndef SC_CORE_FILEIO_H
#define SC_CORE_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sidecar/status.h"

/* Reads a whole file into a malloc'd buffer (NUL-terminated for convenience; *len excludes it).
 * ENOENT -> SC_NOT_FOUND, other errors -> SC_IO. */
sc_status sc_read_file(const char *path, uint8_t **data, size_t *len, sc_error *err);

/* pread() of exactly n bytes at off; a short read is SC_UNAVAILABLE ("file ends at byte X,
 * expected Y": a file still being written or cut short). */
sc_status sc_pread_full(int fd, const char *path, void *buf, size_t n, uint64_t off, sc_error *err);

/* write() of exactly n bytes (handles EINTR and short writes); ENOSPC is named. */
sc_status sc_write_full(int fd, const char *path, const void *buf, size_t n, sc_error *err);

/* Test-only fault injection at the one place sidecar writes files: the n-th sc_write_full
 * call from now (1 = the next one) fails. mode SC_FAULT_ENOSPC writes the first half of its
 * buffer, then fails with ENOSPC (a full disk mid-record); SC_FAULT_CRASH writes the first half
 * and raises SIGKILL (a kill -9 mid-write). n = 0 disarms. Returns the number of sc_write_full calls
 * so far (to count a scenario's writes). Not thread-safe; tests only. */
typedef enum { SC_FAULT_ENOSPC = 1, SC_FAULT_CRASH = 2 } sc_fault_mode;
uint64_t sc_fault_inject_write(uint64_t n, sc_fault_mode mode);

/* Writes data to path atomically: "<path>.tmp<pid>" + fsync + rename + fsync(dir). */
sc_status sc_write_file_atomic(const char *path, const void *data, size_t n, sc_error *err);

/* dir + "/" + name, malloc'd; NULL on allocation failure. An absolute name is returned as is. */
char *sc_path_join(const char *dir, const char *name);

/* mkdir -p: creates dir and its missing parents (0755). An existing non-directory is SC_IO. */
sc_status sc_mkdir_p(const char *dir, sc_error *err);

/* 1 if the path exists (any type), 0 otherwise. */
int sc_path_exists(const char *path);
int sc_path_is_dir(const char *path);

#endif
