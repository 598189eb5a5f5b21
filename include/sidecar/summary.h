/* sidecar/summary.h — TensorBoard event-file writer (FORMATS §4.1, §6).
 *
 * A writer owns one event file:
 *
 *   <logdir>/events.out.tfevents.<10-digit secs>.<host>.<pid>.<counter><suffix>
 *
 * which is a sequence of TFRecord-framed Event protos. The first record is the file_version event
 * "brain.Event:2" whose wall_time is the creation time in whole seconds; it is written and pushed
 * to the OS by sc_summary_writer_create(). Scalars are then written in TensorFlow 2 tensor form,
 * byte for byte what `tf.summary.scalar` produces (FORMATS §6.5): a rank-0 DT_FLOAT tensor whose
 * value sits in a 4-byte little-endian tensor_content, an empty-but-present tensor_shape, and
 * metadata plugin_name "scalars" on every event. TensorBoard's Rust data server accepts exactly
 * this form, and so does its legacy Python loader.
 *
 * Why every writer gets a new, unique file (the <pid>.<counter> part, and the file is opened with
 * O_EXCL so an existing name is never reused): a process that dies mid-write leaves a torn record
 * at the end of its file. TensorBoard stops reading a file for good at the first bad record, so
 * anything a restarted run appended after it would be invisible. TensorBoard also orders the
 * files of a run by name and the legacy loader stops reading older files once a newer one
 * exists. A fresh file per writer keeps every run's data readable.
 *
 * Writes are buffered in memory and reach the OS when the buffer fills or at
 * sc_summary_writer_flush(). When the OS refuses a write (ENOSPC, EIO, EFBIG, ...) the failure
 * is SC_IO with a message naming the file; it is returned by the call that hit it and, because
 * the file may now end in a torn record, it sticks: every later write and flush on this writer
 * returns the same error. A failure is therefore never lost: at the latest the next flush
 * reports it.
 *
 * A writer is not thread-safe; use one per thread or lock around it. Writers in different
 * threads or processes never share a file.
 */
#ifndef SIDECAR_SUMMARY_H
#define SIDECAR_SUMMARY_H

#include <stdint.h>

#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_summary_writer sc_summary_writer;

/* Ownership: the strings are read by sc_summary_writer_create only (the writer keeps copies of
 * what it needs); clock and clock_ctx are borrowed until sc_summary_writer_free. */
typedef struct sc_summary_writer_params {
    /* Appended to the file name. Default ".v2" (TF2 create_file_writer); NULL or "" for none.
     * Must not contain '/'. */
    const char *filename_suffix;
    /* Host name in the file name. Default NULL: gethostname(), "localhost" if that fails. Set
     * it for reproducible names in tests. Must be non-empty and not contain '/'. */
    const char *hostname;
    /* Wall clock, seconds since the epoch. Default NULL: CLOCK_REALTIME. Used for the file name,
     * the file_version event, and scalars written with a negative wall_time. Tests pin it. */
    double (*clock)(void *clock_ctx);
    void *clock_ctx;
    /* Non-zero: sc_summary_writer_flush() also fsync()s, so the data survives a machine crash,
     * not only a process crash. Default 0. */
    int fsync_on_flush;
    /* Tests and special files only: write to exactly this path instead of a generated name in
     * logdir (logdir is then ignored, may be NULL, and is not created). The file is opened for
     * appending and created if absent; nothing guards against reusing an old file. Default NULL. */
    const char *file_path;
} sc_summary_writer_params;

/* The defaults described above. */
sc_summary_writer_params sc_summary_writer_default_params(void);

/* Creates logdir (and its parents, mode 0755) if needed, creates a new event file in it, writes
 * the file_version event and pushes it to the OS. params may be NULL for the defaults.
 * On success *out owns the open file; release it with sc_summary_writer_free().
 * Returns SC_OK; SC_INVALID_ARGUMENT for a bad suffix or host name, or a clock that returned a
 * negative or non-finite time; SC_IO when a directory or the file cannot be created or the first
 * record cannot be written (the message names the path and the OS error); SC_NO_MEMORY. */
sc_status sc_summary_writer_create(const char *logdir, const sc_summary_writer_params *params,
                                   sc_summary_writer **out, sc_error *err);

/* Flushes what is still buffered (errors are lost here: call sc_summary_writer_flush() first
 * when they matter), closes the file and frees the writer. NULL is allowed. */
void sc_summary_writer_free(sc_summary_writer *w);

/* The path of the event file (owned by the writer, valid until free). */
const char *sc_summary_writer_path(const sc_summary_writer *w);

/* Appends one scalar event: tag (non-empty, UTF-8 as TensorBoard expects), step (any int64; the
 * step field is omitted when 0, as proto3 does), value (stored as float32, NaN and infinities
 * included) and wall_time (seconds since the epoch; a negative value means "now" from the
 * writer's clock). The event is buffered; see the top of this file for when it reaches the OS.
 * Returns SC_OK; SC_INVALID_ARGUMENT for an empty tag or a non-finite wall_time (TensorBoard
 * refuses to read a file with a NaN wall_time); SC_IO for this or an earlier write failure;
 * SC_NO_MEMORY. */
sc_status sc_summary_write_scalar(sc_summary_writer *w, const char *tag, int64_t step, float value,
                                  double wall_time, sc_error *err);

/* Writes everything buffered to the OS (and fsync()s when params.fsync_on_flush). Call it after
 * each evaluation so TensorBoard sees the results. Returns SC_OK, or SC_IO naming the file for a
 * failed write or fsync, now or earlier on this writer. */
sc_status sc_summary_writer_flush(sc_summary_writer *w, sc_error *err);

#ifdef __cplusplus
}
#endif
#endif
