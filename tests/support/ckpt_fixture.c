/* tests/support/ckpt_fixture.c — see ckpt_fixture.h. */
#include "support/ckpt_fixture.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ckpt/sstable.h"
#include "sidecar/checkpoint.h"

/* FORMATS Appendix A.4, byte for byte. */
const uint8_t ckf_tiny_index[CKF_TINY_INDEX_LEN] = {
    0x00, 0x00, 0x06, 0x08, 0x01, 0x1a, 0x02, 0x08, 0x01, 0x00, 0x1c, 0x0d, 0x5f, 0x43, 0x48, 0x45,
    0x43, 0x4b, 0x50, 0x4f, 0x49, 0x4e, 0x54, 0x41, 0x42, 0x4c, 0x45, 0x5f, 0x4f, 0x42, 0x4a, 0x45,
    0x43, 0x54, 0x5f, 0x47, 0x52, 0x41, 0x50, 0x48, 0x08, 0x07, 0x12, 0x00, 0x20, 0x10, 0x28, 0x0a,
    0x35, 0xec, 0xe0, 0xc0, 0x29, 0x00, 0x1f, 0x0d, 0x73, 0x74, 0x65, 0x70, 0x2f, 0x2e, 0x41, 0x54,
    0x54, 0x52, 0x49, 0x42, 0x55, 0x54, 0x45, 0x53, 0x2f, 0x56, 0x41, 0x52, 0x49, 0x41, 0x42, 0x4c,
    0x45, 0x5f, 0x56, 0x41, 0x4c, 0x55, 0x45, 0x08, 0x09, 0x12, 0x00, 0x20, 0x08, 0x28, 0x08, 0x35,
    0xbb, 0xd7, 0x9f, 0x11, 0x00, 0x1c, 0x0f, 0x77, 0x2f, 0x2e, 0x41, 0x54, 0x54, 0x52, 0x49, 0x42,
    0x55, 0x54, 0x45, 0x53, 0x2f, 0x56, 0x41, 0x52, 0x49, 0x41, 0x42, 0x4c, 0x45, 0x5f, 0x56, 0x41,
    0x4c, 0x55, 0x45, 0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x02, 0x28, 0x08, 0x35, 0x59, 0x3c,
    0xe5, 0x35, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x0e, 0xd4, 0x32, 0x33, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xf2, 0xa1, 0xb0, 0x00, 0x01, 0x03, 0x78,
    0x00, 0x9a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x80, 0x25, 0x0c, 0xfb,
    0x9f, 0x01, 0x08, 0xac, 0x01, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb,
};
const uint8_t ckf_tiny_data[CKF_TINY_DATA_LEN] = {
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40,           /* float32 {1, 2} */
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,           /* int64 7 */
    0x05, 0xd9, 0xc6, 0x9c, 0x43, 'h',  'e',  'l',  'l', 'o', /* len 5, length checksum, bytes */
};

char *ckf_mkdtemp(void) {
    const char *base = getenv("TMPDIR");
    char *tmpl = ckf_join(base && *base ? base : "/tmp", "sc_ckpt_XXXXXX");
    assert_non_null(mkdtemp(tmpl));
    return tmpl;
}

static void rmtree_at(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char *p = ckf_join(path, e->d_name);
                rmtree_at(p);
                free(p);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void ckf_rmtree(char *dir) {
    if (!dir) return;
    rmtree_at(dir);
    free(dir);
}

char *ckf_join(const char *dir, const char *name) {
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

uint8_t *ckf_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    uint8_t *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

void ckf_write(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

int ckf_count_files(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

void ckf_write_tiny(const char *prefix) {
    sc_error err;
    sc_bundle_writer *w = NULL;
    assert_int_equal(sc_bundle_writer_create(prefix, NULL, &w, &err), SC_OK);
    const float wv[2] = {1.0f, 2.0f};
    const int64_t wshape[1] = {2};
    const int64_t step = 7;
    const sc_bytes graph = {(const uint8_t *)"hello", 5};
    assert_int_equal(sc_bundle_writer_add(w, "w/.ATTRIBUTES/VARIABLE_VALUE", SC_DT_FLOAT, 1, wshape,
                                          wv, sizeof wv, 0, &err),
                     SC_OK);
    assert_int_equal(sc_bundle_writer_add(w, "step/.ATTRIBUTES/VARIABLE_VALUE", SC_DT_INT64, 0,
                                          NULL, &step, sizeof step, 0, &err),
                     SC_OK);
    assert_int_equal(
        sc_bundle_writer_add_strings(w, "_CHECKPOINTABLE_OBJECT_GRAPH", 0, NULL, &graph, 0, &err),
        SC_OK);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
}

void ckf_write_raw_index(const char *prefix, const uint8_t *header, size_t header_len, size_t n,
                         const char *const *keys, const uint8_t *const *entries,
                         const size_t *entry_lens) {
    sc_error err;
    sc_sst_writer *t = NULL;
    assert_int_equal(sc_sst_writer_create(0, SC_SST_NO_COMPRESSION, &t, &err), SC_OK);
    assert_int_equal(sc_sst_writer_add(t, "", 0, header, header_len, &err), SC_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            sc_sst_writer_add(t, keys[i], strlen(keys[i]), entries[i], entry_lens[i], &err), SC_OK);
    const uint8_t *data;
    size_t len;
    assert_int_equal(sc_sst_writer_finish(t, &data, &len, &err), SC_OK);
    char *path = NULL;
    assert_true(asprintf(&path, "%s.index", prefix) > 0);
    ckf_write(path, data, len);
    free(path);
    sc_sst_writer_free(t);
}

const char *ckf_fixtures(void) {
    static char root[1024];
    const char *env = getenv("SC_FIXTURES");
    snprintf(root, sizeof root, "%s", env && *env ? env : "../shared/fixtures");
    struct stat st;
    if (stat(root, &st) == 0 && S_ISDIR(st.st_mode)) return root;
    printf("SKIPPED: %s not found (conformance needs ../shared/fixtures)\n", root);
    return NULL;
}

char *ckf_fixture(const char *root, const char *rel) {
    char *p = ckf_join(root, rel);
    struct stat st;
    if (stat(p, &st) != 0) fail_msg("%s: missing from the fixtures", p);
    return p;
}
