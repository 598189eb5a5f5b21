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

/* For reader_files.c, which feeds a file to the decoder in chunks: begin_file before the first
 * chunk, end_file after the last (sorts the series). decode_records decodes the whole records
 * at the start of data[0..len) and returns the bytes consumed; it sets *stop (with a warning
 * given) when a record is bad, or *need to the bytes the next record needs when it is only
 * incomplete; base is data's offset in the file, for messages. */
void sc_scalars_begin_file(sc_scalars *s);
void sc_scalars_end_file(sc_scalars *s);
size_t sc_scalars_decode_records(sc_scalars *s, const char *name, const uint8_t *data, size_t len,
                                 uint64_t base, int at_eof, int *stop, size_t *need, sc_error *err,
                                 sc_status *st);
/* Adds a warning (collected, and passed to params.warn). */
__attribute__((format(printf, 2, 3))) void sc_scalars_warn(sc_scalars *s, const char *fmt, ...);

/* The names of the "*tfevents*" regular files directly in dir, sorted by strcmp; malloc'd
 * array of malloc'd strings (possibly empty). SC_NOT_FOUND / SC_IO / SC_NO_MEMORY. */
sc_status sc_events_list_dir(const char *dir, char ***names, size_t *n, sc_error *err);

#endif
