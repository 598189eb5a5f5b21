/* eval/group.c — joining and leaving the group (sidecar/group.h); the transport is in
 * group_mpi.c or group_nompi.c, the evaluator's protocol in group_eval.c. */
#include <stdlib.h>
#include <time.h>

#include "core/error.h"
#include "eval/group.h"

double sc_group_mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; MPICH's hydra, Slurm's srun --mpi=pmi2 and other
 * PMI launchers set PMI_SIZE. */
int sc_group_launch_size(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end == '\0' && n >= 1 && n <= 1 << 20) return (int)n;
        }
    }
    return 1;
}

sc_status sc_group_create(int *argc, char ***argv, sc_group **out, sc_error *err) {
    *out = NULL;
    sc_group *g = calloc(1, sizeof *g);
    if (!g) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    g->size = 1;
    g->timeout_s = 60;
    int n = sc_group_launch_size();
    if (n > 1) {
        sc_status s = sc_group_transport_init(g, argc, argv, n, err);
        if (s) {
            free(g);
            return s;
        }
    }
    *out = g;
    return SC_OK;
}

void sc_group_free(sc_group *g) {
    if (!g) return;
    sc_group_transport_fini(g);
    free(g);
}

void sc_group_interrupt(sc_group *g) {
    if (g) g->interrupted = SC_GROUP_TORN_DOWN;
}

void sc_group_interrupt_forwarded(sc_group *g) {
    if (g && !g->interrupted) g->interrupted = SC_GROUP_STOP_FORWARDED;
}

void sc_group_abandon(sc_group *g) {
    /* A stop from the launcher ends every rank anyway; aborting would only add noise. */
    if (g && g->size > 1 && !g->interrupted) g->broken = 1;
}

int sc_group_rank(const sc_group *g) { return g ? g->rank : 0; }
int sc_group_size(const sc_group *g) { return g ? g->size : 1; }

void sc_group_set_timeout(sc_group *g, double seconds) {
    if (g && seconds > 0) g->timeout_s = seconds;
}

void sc_group_traffic(const sc_group *g, uint64_t *sent, uint64_t *received, uint64_t *reductions) {
    *sent = g ? g->sent : 0;
    *received = g ? g->received : 0;
    *reductions = g ? g->reductions : 0;
}
