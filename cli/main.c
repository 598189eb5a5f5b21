/* cli/main.c — `sidecar <command> ...`: subcommand dispatch, --help and --version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sidecar/version.h"

/* OpenMP workers sleep between parallel regions instead of spinning: sidecar runs beside a
 * training job, and on contended cores spinning workers take the trainer's CPU and stall on each
 * other (README "Threads beside a trainer" has the figures). libgomp reads OMP_WAIT_POLICY once,
 * in its own initialiser, before main and after anything main or .preinit_array could set (libc's
 * initialiser resets environ), so when the user has not chosen a policy the command sets
 * "passive" and executes itself again, once. A failed exec keeps libgomp's default. */
static void omp_wait_policy_default(char **argv) {
    if (getenv("OMP_WAIT_POLICY")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 0) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OMP_WAIT_POLICY"); /* not re-executed: say nothing this process does not do */
}

static void usage(FILE *f) {
    fputs(
        "usage: sidecar <command> [options]\n"
        "\n"
        "Commands:\n"
        "  inspect PATH [--model MODEL] [--values N] [--json]\n"
        "                  list a checkpoint's tensors, layout and step (and its binding to a "
        "model)\n"
        "  eval CKPT --model MODEL --data DATA ...\n"
        "                  evaluate one checkpoint, like model.evaluate\n"
        "  run --checkpoint-dir DIR --model MODEL --data DATA ...\n"
        "                  evaluate each new checkpoint as training writes it (SidecarEvaluator)\n"
        "  report LOGDIR [-o FILE.html]\n"
        "                  the curves of TensorBoard event files as one self-contained HTML page\n"
        "\n"
        "Options:\n"
        "  -h, --help   show this help; 'sidecar <command> --help' shows a command's help\n"
        "  --version    show the version\n",
        f);
}

static int usage_error(const char *what, const char *arg) {
    fprintf(stderr, "sidecar: %s '%s'\n", what, arg);
    fputs("usage: sidecar <command> [options]   (commands: inspect, eval, run, report)\n"
          "Run 'sidecar --help' for details.\n",
          stderr);
    return CLI_EXIT_USAGE;
}

int main(int argc, char **argv) {
    omp_wait_policy_default(argv);
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        if (!strcmp(cmd, "help") && argc > 2 && !strcmp(argv[2], "inspect"))
            cli_inspect_usage(stdout);
        else if (!strcmp(cmd, "help") && argc > 2 && !strcmp(argv[2], "eval"))
            cli_run_usage(stdout, 0);
        else if (!strcmp(cmd, "help") && argc > 2 && !strcmp(argv[2], "run"))
            cli_run_usage(stdout, 1);
        else if (!strcmp(cmd, "help") && argc > 2 && !strcmp(argv[2], "report"))
            cli_report_usage(stdout);
        else
            usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("sidecar %s\n", sc_version());
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "inspect")) return cli_inspect_main(argc - 1, argv + 1);
    if (cmd[0] == '-') return usage_error("unknown option", cmd);
    if (!strcmp(cmd, "eval")) return cli_run_main(argc - 1, argv + 1, 0);
    if (!strcmp(cmd, "run")) return cli_run_main(argc - 1, argv + 1, 1);
    if (!strcmp(cmd, "report")) return cli_report_main(argc - 1, argv + 1);
    return usage_error("unknown command", cmd);
}
