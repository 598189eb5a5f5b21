/* tests/support/ckpt_fixture.h — temporary directories, whole-file helpers and small bundles
 * for the checkpoint tests. Every helper fails the running cmocka test on error. */
#ifndef SC_TESTS_CKPT_FIXTURE_H
#define SC_TESTS_CKPT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

/* A fresh directory under $TMPDIR (or /tmp); malloc'd path. */
char *ckf_mkdtemp(void);
/* Removes dir and everything below it, then frees the path. NULL is fine. */
void ckf_rmtree(char *dir);
/* dir + "/" + name, malloc'd. */
char *ckf_join(const char *dir, const char *name);
/* Whole file into a malloc'd buffer. */
uint8_t *ckf_read(const char *path, size_t *len);
void ckf_write(const char *path, const void *data, size_t len);
/* Number of entries in dir (without . and ..). */
int ckf_count_files(const char *dir);

/* The folder of real TensorFlow/Keras/TensorBoard files: $SC_FIXTURES when set and not empty,
 * else ../shared/fixtures. NULL when that is not a directory, after printing the one
 * "SKIPPED: ... not found" line that says why a conformance test passed without checking. */
const char *ckf_fixtures(void);
/* ckf_fixtures() + "/" + rel, malloc'd; the running test fails when the file is missing (a
 * fixture folder that is there but incomplete must not pass silently). */
char *ckf_fixture(const char *root, const char *rel);

/* FORMATS Appendix A.4: the exact tiny.index and tiny.data-00000-of-00001 bytes. */
#define CKF_TINY_INDEX_LEN 240
#define CKF_TINY_DATA_LEN  26
extern const uint8_t ckf_tiny_index[CKF_TINY_INDEX_LEN];
extern const uint8_t ckf_tiny_data[CKF_TINY_DATA_LEN];

/* The Appendix A.4 bundle: w = float32 {1, 2}, step = int64 7, _CHECKPOINTABLE_OBJECT_GRAPH =
 * "hello", added in that order with default params. */
void ckf_write_tiny(const char *prefix);

/* Writes "<prefix>.index" holding the header bytes and the given (key, BundleEntryProto) pairs
 * (keys sorted, "" excluded), for tests that need entries the writer refuses to produce. */
void ckf_write_raw_index(const char *prefix, const uint8_t *header, size_t header_len, size_t n,
                         const char *const *keys, const uint8_t *const *entries,
                         const size_t *entry_lens);

#endif
