/* core/error.h — filling an sc_error. Internal. */
#ifndef SC_CORE_ERROR_H
#define SC_CORE_ERROR_H

#include "sidecar/status.h"

/* Sets err (may be NULL) to status with a printf-style message and returns status, so that
 * `return sc_error_set(err, SC_DATA_LOSS, "%s: block CRC mismatch", path);` reads naturally.
 * Messages name the file and the object, then what was expected and what was found. */
sc_status sc_error_set(sc_error *err, sc_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to an existing message (err may be NULL) and returns err->status
 * (or `status` when err is NULL). Used when a lower layer's message lacks the file name. */
sc_status sc_error_prefix(sc_error *err, sc_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
