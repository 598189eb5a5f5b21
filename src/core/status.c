/* core/status.c — status names and error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

const char *sc_status_name(sc_status status) {
    switch (status) {
    case SC_OK: return "OK";
    case SC_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case SC_NOT_FOUND: return "NOT_FOUND";
    case SC_UNAVAILABLE: return "UNAVAILABLE";
    case SC_DATA_LOSS: return "DATA_LOSS";
    case SC_UNIMPLEMENTED: return "UNIMPLEMENTED";
    case SC_IO: return "IO";
    case SC_NO_MEMORY: return "NO_MEMORY";
    case SC_ABORTED: return "ABORTED";
    }
    return "UNKNOWN";
}

void sc_error_clear(sc_error *err) {
    if (!err) return;
    err->status = SC_OK;
    err->message[0] = '\0';
}

sc_status sc_error_set(sc_error *err, sc_status status, const char *fmt, ...) {
    if (!err) return status;
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return status;
}

sc_status sc_error_prefix(sc_error *err, sc_status status, const char *fmt, ...) {
    if (!err) return status;
    char head[SC_ERROR_MESSAGE_MAX];
    char old[SC_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    old[sizeof old - 1] = '\0';
    /* Truncation is acceptable: the head names the file, the tail says what went wrong. */
    size_t hl = strnlen(head, sizeof head - 1);
    size_t room = sizeof err->message - 1;
    if (hl > room) hl = room;
    memcpy(err->message, head, hl);
    size_t pos = hl;
    for (const char *sep = ": "; *sep && pos < room; sep++) err->message[pos++] = *sep;
    size_t ol = strnlen(old, sizeof old - 1);
    if (ol > room - pos) ol = room - pos;
    memcpy(err->message + pos, old, ol);
    err->message[pos + ol] = '\0';
    if (err->status == SC_OK) err->status = status;
    return err->status;
}
