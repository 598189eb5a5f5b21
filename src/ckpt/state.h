/* ckpt/state.h — the `checkpoint` state file's text form, without the file. Internal (the
 * fuzzer and sc_ckpt_state_write use it). */
#ifndef SC_CKPT_STATE_H
#define SC_CKPT_STATE_H

#include <stddef.h>

#include "sidecar/checkpoint.h"

/* Formats st exactly as Python's text_format.MessageToString does (FORMATS §2.1). *text is
 * malloc'd and NUL-terminated (free()); *len excludes the NUL. SC_NO_MEMORY only. */
sc_status sc_ckpt_state_format(const sc_ckpt_state *st, char **text, size_t *len, sc_error *err);

#endif
