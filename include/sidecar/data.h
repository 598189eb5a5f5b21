/* sidecar/data.h — evaluation data: TFRecord files (plain, GZIP, ZLIB), tf.train.Example
 * records, NumPy .npy / .npz arrays and CSV tables.
 *
 * Every reader is an opaque handle with a create/free pair (free accepts NULL). Readers that
 * stream (TFRecord, CSV) hand out views into one internal buffer that is reused from record to
 * record, so pulling a record costs no allocation once the buffer has grown to the largest
 * record; `rewind` starts the same file again from the beginning for the next evaluation.
 * Arrays (.npy/.npz) are loaded whole and give random access to their rows.
 *
 * Byte-level spec: docs/FORMATS.md §4 (TFRecord framing and compression), §5 (Example).
 *
 * Errors (sc_error messages name the file, then the record / line / array / feature, then what
 * was expected and what was found):
 *   SC_NOT_FOUND       the file (or an .npz member) does not exist
 *   SC_DATA_LOSS       corrupt bytes: a CRC mismatch, a truncated record or file, a bad gzip/zlib
 *                      stream, a malformed Example, an NPY header that does not parse, a size
 *                      that does not match the shape, unbalanced CSV quotes
 *   SC_INVALID_ARGUMENT well-formed but not what was asked for: a missing feature or column, a
 *                      wrong feature type or value count, a CSV cell that is not a number
 *   SC_UNIMPLEMENTED   valid but unsupported: big-endian or Fortran-order arrays, other dtypes,
 *                      records larger than the configured maximum
 *   SC_IO, SC_NO_MEMORY as usual
 * Not thread-safe: one handle per thread; distinct handles are independent.
 */
#ifndef SIDECAR_DATA_H
#define SIDECAR_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/checkpoint.h" /* sc_bytes */
#include "sidecar/dtype.h"
#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* =============================================================================================
 * TFRecord files
 * =========================================================================================== */

typedef enum sc_compression {
    SC_COMPRESSION_NONE = 0, /* records as they are */
    SC_COMPRESSION_ZLIB = 1, /* one RFC 1950 stream over all records (windowBits 15) */
    SC_COMPRESSION_GZIP = 2, /* RFC 1952 gzip, i.e. a .gz of a plain file (windowBits 31);
                              * several concatenated gzip members are read one after another */
    SC_COMPRESSION_AUTO = 3  /* reader only: plain when the file starts with a record header
                              * whose CRC checks, else zlib or gzip by their header
                              * (windowBits 47) */
} sc_compression;

/* "none", "zlib", "gzip", "auto"; "unknown" otherwise. */
const char *sc_compression_name(sc_compression c);

typedef struct sc_tfrecord_params {
    sc_compression compression; /* default SC_COMPRESSION_AUTO */
    int verify_data_crc;        /* default 1; the length CRC is always checked */
    uint64_t max_record_size;   /* default 1 GiB; a longer record is SC_UNIMPLEMENTED, which keeps
                                 * a corrupt-but-CRC-valid length from forcing a giant allocation */
    size_t buffer_size;         /* read (and inflate) chunk, default 256 KiB, at least 4 KiB */
} sc_tfrecord_params;

sc_tfrecord_params sc_tfrecord_default_params(void);

typedef struct sc_tfrecord_reader sc_tfrecord_reader;

/* Opens path for reading records one after another. params may be NULL (defaults). A
 * zero-byte file is a valid file with no records, whatever the compression. SC_NOT_FOUND when
 * the file does not exist; SC_DATA_LOSS when AUTO cannot recognise the first bytes. */
sc_status sc_tfrecord_reader_create(const char *path, const sc_tfrecord_params *params,
                                    sc_tfrecord_reader **out, sc_error *err);
void sc_tfrecord_reader_free(sc_tfrecord_reader *r); /* NULL is fine */

/* The next record. On SC_OK, *payload and *len view the record's payload inside the reader;
 * the view stays valid until the next call to next, rewind or free. An empty record gives a
 * non-NULL *payload and *len 0. At the end of the file: SC_OK with *payload NULL and *len 0 (and
 * again on every later call).
 * Errors, all naming the file, the record index and its byte offset (for compressed files, the
 * offset in the inflated record stream):
 *   SC_DATA_LOSS "<file>: record <i> at byte <offset>: length CRC mismatch" (or "data CRC
 *                mismatch"), "...: truncated record (file ends at byte X, record needs Y)",
 *                "<file>: corrupt gzip stream near compressed byte N: <zlib message>", or a
 *                compressed stream cut short;
 *   SC_UNIMPLEMENTED a record longer than max_record_size;
 *   SC_IO, SC_NO_MEMORY.
 * After an error every later call fails too (with the same status) until rewind. */
sc_status sc_tfrecord_reader_next(sc_tfrecord_reader *r, const uint8_t **payload, size_t *len,
                                  sc_error *err);

/* Back to the first record; clears an earlier error. */
sc_status sc_tfrecord_reader_rewind(sc_tfrecord_reader *r, sc_error *err);

/* Index of the record the next call to next returns (= records returned so far). */
uint64_t sc_tfrecord_reader_index(const sc_tfrecord_reader *r);
/* Offset, in the (inflated) record stream, of the record the next call to next returns: the
 * end of the last complete record, where a reader of a growing file would resume. */
uint64_t sc_tfrecord_reader_offset(const sc_tfrecord_reader *r);
const char *sc_tfrecord_reader_path(const sc_tfrecord_reader *r);
/* The compression actually used (AUTO resolved). */
sc_compression sc_tfrecord_reader_compression(const sc_tfrecord_reader *r);

/* Writer, for tests and tools. Follows TensorFlow's writer: deflate level Z_DEFAULT_COMPRESSION,
 * memLevel 9, gzip header with mtime 0. The file is created (truncated) at create and complete
 * only after close. */
typedef struct sc_tfrecord_writer sc_tfrecord_writer;

/* compression must be NONE, ZLIB or GZIP (AUTO is SC_INVALID_ARGUMENT). */
sc_status sc_tfrecord_writer_create(const char *path, sc_compression compression,
                                    sc_tfrecord_writer **out, sc_error *err);
/* Appends one record (payload may be NULL when len is 0). */
sc_status sc_tfrecord_writer_write(sc_tfrecord_writer *w, const void *payload, size_t len,
                                   sc_error *err);
/* Finishes the compressed stream, flushes and closes the file. Further writes are
 * SC_INVALID_ARGUMENT. */
sc_status sc_tfrecord_writer_close(sc_tfrecord_writer *w, sc_error *err);
/* Frees the writer; an unclosed writer's file is left as written so far (incomplete: buffered
 * bytes and the end of a compressed stream are missing). NULL is fine. */
void sc_tfrecord_writer_free(sc_tfrecord_writer *w);

/* =============================================================================================
 * tf.train.Example
 *
 * The functions below read a serialized Example in place: they scan the feature map for the
 * entry whose key matches (the last one wins, as protobuf map semantics say) and decode its
 * values straight into the caller's buffer. They never allocate. Packed and unpacked encodings,
 * in any number of chunks, are accepted; a Feature whose kind is unset is an empty list.
 * =========================================================================================== */

typedef enum sc_feature_kind {
    SC_FEATURE_NONE = 0,  /* the Feature's `kind` is unset: an empty list */
    SC_FEATURE_BYTES = 1, /* bytes_list */
    SC_FEATURE_FLOAT = 2, /* float_list */
    SC_FEATURE_INT64 = 3  /* int64_list */
} sc_feature_kind;

/* "none", "bytes_list", "float_list", "int64_list"; "unknown" otherwise. */
const char *sc_feature_kind_name(sc_feature_kind k);

/* A serialized Example plus where it came from (used only for messages). */
typedef struct sc_example {
    const uint8_t *data;
    size_t size;
    const char *file; /* may be NULL: messages then say "example" */
    uint64_t record;  /* the record index in file */
} sc_example;

/* A feature found in an Example: a view into the Example's bytes, valid as long as they are. */
typedef struct sc_feature {
    sc_feature_kind kind;
    size_t count;         /* number of values */
    const uint8_t *entry; /* internal: the map entry */
    size_t entry_size;
} sc_feature;

/* Looks up a feature by name. SC_OK with *found 1 and *out filled, or SC_OK with *found 0 when
 * the Example has no such key. SC_DATA_LOSS when the bytes are not a valid Example. */
sc_status sc_example_find(const sc_example *ex, const char *name, sc_feature *out, int *found,
                          sc_error *err);

/* Calls fn for each feature key of the Example, in stored order (duplicates included). Stops
 * early when fn returns non-zero. SC_DATA_LOSS when the bytes are not a valid Example. */
sc_status sc_example_foreach_key(const sc_example *ex,
                                 int (*fn)(const uint8_t *key, size_t len, void *user), void *user,
                                 sc_error *err);

/* Extracts feature `name`, which must hold exactly `count` values of the given list type, into
 * dst[0..count) (dst may be NULL when count is 0; its contents are unspecified on error). SC_INVALID_ARGUMENT when the feature is missing ("<file>: record <i>: no
 * feature 'x' (features present: a, b, c)"), of another kind ("feature 'x' is int64_list,
 * expected float_list") or of another length ("feature 'x' has 3 values, expected 2"). For bytes,
 * dst items point into the Example. An unset kind matches any type when count is 0. */
sc_status sc_example_get_floats(const sc_example *ex, const char *name, float *dst, size_t count,
                                sc_error *err);
sc_status sc_example_get_int64s(const sc_example *ex, const char *name, int64_t *dst, size_t count,
                                sc_error *err);
sc_status sc_example_get_bytes(const sc_example *ex, const char *name, sc_bytes *dst, size_t count,
                               sc_error *err);

/* Variable-length variant: decodes up to cap values of a found feature (whose kind must be the
 * one asked for, else SC_INVALID_ARGUMENT) and sets *n to the number stored (min(count, cap)).
 * ex is used for messages and must be the Example f was found in. */
sc_status sc_feature_floats(const sc_example *ex, const sc_feature *f, float *dst, size_t cap,
                            size_t *n, sc_error *err);
sc_status sc_feature_int64s(const sc_example *ex, const sc_feature *f, int64_t *dst, size_t cap,
                            size_t *n, sc_error *err);
sc_status sc_feature_bytes(const sc_example *ex, const sc_feature *f, sc_bytes *dst, size_t cap,
                           size_t *n, sc_error *err);

/* =============================================================================================
 * NumPy arrays: .npy (format 1.0, 2.0, 3.0) and .npz (zip of NAME.npy members, stored or deflated)
 *
 * Supported dtypes: <f2 <f4 <f8 <i1..<i8 <u1..<u8 |b1 |i1 |u1 (one-byte types with any order
 * character). Big-endian data, Fortran order (rank >= 2; for rank <= 1 it is the same bytes),
 * structured and object arrays are SC_UNIMPLEMENTED.
 * The byte count after the header must equal what the shape and dtype need (SC_DATA_LOSS
 * otherwise).
 * =========================================================================================== */

#define SC_ARRAY_MAX_RANK 32

typedef struct sc_array_info {
    sc_dtype dtype;                   /* SC_DT_HALF, SC_DT_FLOAT, ..., SC_DT_BOOL */
    int rank;                         /* 0 for a scalar */
    int64_t shape[SC_ARRAY_MAX_RANK]; /* shape[0..rank) */
    uint64_t num_elements;
    size_t elem_size;
    size_t nbytes; /* num_elements * elem_size */
} sc_array_info;

/* An array loaded into memory: C order, little-endian, data aligned to at least elem_size. */
typedef struct sc_array sc_array;

/* Loads a whole .npy file. SC_NOT_FOUND when it does not exist. */
sc_status sc_npy_load(const char *path, sc_array **out, sc_error *err);
void sc_array_free(sc_array *a); /* NULL is fine */

const sc_array_info *sc_array_get_info(const sc_array *a);
const void *sc_array_data(const sc_array *a);
/* Where it came from: "file.npy" or "file.npz:name". */
const char *sc_array_source(const sc_array *a);
/* Number of rows along axis 0 (1 for a scalar) and a view of row i: shape[1..rank) elements,
 * row-major (a scalar's one row is the scalar). SC_INVALID_ARGUMENT for i out of range. */
uint64_t sc_array_num_rows(const sc_array *a);
sc_status sc_array_row(const sc_array *a, uint64_t i, const void **row, size_t *row_bytes,
                       sc_error *err);

typedef struct sc_npy_write_params {
    int version; /* 1, 2 or 3 (header length u16 or u32); default 1, as NumPy uses when it fits */
} sc_npy_write_params;

sc_npy_write_params sc_npy_write_default_params(void);

/* Writes data (nbytes must equal num_elements(shape) * sc_dtype_size(dtype)) as an .npy file.
 * params may be NULL. SC_UNIMPLEMENTED for a dtype outside the list above. */
sc_status sc_npy_save(const char *path, sc_dtype dtype, int rank, const int64_t *shape,
                      const void *data, size_t nbytes, const sc_npy_write_params *params,
                      sc_error *err);

typedef struct sc_npz sc_npz;

/* Opens an .npz archive and lists its members. SC_NOT_FOUND when the file does not exist,
 * SC_DATA_LOSS when it is not a (consistent) zip archive. */
sc_status sc_npz_open(const char *path, sc_npz **out, sc_error *err);
void sc_npz_free(sc_npz *z); /* NULL is fine */
/* Array names: member names without the ".npy" suffix, in archive order. */
size_t sc_npz_num_arrays(const sc_npz *z);
const char *sc_npz_array_name(const sc_npz *z, size_t i);
/* Loads array `name` (SC_NOT_FOUND naming the arrays present when there is none). The member's
 * zip CRC is verified. The array is independent of z afterwards. */
sc_status sc_npz_load(sc_npz *z, const char *name, sc_array **out, sc_error *err);

/* Writer (tests, tools): np.savez layout (stored members) or np.savez_compressed (deflated). */
typedef struct sc_npz_writer sc_npz_writer;

sc_status sc_npz_writer_create(const char *path, int compressed, sc_npz_writer **out,
                               sc_error *err);
/* Adds "<name>.npy". The data is copied. A duplicate name is SC_INVALID_ARGUMENT. */
sc_status sc_npz_writer_add(sc_npz_writer *w, const char *name, sc_dtype dtype, int rank,
                            const int64_t *shape, const void *data, size_t nbytes, sc_error *err);
/* Writes the archive. Without close nothing is written; libzip writes no file for an archive
 * without members. */
sc_status sc_npz_writer_close(sc_npz_writer *w, sc_error *err);
void sc_npz_writer_free(sc_npz_writer *w); /* NULL is fine */

/* =============================================================================================
 * CSV tables (RFC 4180 with the usual leniency): a header row naming the columns; fields may be
 * quoted ("a, b"), a quote inside a quoted field is doubled (""); a quoted field may span lines;
 * lines end in LF or CRLF; the last line may lack its newline; blank lines are skipped; a UTF-8
 * byte-order mark is ignored. Selected columns are parsed as numbers (strtod in the C locale,
 * whatever the process locale); other columns are split but never parsed.
 * =========================================================================================== */

/* Ownership: columns and label_column are read by sc_csv_reader_create only. */
typedef struct sc_csv_params {
    char delimiter;             /* default ',' */
    const char *const *columns; /* feature columns by header name, in output order; NULL: every
                                   * column except the label */
    size_t num_columns;
    const char *label_column; /* NULL: no label */
    int allow_empty;          /* default 0: an empty selected cell is SC_INVALID_ARGUMENT;
                                   * 1: it reads as empty_value */
    double empty_value;       /* default NAN */
} sc_csv_params;

sc_csv_params sc_csv_default_params(void);

typedef struct sc_csv_reader sc_csv_reader;

/* Opens path and reads its header. SC_INVALID_ARGUMENT when a named column (or the label) is not
 * in the header, naming the columns present. params may be NULL. */
sc_status sc_csv_reader_create(const char *path, const sc_csv_params *params, sc_csv_reader **out,
                               sc_error *err);
void sc_csv_reader_free(sc_csv_reader *r); /* NULL is fine */

/* Number of feature columns each row yields and their names. */
size_t sc_csv_reader_num_columns(const sc_csv_reader *r);
const char *sc_csv_reader_column_name(const sc_csv_reader *r, size_t i);

/* The next row: *values views num_columns doubles inside the reader (valid until the next call
 * to next, rewind or free); *label (label may be NULL) is set when a label column was given.
 * At the end: SC_OK with *values NULL. A row with a different number of fields than the header,
 * or a cell that is not a number, is SC_INVALID_ARGUMENT "<file>: line <n>, column '<name>':
 * expected a number, found '<text>'" (line n is where the row starts); the next call goes on
 * with the following row. A quoted field never closed, or text after a closing quote, is
 * SC_DATA_LOSS. */
sc_status sc_csv_reader_next(sc_csv_reader *r, const double **values, double *label, sc_error *err);
/* Back to the first data row. */
sc_status sc_csv_reader_rewind(sc_csv_reader *r, sc_error *err);
/* Line number (1-based; the header is line 1) where the row last returned starts. */
uint64_t sc_csv_reader_line(const sc_csv_reader *r);

#ifdef __cplusplus
}
#endif
#endif
