/* sidecar/events.h — reading the scalars of TensorBoard event files (FORMATS §4.1, §6).
 *
 * A "run" is what TensorBoard calls one: the event files of one directory (Keras writes
 * <log_dir>/train and <log_dir>/validation; sidecar writes <logdir>/validation[_NAME]). An
 * sc_scalars collects the scalar series of one run, tag by tag, applying what TensorBoard's
 * loader applies:
 *
 *  - Files are read in the order they are added; sc_scalars_add_dir() adds every file of the
 *    directory whose name contains "tfevents", in byte order of the names, which is creation
 *    order for the timestamp-first names every writer uses (FORMATS §6.1).
 *  - A scalar is a Summary.Value holding simple_value (TF1 / Keras 2.0), or a rank-0 DT_FLOAT
 *    or DT_DOUBLE tensor (tensor_content or one float_val/double_val; TF2 tf.summary.scalar).
 *    Other values (images, histograms, text, ...) are skipped, and so is a whole tag whose
 *    first value carries metadata naming a plugin other than "scalars" (TensorBoard keeps the
 *    first metadata per tag).
 *  - Orphaned data is purged as TensorBoard's event accumulator does: in files whose
 *    file_version is "brain.Event:2" or later, a SessionLog START at step S drops every point
 *    of the run with step >= S; in older files (or before any file_version) a summary event
 *    whose step is below the run's most recent summary step drops the points of its own tags
 *    with step >= that step (a restarted TF1 writer re-logging steps it had already written).
 *    Points are otherwise kept in file order, which is wall-time order.
 *  - A record cut short or failing its CRC, or an Event that does not parse, ends that file:
 *    the points before it are kept and a warning naming the file, the record and the byte
 *    offset is added (sc_scalars_warning) and passed to params.warn.
 *
 * Values are stored as double (float32 values widen exactly). NaN and infinities are kept as
 * they are: a caller drawing them decides how to show them.
 */
#ifndef SIDECAR_EVENTS_H
#define SIDECAR_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_scalar_point {
    int64_t step;
    double wall_time; /* seconds since the epoch */
    double value;
} sc_scalar_point;

typedef struct sc_scalar_series {
    const char *tag; /* as written in the event file */
    size_t num_points;
    const sc_scalar_point *points; /* kept points, in file order; owned by the sc_scalars */
    uint64_t num_read;             /* points of the tag (== num_points unless sampled; after a
                                      purge of a sampled series, TensorBoard's estimate) */
    sc_scalar_point last;          /* the newest point (valid when num_read > 0) */
    int has_finite;                /* min and max are valid */
    sc_scalar_point min, max;      /* lowest and highest finite values of every point read
                                      (after a purge: of the kept points) */
} sc_scalar_series;

typedef struct sc_events_params {
    /* Called with each warning (a file ended early, a file that cannot be read in a directory).
     * Default NULL: warnings are only collected. */
    void (*warn)(void *user, const char *message);
    void *warn_user;
    /* Non-zero (default): purge orphaned points as described above; 0 keeps every point. */
    int purge_orphaned;
    /* 0 (default): keep every point. N >= 2: keep at most N points per tag, as TensorBoard's
     * reservoir does (summary/reservoir.h; TensorBoard keeps 1000 scalars per tag): the
     * newest always, here also the first, the rest a uniform sample; memory stays bounded
     * for any log size. */
    size_t max_points;
    uint64_t seed; /* of the reservoir's generator; default 0 */
} sc_events_params;

sc_events_params sc_events_default_params(void);

typedef struct sc_scalars sc_scalars;

/* An empty run. params may be NULL for the defaults. Returns SC_OK or SC_NO_MEMORY. */
sc_status sc_scalars_create(const sc_events_params *params, sc_scalars **out, sc_error *err);
void sc_scalars_free(sc_scalars *s); /* NULL is fine */

/* Reads one event file into the run. A corrupt or truncated record ends the file with a
 * warning and SC_OK. Returns SC_NOT_FOUND / SC_IO when the file cannot be read (message names
 * it), SC_NO_MEMORY. On an error the run keeps what it held before. */
sc_status sc_scalars_add_file(sc_scalars *s, const char *path, sc_error *err);

/* Reads every "*tfevents*" regular file directly in dir (not below it), in name order. A file
 * that vanishes or cannot be read becomes a warning. Returns SC_OK, SC_NOT_FOUND / SC_IO when
 * dir cannot be listed, SC_NO_MEMORY. Sets *num_files (may be NULL) to the files read. */
sc_status sc_scalars_add_dir(sc_scalars *s, const char *dir, size_t *num_files, sc_error *err);

/* The series, in the order their tags first appeared. A tag whose every point was purged
 * keeps its place with num_points 0. */
size_t sc_scalars_num_series(const sc_scalars *s);
sc_scalar_series sc_scalars_series(const sc_scalars *s, size_t i);

/* Warnings collected so far (owned by s). */
size_t sc_scalars_num_warnings(const sc_scalars *s);
const char *sc_scalars_warning(const sc_scalars *s, size_t i);

/* Statistics of what was read: records decoded, and points dropped by the purge. */
uint64_t sc_scalars_num_records(const sc_scalars *s);
uint64_t sc_scalars_num_purged(const sc_scalars *s);

#ifdef __cplusplus
}
#endif
#endif
