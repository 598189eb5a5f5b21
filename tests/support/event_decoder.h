/* tests/support/event_decoder.h — an independent TensorBoard event-file decoder for tests.
 *
 * Written separately from src/core/{record,pb,crc32c}.c so that tests of the writer do not check
 * code against itself: it has its own bitwise CRC-32C, its own TFRecord framing check (both CRCs
 * always) and its own protobuf field walker. It depends on libc only. Everything it returns is
 * heap-owned by the evd_events and released by evd_events_free().
 */
#ifndef SC_TESTS_EVENT_DECODER_H
#define SC_TESTS_EVENT_DECODER_H

#include <stddef.h>
#include <stdint.h>

/* Event.what, numbered as the Event fields (FORMATS §6.3). */
enum evd_what {
    EVD_WHAT_NONE = 0,
    EVD_WHAT_FILE_VERSION = 3,
    EVD_WHAT_GRAPH_DEF = 4,
    EVD_WHAT_SUMMARY = 5,
    EVD_WHAT_LOG_MESSAGE = 6,
    EVD_WHAT_SESSION_LOG = 7,
    EVD_WHAT_TAGGED_RUN_METADATA = 8,
    EVD_WHAT_META_GRAPH_DEF = 9
};

/* Summary.Value's oneof, by field number; EVD_VALUE_OTHER covers image, histo, audio, ... */
enum evd_value_kind {
    EVD_VALUE_NONE = 0,
    EVD_VALUE_SIMPLE = 2,
    EVD_VALUE_TENSOR = 8,
    EVD_VALUE_OTHER = -1
};

#define EVD_MAX_RANK 8

typedef struct evd_value {
    char *tag;          /* "" when absent */
    int kind;           /* enum evd_value_kind */
    float simple_value; /* kind == EVD_VALUE_SIMPLE */
    /* kind == EVD_VALUE_TENSOR: */
    int dtype;     /* TensorProto.dtype (1 = DT_FLOAT) */
    int has_shape; /* tensor_shape present (possibly empty: rank 0) */
    int rank;
    int64_t dims[EVD_MAX_RANK];
    int has_content;
    uint8_t *content; /* tensor_content bytes (NULL when empty) */
    size_t content_len;
    size_t float_val_count; /* float_val, packed or not */
    float float_val0;
    /* metadata */
    int has_metadata;
    char *plugin_name; /* NULL when metadata or plugin_data is absent */
} evd_value;

typedef struct evd_event {
    size_t offset;      /* of the record in the input */
    size_t payload_len; /* the serialized Event's size */
    double wall_time;
    int64_t step;
    int what;           /* enum evd_what; the last oneof field seen */
    char *file_version; /* what == EVD_WHAT_FILE_VERSION */
    size_t what_len;    /* byte length of the oneof field (graph_def size, ...) */
    size_t n_values;    /* what == EVD_WHAT_SUMMARY */
    evd_value *values;
} evd_event;

typedef struct evd_events {
    size_t n;
    evd_event *ev;
} evd_events;

/* Decodes a whole TFRecord stream of Events. Returns 0, or -1 with a message in msg naming the
 * record index, offset and what was wrong (out is then empty). */
int evd_decode(const uint8_t *data, size_t len, evd_events *out, char *msg, size_t msglen);

/* Reads path (evd_read_file) and decodes it; the message starts with the path. */
int evd_decode_file(const char *path, evd_events *out, char *msg, size_t msglen);

/* Reads a whole file into malloc'd *data. Returns 0 or -1 with msg set. */
int evd_read_file(const char *path, uint8_t **data, size_t *len, char *msg, size_t msglen);

void evd_events_free(evd_events *e);

/* Plain CRC-32C, bit at a time, and TensorFlow's mask (FORMATS §0.3). */
uint32_t evd_crc32c(const void *data, size_t n);
uint32_t evd_mask(uint32_t crc);

/* The float32 held by a scalar value: simple_value, 4-byte tensor_content or float_val[0].
 * Returns 0, or -1 when the value is no scalar by RustBoard's rule (FORMATS §6.5). */
int evd_scalar(const evd_value *v, float *out);

#endif
