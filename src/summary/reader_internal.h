/* summary/reader_internal.h — pieces of the event reader shared with the report and tests.
 * Internal. */
#ifndef SC_SUMMARY_READER_INTERNAL_H
#define SC_SUMMARY_READER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/events.h"

/* Decodes a whole event file held in memory; name is used in warnings. Same rules as
 * sc_scalars_add_file. */
sc_status sc_scalars_decode(sc_scalars *s, const char *name, const uint8_t *data, size_t len,
                            sc_error *err);

/* The names of the "*tfevents*" regular files directly in dir, sorted by strcmp; malloc'd
 * array of malloc'd strings (possibly empty). SC_NOT_FOUND / SC_IO / SC_NO_MEMORY. */
sc_status sc_events_list_dir(const char *dir, char ***names, size_t *n, sc_error *err);

#endif
