/* bench_rss — the evaluator's memory beyond the model's weights and the batch buffers.
 *
 * Writes 5 checkpoints of the MLP 784-512(relu)-10 and a TFRecord eval set of 4096 examples,
 * then runs the evaluator over all checkpoints (journal, TensorBoard, export) and reads the
 * process's peak RSS (VmHWM). Reference measured in the same run: the process's RSS just before
 * the evaluator is created (libraries loaded, data files written, nothing of ours allocated).
 * Printed: peak - reference, the part of it that is weights + activations + batch buffers
 * (counted from the sizes), and the rest: sidecar's own overhead (target < 10 MB). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/pb.h"
#include "sidecar/data.h"
#include "sidecar/eval.h"

#define IN     784
#define HID    512
#define OUT    10
#define N_EX   4096
#define BATCH  256
#define N_CKPT 5

static long status_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n)) v = strtol(line + n + 1, NULL, 10);
    if (f) fclose(f);
    return v;
}

static void die(const char *what, const sc_error *err) {
    fprintf(stderr, "bench_rss: %s: %s\n", what, err->message);
    exit(1);
}

static const char *k_model =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"mlp\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 784], \"name\": "
    "\"x\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 512, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"units\": 10, "
    "\"activation\": \"softmax\"}}]},"
    " \"keras_version\": \"2.15.0\"}";

int main(void) {
    char dir[] = "/tmp/sc_bench_rss_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char ck[256], data[256], logs[256], exportd[256];
    snprintf(ck, sizeof ck, "%s/ckpts", dir);
    snprintf(data, sizeof data, "%s/eval.tfrecord", dir);
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(exportd, sizeof exportd, "%s/best", dir);
    sc_error err;

    /* Checkpoints. */
    float *w0 = malloc(sizeof(float) * IN * HID), *w1 = malloc(sizeof(float) * HID * OUT);
    float b0[HID] = {0}, b1[OUT] = {0};
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", ck);
    if (system(cmd)) return 1;
    for (int c = 1; c <= N_CKPT; c++) {
        bench_fill(w0, sizeof(float) * IN * HID, (uint64_t)c);
        bench_fill(w1, sizeof(float) * HID * OUT, (uint64_t)c + 100);
        for (size_t i = 0; i < IN * HID; i++) w0[i] = ((int32_t)((uint32_t *)w0)[i] >> 8) * 1e-9f;
        for (size_t i = 0; i < HID * OUT; i++) w1[i] = ((int32_t)((uint32_t *)w1)[i] >> 8) * 1e-8f;
        char prefix[300];
        snprintf(prefix, sizeof prefix, "%s/ckpt-%d", ck, c);
        sc_bundle_writer *w;
        const int64_t s0[2] = {IN, HID}, s1[1] = {HID}, s2[2] = {HID, OUT}, s3[1] = {OUT};
        int64_t step = 100 * c;
        if (sc_bundle_writer_create(prefix, NULL, &w, &err)
            || sc_bundle_writer_add(w,
                                    "model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
                                    SC_DT_FLOAT, 2, s0, w0, sizeof(float) * IN * HID, 0, &err)
            || sc_bundle_writer_add(w, "model/layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE",
                                    SC_DT_FLOAT, 1, s1, b0, sizeof b0, 0, &err)
            || sc_bundle_writer_add(w,
                                    "model/layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE",
                                    SC_DT_FLOAT, 2, s2, w1, sizeof(float) * HID * OUT, 0, &err)
            || sc_bundle_writer_add(w, "model/layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE",
                                    SC_DT_FLOAT, 1, s3, b1, sizeof b1, 0, &err)
            || sc_bundle_writer_add(w, "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE",
                                    SC_DT_INT64, 0, NULL, &step, 8, 0, &err)
            || sc_bundle_writer_finish(w, &err))
            die("writing a checkpoint", &err);
        sc_bundle_writer_free(w);
    }
    free(w0);
    free(w1);
    sc_ckpt_state st = {0};
    char *paths[N_CKPT];
    char names[N_CKPT][16];
    for (int c = 0; c < N_CKPT; c++) {
        snprintf(names[c], sizeof names[c], "ckpt-%d", c + 1);
        paths[c] = names[c];
    }
    st.model_checkpoint_path = names[N_CKPT - 1];
    st.all_model_checkpoint_paths = paths;
    st.num_paths = N_CKPT;
    if (sc_ckpt_state_write(ck, &st, &err)) die("state file", &err);

    /* Eval data: Examples {x: float_list[784], y: int64_list[1]}. */
    sc_tfrecord_writer *tw;
    if (sc_tfrecord_writer_create(data, SC_COMPRESSION_NONE, &tw, &err)) die("tfrecord", &err);
    float x[IN];
    for (int e = 0; e < N_EX; e++) {
        bench_fill(x, sizeof x, (uint64_t)e + 7);
        for (int i = 0; i < IN; i++) x[i] = (float)(((uint32_t *)x)[i] % 1000) / 1000.0f;
        sc_pb_buf ex = {0};
        size_t feats = sc_pb_begin_sub(&ex, 1);
        size_t ent = sc_pb_begin_sub(&ex, 1);
        sc_pb_put_str(&ex, 1, "x");
        size_t fe = sc_pb_begin_sub(&ex, 2);
        size_t fl = sc_pb_begin_sub(&ex, 2);
        sc_pb_put_lenfield(&ex, 1, x, sizeof x);
        sc_pb_end_sub(&ex, fl);
        sc_pb_end_sub(&ex, fe);
        sc_pb_end_sub(&ex, ent);
        ent = sc_pb_begin_sub(&ex, 1);
        sc_pb_put_str(&ex, 1, "y");
        fe = sc_pb_begin_sub(&ex, 2);
        size_t il = sc_pb_begin_sub(&ex, 3);
        sc_pb_put_uint(&ex, 1, (uint64_t)(e % OUT));
        sc_pb_end_sub(&ex, il);
        sc_pb_end_sub(&ex, fe);
        sc_pb_end_sub(&ex, ent);
        sc_pb_end_sub(&ex, feats);
        if (ex.failed || sc_tfrecord_writer_write(tw, ex.data, ex.len, &err)) die("example", &err);
        sc_pb_buf_free(&ex);
    }
    if (sc_tfrecord_writer_close(tw, &err)) die("tfrecord close", &err);
    sc_tfrecord_writer_free(tw);

    long ref_kb = status_kb("VmRSS");
    sc_model *m;
    if (sc_model_load_keras_json(k_model, strlen(k_model), "mlp", &m, &err)) die("model", &err);
    sc_dataset_params dp = sc_dataset_default_params();
    dp.path = data;
    dp.batch_size = BATCH;
    dp.inputs[0].shape.rank = 1;
    dp.inputs[0].shape.dims[0] = IN;
    sc_dataset *ds;
    if (sc_dataset_open(&dp, &ds, &err)) die("dataset", &err);
    sc_loss_spec ls = sc_loss_default_spec("sparse_categorical_crossentropy");
    sc_loss *loss;
    sc_metric *acc;
    sc_metric_shapes ms = {2, OUT, 2, 1};
    if (sc_loss_create(&ls, &loss, &err)
        || sc_metric_from_string("accuracy", &ms, "sparse_categorical_crossentropy", 2, &acc, &err))
        die("metrics", &err);
    sc_eval_dataset eds = {.data = ds, .loss = loss, .metrics = &acc, .num_metrics = 1};
    sc_evaluator_params p = sc_evaluator_default_params();
    p.model = m;
    p.checkpoint_dir = ck;
    p.datasets = &eds;
    p.num_datasets = 1;
    p.max_batch = BATCH;
    p.every = 1;
    p.max_evaluations = N_CKPT;
    p.logdir = logs;
    p.export_dir = exportd;
    p.log = NULL;
    sc_evaluator *ev;
    if (sc_evaluator_create(&p, &ev, &err)) die("evaluator", &err);
    double t0 = bench_now();
    if (sc_evaluator_start(ev, &err)) die("run", &err);
    double t1 = bench_now();
    long peak_kb = status_kb("VmHWM");

    double weights = (double)(IN * HID + HID + HID * OUT + OUT) * 4;
    double act = (double)BATCH * (HID + OUT) * 4 * 2; /* arena + logits copy, upper bound */
    double batches = 2.0 * BATCH * (IN + 1) * 4;      /* two batch buffers (prefetch) */
    double ours = weights + act + batches;
    double grown = (double)(peak_kb - ref_kb) * 1024;
    printf("bench_rss: %d evaluations of MLP 784-512-10 on %d TFRecord examples, batch %d, in %.2f "
           "s\n",
           N_CKPT, N_EX, BATCH, t1 - t0);
    printf("  reference RSS before the evaluator: %.1f MB; peak RSS: %.1f MB\n", ref_kb / 1024.0,
           peak_kb / 1024.0);
    printf("  growth %.1f MB = weights %.1f MB + activations/logits %.1f MB + batch buffers %.1f MB"
           " + overhead %.1f MB (target < 10 MB)\n",
           grown / 1048576, weights / 1048576, act / 1048576, batches / 1048576,
           (grown - ours) / 1048576);
    sc_evaluator_free(ev);
    sc_metric_free(acc);
    sc_loss_free(loss);
    sc_dataset_free(ds);
    sc_model_free(m);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) ? 1 : 0;
}
