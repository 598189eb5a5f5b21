/* sidecar/status.h — one status enum and a per-call error message.
 *
 * Every fallible call returns an sc_status and, when given a non-NULL sc_error*, fills it with a
 * message naming the file and the object (tensor, record, layer) and what was expected. The
 * numeric values are pinned: scripts and bindings may rely on them. Programmer errors (a NULL
 * where the header says it is not allowed) are assertions, not statuses.
 */
#ifndef SIDECAR_STATUS_H
#define SIDECAR_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sc_status {
    SC_OK = 0,
    SC_INVALID_ARGUMENT = 1, /* the input is well-formed but wrong: shape mismatch, bad option */
    SC_NOT_FOUND = 2,        /* a file, tensor, key or variable does not exist */
    SC_UNAVAILABLE = 3,      /* not there yet: half-written checkpoint, retry later */
    SC_DATA_LOSS = 4,        /* corrupt: CRC mismatch, truncated or malformed bytes */
    SC_UNIMPLEMENTED = 5,    /* valid but unsupported: a layer, dtype or sliced tensor */
    SC_IO = 6,               /* the operating system said no: permissions, disk full */
    SC_NO_MEMORY = 7,
    SC_ABORTED = 8 /* a callback asked to stop */
} sc_status;

#define SC_ERROR_MESSAGE_MAX 512

typedef struct sc_error {
    sc_status status;
    char message[SC_ERROR_MESSAGE_MAX]; /* NUL-terminated, no trailing newline */
} sc_error;

/* "OK", "INVALID_ARGUMENT", ... ; "UNKNOWN" for a value outside the enum. */
const char *sc_status_name(sc_status status);

/* Resets err to SC_OK with an empty message. err may be NULL. */
void sc_error_clear(sc_error *err);

#ifdef __cplusplus
}
#endif
#endif
