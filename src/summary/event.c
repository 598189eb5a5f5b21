/* summary/event.c — Event proto encoding (FORMATS §6). */
#include <string.h>

#include "sidecar/dtype.h"
#include "summary/event.h"

/* Field numbers, from tensorboard/compat/proto/{event,summary,tensor,tensor_shape}.proto. */
enum { EVENT_WALL_TIME = 1, EVENT_STEP = 2, EVENT_FILE_VERSION = 3, EVENT_SUMMARY = 5 };
enum { SUMMARY_VALUE = 1 };
enum { VALUE_TAG = 1, VALUE_TENSOR = 8, VALUE_METADATA = 9 };
enum { TENSOR_DTYPE = 1, TENSOR_SHAPE = 2, TENSOR_CONTENT = 4 };
enum { METADATA_PLUGIN_DATA = 1 };
enum { PLUGIN_DATA_NAME = 1 };

static void put_header(sc_pb_buf *buf, double wall_time, int64_t step) {
    if (wall_time != 0.0) sc_pb_put_double(buf, EVENT_WALL_TIME, wall_time);
    if (step != 0) sc_pb_put_int(buf, EVENT_STEP, step);
}

void sc_event_encode_file_version(sc_pb_buf *buf, double wall_time) {
    put_header(buf, wall_time, 0);
    sc_pb_put_str(buf, EVENT_FILE_VERSION, SC_EVENT_FILE_VERSION);
}

void sc_event_encode_scalar(sc_pb_buf *buf, double wall_time, int64_t step, const char *tag,
                            float value) {
    /* tensor_content is little-endian on disk whatever the host order. */
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    const uint8_t content[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16),
                                (uint8_t)(bits >> 24)};

    put_header(buf, wall_time, step);
    size_t summary = sc_pb_begin_sub(buf, EVENT_SUMMARY);
    size_t val = sc_pb_begin_sub(buf, SUMMARY_VALUE);
    sc_pb_put_str(buf, VALUE_TAG, tag);

    size_t tensor = sc_pb_begin_sub(buf, VALUE_TENSOR);
    sc_pb_put_uint(buf, TENSOR_DTYPE, SC_DT_FLOAT);
    /* A rank-0 shape is an empty TensorShapeProto; TensorFlow still writes it (12 00) and so do
     * we, keeping our bytes identical to TensorFlow's. */
    sc_pb_end_sub(buf, sc_pb_begin_sub(buf, TENSOR_SHAPE));
    sc_pb_put_lenfield(buf, TENSOR_CONTENT, content, sizeof content);
    sc_pb_end_sub(buf, tensor);

    size_t meta = sc_pb_begin_sub(buf, VALUE_METADATA);
    size_t plugin = sc_pb_begin_sub(buf, METADATA_PLUGIN_DATA);
    sc_pb_put_str(buf, PLUGIN_DATA_NAME, SC_EVENT_SCALARS_PLUGIN);
    sc_pb_end_sub(buf, plugin);
    sc_pb_end_sub(buf, meta);

    sc_pb_end_sub(buf, val);
    sc_pb_end_sub(buf, summary);
}
