/* Labels of the wrong kind for a loss or metric name it and suggest the other form: one-hot
 * labels with a sparse loss, one class index per example with a categorical one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/metrics.h"
#include "unit/metrics_testutil.h"

static void expect_loss_error(const char *loss, tbatch *t, const char *who, const char *hint) {
    sc_loss_spec s = sc_loss_default_spec(loss);
    sc_loss *l = NULL;
    sc_error e;
    assert_int_equal(sc_loss_create(&s, &l, &e), SC_OK);
    float v;
    sc_status st = sc_loss_compute(l, &t->b, &v, &e);
    sc_loss_free(l);
    if (st != SC_INVALID_ARGUMENT) fail_msg("%s: status %d", loss, st);
    if (!strstr(e.message, who) || !strstr(e.message, hint))
        fail_msg("%s: '%s' should name '%s' and suggest '%s'", loss, e.message, who, hint);
}

static void test_hints(void **state) {
    (void)state;
    const float onehot[2 * 3] = {0, 1, 0, 1, 0, 0}, sparse[2] = {1, 0};
    const float p[2 * 3] = {0.2f, 0.7f, 0.1f, 0.5f, 0.3f, 0.2f};
    tbatch t;
    tb_init(&t, 2, onehot, 1, 3, 0, p, 1, 3, 0, NULL);
    expect_loss_error("sparse_categorical_crossentropy", &t, "SparseCategoricalCrossentropy",
                      "categorical_crossentropy");
    tb_init(&t, 2, sparse, 0, 0, 0, p, 1, 3, 0, NULL);
    expect_loss_error("categorical_crossentropy", &t, "CategoricalCrossentropy",
                      "use sparse_categorical_crossentropy");
    tb_init(&t, 2, sparse, 1, 1, 0, p, 1, 3, 0, NULL); /* labels [B, 1] */
    expect_loss_error("categorical_crossentropy", &t, "CategoricalCrossentropy",
                      "use sparse_categorical_crossentropy");
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hints)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
