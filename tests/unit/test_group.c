/* The group's pieces that need no launcher: the launch size read from mpirun's / PMI's
 * environment, a group of one (MPI untouched), the refusal of a build without MPI launched as
 * several processes, and the flat metric states that ranks send (get + add == merge, AUC
 * bit-exact). The MPI paths are tested under mpirun by tests/cli/test_mpi_group.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics_internal.h"
#include "sidecar/group.h"
#include "sidecar/metrics.h"

static void clear_env(void) {
    unsetenv("OMPI_COMM_WORLD_SIZE");
    unsetenv("PMI_SIZE");
}

static void test_launch_size(void **state) {
    (void)state;
    clear_env();
    assert_int_equal(sc_group_launch_size(), 1);
    setenv("PMI_SIZE", "4", 1);
    assert_int_equal(sc_group_launch_size(), 4);
    setenv("OMPI_COMM_WORLD_SIZE", "3", 1); /* Open MPI's own variable first */
    assert_int_equal(sc_group_launch_size(), 3);
    setenv("OMPI_COMM_WORLD_SIZE", "3x", 1);
    assert_int_equal(sc_group_launch_size(), 4);
    setenv("PMI_SIZE", "0", 1);
    assert_int_equal(sc_group_launch_size(), 1);
    clear_env();
}

static void test_group_of_one(void **state) {
    (void)state;
    clear_env();
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
    sc_group *g = NULL;
    sc_error err;
    assert_int_equal(sc_group_create(NULL, NULL, &g, &err), SC_OK);
    assert_int_equal(sc_group_rank(g), 0);
    assert_int_equal(sc_group_size(g), 1);
    uint64_t s, r, n;
    sc_group_traffic(g, &s, &r, &n);
    assert_true(s == 0 && r == 0 && n == 0);
    sc_group_free(g);
    assert_int_equal(sc_group_size(NULL), 1);
    clear_env();
}

static void test_without_mpi_refuses(void **state) {
    (void)state;
    if (sc_group_have_mpi()) skip(); /* the MPI build would start MPI: tested under mpirun */
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    sc_group *g = NULL;
    sc_error err;
    assert_int_equal(sc_group_create(NULL, NULL, &g, &err), SC_UNIMPLEMENTED);
    assert_null(g);
    assert_non_null(strstr(err.message, "built without MPI"));
    clear_env();
}

/* Two shards of an AUC, the second sent as flat state and added: equal to sc_metric_merge and
 * to the single pass, bit for bit. */
static void test_state_add(void **state) {
    (void)state;
    enum { B = 40 };
    float y[B], p[B];
    for (int i = 0; i < B; i++) {
        y[i] = (float)((i * 7) % 3 == 0);
        p[i] = (float)((i * 37) % 101) / 100.0f;
    }
    sc_metric_spec spec = sc_metric_default_spec("AUC");
    sc_metric *all, *a, *b, *m;
    sc_error err;
    assert_int_equal(sc_metric_create(&spec, &all, &err), SC_OK);
    assert_int_equal(sc_metric_create(&spec, &a, &err), SC_OK);
    assert_int_equal(sc_metric_create(&spec, &b, &err), SC_OK);
    assert_int_equal(sc_metric_create(&spec, &m, &err), SC_OK);
    sc_metric_batch mb;
    memset(&mb, 0, sizeof mb);
    mb.batch = B;
    mb.y_true = y;
    mb.y_pred = p;
    assert_int_equal(sc_metric_update(all, &mb, &err), SC_OK);
    mb.batch = 17;
    assert_int_equal(sc_metric_update(a, &mb, &err), SC_OK);
    assert_int_equal(sc_metric_update(m, &mb, &err), SC_OK);
    mb.batch = B - 17;
    mb.y_true = y + 17;
    mb.y_pred = p + 17;
    assert_int_equal(sc_metric_update(b, &mb, &err), SC_OK);
    size_t n = sc_metric_state_len(b);
    assert_int_equal(n, 4 * 200); /* tp, fp, tn, fn per threshold: 3.2 KB on the wire */
    float *flat = malloc(n * sizeof *flat);
    int64_t ne;
    sc_metric_state_get(b, flat, &ne);
    assert_int_equal(sc_metric_state_add(a, flat, n, ne, &err), SC_OK);
    assert_int_equal(sc_metric_merge(m, b, &err), SC_OK);
    double va, vm, vall;
    assert_int_equal(sc_metric_result(a, &va, &err), SC_OK);
    assert_int_equal(sc_metric_result(m, &vm, &err), SC_OK);
    assert_int_equal(sc_metric_result(all, &vall, &err), SC_OK);
    assert_true(va == vm && va == vall);
    assert_true(va > 0.0 && va < 1.0);
    assert_int_equal(sc_metric_state_add(a, flat, n - 1, 0, &err), SC_INVALID_ARGUMENT);
    free(flat);
    sc_metric_free(all);
    sc_metric_free(a);
    sc_metric_free(b);
    sc_metric_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_launch_size),
        cmocka_unit_test(test_group_of_one),
        cmocka_unit_test(test_without_mpi_refuses),
        cmocka_unit_test(test_state_add),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
