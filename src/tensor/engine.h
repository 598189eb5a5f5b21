/* tensor/engine.h — the process-wide oneDNN CPU engine and stream. Internal.
 *
 * Created on first use (pthread_once) and never destroyed: primitives of every runner share
 * it. In-order stream; callers execute and wait on it from one thread at a time per runner
 * (oneDNN's CPU stream is safe to use from several threads with distinct primitives).
 */
#ifndef SC_TENSOR_ENGINE_H
#define SC_TENSOR_ENGINE_H

#include <oneapi/dnnl/dnnl.h>

#include "core/error.h"
#include "sidecar/engine.h"

/* The engine and stream, or SC_UNIMPLEMENTED naming what oneDNN refused. */
sc_status sc_engine_get(dnnl_engine_t *engine, dnnl_stream_t *stream, sc_error *err);
/* Applies the thread setting to the calling thread (OpenMP's ICV is per thread); cheap, call
 * before executing primitives. */
void sc_engine_apply_threads(void);
/* oneDNN's effective ISA as a short name ("avx512_core"). */
const char *sc_engine_isa(void);
/* "dnnl_unimplemented" for a status. */
const char *sc_dnnl_status_str(dnnl_status_t s);

#endif
