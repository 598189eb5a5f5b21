/* ckpt/keras_h5.h — HDF5 helpers shared by the weights reader, writer and .keras archive.
 * Internal. Includes hdf5.h, so only the keras_* sources include it. */
#ifndef SC_CKPT_KERAS_H5_H
#define SC_CKPT_KERAS_H5_H

#include <hdf5.h>

#include "sidecar/keras_weights.h"

/* Switches off HDF5's printing of its error stack to stderr (per thread in thread-safe builds,
 * hence called on every entry rather than once). */
void sc_h5_quiet(void);

/* Like sc_error_set, then appends ": " and HDF5's most specific error description from the
 * current error stack (e.g. "truncated file: eof = 100, ..."), and clears the stack. */
sc_status sc_h5_error(sc_error *err, sc_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 1 if the current error stack says the file is locked (h5py holds an exclusive lock while it
 * writes: a weights file being saved right now). Call before sc_h5_error clears the stack. */
int sc_h5_error_is_lock(void);

/* Reads a string attribute holding one value (vlen or fixed; h5py writes vlen UTF-8) into a
 * malloc'd *out. *out is NULL when the attribute is absent, not a string or not one value.
 * file and obj_path name the object in messages. */
sc_status sc_h5_read_str_attr(hid_t obj, const char *file, const char *obj_path, const char *attr,
                              char **out, sc_error *err);

/* The same with a limit of 64 MiB instead of 64 KiB, for model_config / training_config. */
sc_status sc_h5_read_config_attr(hid_t obj, const char *file, const char *obj_path,
                                 const char *attr, char **out, sc_error *err);

/* The open file behind a handle (for attribute reads). */
hid_t sc_h5weights_file(const sc_h5weights *h);

/* How a dataset's elements are read into little-endian memory. */
typedef enum {
    SC_H5_RD_NONE, /* listed but not readable as a tensor */
    SC_H5_RD_LE,   /* the stored type with little-endian byte order (IEEE floats, integers) */
    SC_H5_RD_RAW   /* the stored type as is (opaque bfloat16, h5py's 1-byte bool enum) */
} sc_h5_rd;

/* Maps a dataset's HDF5 type to an sc_dtype (FORMATS §7.1): IEEE float16/32/64 in either byte
 * order, 8..64-bit integers, h5py's bool enum, and (bf16_attr: the dataset has dtype=
 * "bfloat16") a 2-byte opaque or integer type as bfloat16. Others: SC_DT_STRING for strings,
 * SC_DT_INVALID otherwise, both with SC_H5_RD_NONE. */
void sc_h5_classify(hid_t ft, int bf16_attr, sc_dtype *dt, sc_h5_rd *rd);

/* sc_h5weights_open_memory without the copy: takes ownership of data (malloc'd), which it
 * frees on failure or with the handle. */
sc_status sc_h5weights_open_owned(void *data, size_t len, const char *name, sc_h5weights **out,
                                  sc_error *err);

#endif
