/* cli/report.c — `sidecar report LOGDIR [-o FILE.html]`: the curves of a log directory as one
 * self-contained HTML page (sidecar/report.h). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sidecar/report.h"

static const char k_usage[] =
    "usage: sidecar report LOGDIR [-o FILE.html] [--monitor M] [--mode min|max|auto]\n"
    "                      [--max-points N] [--title TEXT] [--refresh SECS] [--json]\n";

static const char k_help[] =
    "\nReads every run under LOGDIR (each directory holding TensorBoard event files: sidecar's\n"
    "validation*/ with its results journal, a Keras TensorBoard callback's train/ and\n"
    "validation/, ...) and writes one self-contained HTML page: a chart per scalar tag, runs\n"
    "overlaid, the best checkpoint marked, a table of latest and best values. No network, no\n"
    "external script or font: open it offline or attach it to a bug report.\n"
    "\n"
    "  -o, --output FILE  the page (default LOGDIR/report.html); replaced atomically\n"
    "  --monitor M        metric whose best point is marked (default loss): matches the tags\n"
    "                     M, evaluation_M_vs_iterations and epoch_M\n"
    "  --mode min|max|auto  best is the lowest / highest; auto (default) as `run --mode auto`:\n"
    "                     max for names holding acc, auc, precision, recall, f1, fbeta, iou,\n"
    "                     top_k or r2, min for the rest\n"
    "  --max-points N     at most N points per run and chart (default 1000, as TensorBoard);\n"
    "                     fewer when the page would hold more than 30000 in all\n"
    "  --title TEXT       the page's title\n"
    "  --refresh SECS     the page reloads itself every SECS seconds (for a run in progress)\n"
    "  --json             print {\"output\",\"runs\",\"charts\",\"series\",\"points_read\",\n"
    "                     \"points_drawn\",\"bytes\",\"warnings\"} on stdout\n"
    "  -h, --help         this help\n"
    "\n"
    "A corrupt or truncated event file is read up to the bad record, with a warning on stderr\n"
    "naming it. Exit status: 0 success; 1 input error; 2 usage error.\n";

void cli_report_usage(FILE *f) {
    fputs(k_usage, f);
    fputs(k_help, f);
}

static int usage_error(const char *fmt, const char *arg) {
    fputs("sidecar: report: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(k_usage, stderr);
    fputs("Run 'sidecar report --help' for details.\n", stderr);
    return CLI_EXIT_USAGE;
}

static void warn(void *user, const char *msg) {
    (void)user;
    fprintf(stderr, "sidecar: warning: %s\n", msg);
}

int cli_report_main(int argc, char **argv) {
    enum { OPT_MONITOR = 256, OPT_MODE, OPT_MAX_POINTS, OPT_TITLE, OPT_REFRESH, OPT_JSON };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"monitor", required_argument, NULL, OPT_MONITOR},
        {"mode", required_argument, NULL, OPT_MODE},
        {"max-points", required_argument, NULL, OPT_MAX_POINTS},
        {"title", required_argument, NULL, OPT_TITLE},
        {"refresh", required_argument, NULL, OPT_REFRESH},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sc_report_params p = sc_report_default_params();
    p.warn = warn;
    const char *out = NULL;
    int json = 0;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': cli_report_usage(stdout); return CLI_EXIT_OK;
        case OPT_MONITOR:
            if (!*optarg) return usage_error("--monitor expects a metric name%s", "");
            p.monitor = optarg;
            break;
        case OPT_MODE:
            if (!strcmp(optarg, "min"))
                p.mode = SC_REPORT_MIN;
            else if (!strcmp(optarg, "max"))
                p.mode = SC_REPORT_MAX;
            else if (!strcmp(optarg, "auto"))
                p.mode = SC_REPORT_AUTO;
            else
                return usage_error("--mode expects min, max or auto, got '%s'", optarg);
            break;
        case OPT_MAX_POINTS: {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 2 || v > 1000000)
                return usage_error("--max-points expects an integer from 2 to 1000000, got '%s'",
                                   optarg);
            p.max_points = (size_t)v;
            break;
        }
        case OPT_TITLE: p.title = optarg; break;
        case OPT_REFRESH: {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > 86400)
                return usage_error("--refresh expects seconds from 1 to 86400, got '%s'", optarg);
            p.refresh_s = (int)v;
            break;
        }
        case OPT_JSON: json = 1; break;
        case ':': return usage_error("%s needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return usage_error("missing LOGDIR%s", "");
    if (optind + 1 < argc) return usage_error("unexpected argument '%s'", argv[optind + 1]);
    const char *logdir = argv[optind];
    char *def = NULL;
    if (!out) {
        size_t n = strlen(logdir) + sizeof "/report.html";
        if (!(def = malloc(n))) return CLI_EXIT_INPUT;
        snprintf(def, n, "%s/report.html", logdir);
        out = def;
    }
    sc_error err;
    sc_error_clear(&err);
    sc_report_stats st;
    sc_status s = sc_report_write(logdir, out, &p, &st, &err);
    int code = CLI_EXIT_OK;
    if (s) {
        cli_report_error(&err, s);
        code = CLI_EXIT_INPUT;
    } else if (json) {
        fputs("{\"output\":", stdout);
        cli_json_string(stdout, out);
        printf(",\"runs\":%zu,\"charts\":%zu,\"series\":%zu,\"points_read\":%llu,"
               "\"points_drawn\":%llu,\"bytes\":%zu,\"warnings\":%zu}\n",
               st.runs, st.charts, st.series, (unsigned long long)st.points_read,
               (unsigned long long)st.points_drawn, st.bytes, st.warnings);
    } else {
        printf("%s: %zu run%s, %zu chart%s, %llu points (%llu drawn), %zu bytes\n", out, st.runs,
               st.runs == 1 ? "" : "s", st.charts, st.charts == 1 ? "" : "s",
               (unsigned long long)st.points_read, (unsigned long long)st.points_drawn, st.bytes);
    }
    free(def);
    return code;
}
