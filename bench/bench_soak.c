/* bench_soak — 10 000 evaluations of a small model in one process while a trainer writes and
 * deletes checkpoints (tf.train.CheckpointManager, max_to_keep=2), under LeakSanitizer (this
 * target links -fsanitize=leak: a leak fails the run at exit). Prints RSS and open file
 * descriptors after the first evaluation and at the end; exits 1 when descriptors grew or no
 * evaluation succeeded.
 *
 *   bench_soak [EVALUATIONS]      default 10000 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sidecar/checkpoint.h"
#include "sidecar/eval.h"
#include "sidecar/keras_weights.h"

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) v = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return v;
}

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

static void die(const char *what, const sc_error *err) {
    fprintf(stderr, "bench_soak: %s: %s\n", what, err ? err->message : "");
    exit(1);
}

static void quiet(void *user, const char *line) {
    (void)user;
    (void)line;
}

int main(int argc, char **argv) {
    long total = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    char trainer[4096], dir[] = "/tmp/sc_soak_XXXXXX";
    snprintf(trainer, sizeof trainer, "%s", argv[0]);
    char *slash = strrchr(trainer, '/');
    snprintf(slash ? slash + 1 : trainer,
             sizeof trainer - (slash ? (size_t)(slash + 1 - trainer) : 0), "sc_demo_trainer");
    if (!mkdtemp(dir)) die("mkdtemp", NULL);
    char data[4200], model[4200], ckpts[4200], cmd[16384];
    snprintf(data, sizeof data, "%s/eval.npz", dir);
    snprintf(model, sizeof model, "%s/model.json", dir);
    snprintf(ckpts, sizeof ckpts, "%s/ckpts", dir);
    snprintf(cmd, sizeof cmd,
             "'%s' --write-data '%s' --write-model '%s' --eval-samples 64 >/dev/null", trainer,
             data, model);
    if (system(cmd) != 0) die("the trainer cannot write data (build sc_demo_trainer)", NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(126);
        execl(trainer, trainer, "--out", ckpts, "--max-to-keep", "2", "--epochs", "100000",
              "--samples", "64", "--sleep-ms", "2", (char *)NULL);
        _exit(127);
    }

    sc_error err;
    sc_model *m;
    sc_dataset *ds;
    sc_loss *loss;
    sc_metric *acc;
    if (sc_model_load_keras(model, &m, &err)) die("model", &err);
    sc_dataset_params dp = sc_dataset_default_params();
    dp.path = data;
    dp.batch_size = 32;
    if (sc_dataset_open(&dp, &ds, &err)) die("data", &err);
    sc_loss_spec ls = sc_loss_default_spec("sparse_categorical_crossentropy");
    if (sc_loss_create(&ls, &loss, &err)) die("loss", &err);
    sc_metric_shapes ms = {2, 4, 1, 1};
    if (sc_metric_from_string("accuracy", &ms, "sparse_categorical_crossentropy", 2, &acc, &err))
        die("metric", &err);
    sc_eval_dataset ed = {.data = ds, .loss = loss, .metrics = &acc, .num_metrics = 1};
    sc_evaluator_params p = sc_evaluator_default_params();
    p.model = m;
    p.checkpoint_dir = ckpts;
    p.datasets = &ed;
    p.num_datasets = 1;
    p.log = quiet;
    p.retry_delay_ms = 1;
    sc_evaluator *ev;
    if (sc_evaluator_create(&p, &ev, &err)) die("evaluator", &err);

    long ok = 0, skipped = 0, rss0 = 0;
    int fds0 = 0;
    for (long i = 0; i < total; i++) {
        char *prefix = NULL;
        sc_status s = sc_latest_checkpoint(ckpts, &prefix, &err);
        if (s == SC_OK) s = sc_evaluator_evaluate(ev, prefix, &err);
        free(prefix);
        if (s == SC_OK) {
            ok++;
        } else if (s == SC_NOT_FOUND || s == SC_UNAVAILABLE || s == SC_DATA_LOSS) {
            skipped++; /* not written yet, or deleted by max_to_keep while read */
            usleep(1000);
        } else {
            die("evaluate", &err);
        }
        if (ok == 1 && !rss0) {
            rss0 = rss_kb();
            fds0 = open_fds();
            printf("  start (after the first evaluation): RSS %ld kB, open fds %d\n", rss0, fds0);
        }
    }
    long rss1 = rss_kb();
    int fds1 = open_fds();
    printf("  end (%ld evaluations, %ld skipped while written/deleted): RSS %ld kB, open fds %d\n",
           ok, skipped, rss1, fds1);
    printf("  ratio RSS end/start %.3f\n", rss0 > 0 ? (double)rss1 / (double)rss0 : 0.0);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    sc_evaluator_free(ev);
    sc_metric_free(acc);
    sc_loss_free(loss);
    sc_dataset_free(ds);
    sc_model_free(m);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_soak: could not remove %s\n", dir);
    if (ok == 0 || fds1 > fds0) {
        fprintf(stderr, "bench_soak: %s\n",
                ok == 0 ? "no evaluation succeeded" : "descriptors leaked");
        return 1;
    }
    return 0;
}
