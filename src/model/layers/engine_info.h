/* model/layers/engine_info.h — what the oneDNN plan (model/dnnl_plan.c) needs to know about a
 * layer it runs as a primitive. Internal. */
#ifndef SC_MODEL_ENGINE_INFO_H
#define SC_MODEL_ENGINE_INFO_H

#include "model/layers/conv_geom.h"

/* Conv1D/Conv2D: its geometry (Conv1D as a 2-D convolution of height 1) and 1; 0 for any other
 * layer. */
int sc_conv_engine_geometry(const sc_layer *L, sc_conv_geom *g);

#endif
