/* sidecar/safetensors.h — safetensors files (FORMATS §8), read with the reference reader's
 * validation rules: header <= 100 MB of JSON, tensors contiguous from offset 0 in offset order,
 * sizes matching shape x dtype, the last tensor ending exactly at the end of the file.
 *
 * Tensors are described with the same sc_tensor_info as checkpoint tensors (shard_id 0,
 * offset relative to the file, masked_crc32c 0: the format has no checksums). dtypes outside
 * TensorFlow's list (F8_E8M0, F4, F6_*) are reported as SC_DT_INVALID with their size.
 */
#ifndef SIDECAR_SAFETENSORS_H
#define SIDECAR_SAFETENSORS_H

#include "sidecar/checkpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_safetensors sc_safetensors;

/* Opens and validates the file; violations are SC_DATA_LOSS naming the file and the tensor. */
sc_status sc_safetensors_open(const char *path, sc_safetensors **out, sc_error *err);
void sc_safetensors_free(sc_safetensors *st);

const char *sc_safetensors_path(const sc_safetensors *st);
size_t sc_safetensors_num_tensors(const sc_safetensors *st); /* sorted by name */
const sc_tensor_info *sc_safetensors_tensor(const sc_safetensors *st, size_t i);
const sc_tensor_info *sc_safetensors_find(const sc_safetensors *st, const char *name);
/* The safetensors dtype string of tensor t ("F32", "BF16", ...). */
const char *sc_safetensors_dtype_str(const sc_safetensors *st, const sc_tensor_info *t);
/* __metadata__ value for key, or NULL. */
const char *sc_safetensors_metadata(const sc_safetensors *st, const char *key);
/* Copies the tensor's bytes (little-endian, row-major) into buf (cap >= t->size). A file that
 * shrank since it was opened is SC_UNAVAILABLE. */
sc_status sc_safetensors_read(sc_safetensors *st, const sc_tensor_info *t, void *buf, size_t cap,
                              sc_error *err);

#ifdef __cplusplus
}
#endif
#endif
