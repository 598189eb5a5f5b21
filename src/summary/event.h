/* summary/event.h — Event proto encoding for TensorBoard (FORMATS §6.2-§6.5). Internal.
 *
 * The encoders append one serialized Event (the TFRecord payload, unframed) to a pb buffer and
 * emit fields in ascending field-number order with proto3 default-skipping, as TensorFlow's C++
 * writer does, so the bytes equal TensorFlow's for the same inputs. Allocation failure is
 * reported through buf->failed, like every sc_pb_buf user.
 */
#ifndef SC_SUMMARY_EVENT_H
#define SC_SUMMARY_EVENT_H

#include <stdint.h>

#include "core/pb.h"

#define SC_EVENT_FILE_VERSION   "brain.Event:2"
#define SC_EVENT_SCALARS_PLUGIN "scalars"

/* Event { wall_time, file_version = "brain.Event:2" }. */
void sc_event_encode_file_version(sc_pb_buf *buf, double wall_time);

/* Event { wall_time, step, summary { value { tag, tensor { DT_FLOAT, shape {}, 4-byte
 * tensor_content }, metadata { plugin_data { plugin_name "scalars" } } } } }. */
void sc_event_encode_scalar(sc_pb_buf *buf, double wall_time, int64_t step, const char *tag,
                            float value);

#endif
