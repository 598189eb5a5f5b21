/* eval/group_nompi.c — the group's transport in a build without MPI: a group of one. Launched
 * with several processes, create refuses (sidecar/group.h) so that they do not each evaluate
 * everything and write the same journal. */
#ifndef SC_HAVE_MPI
#include "core/error.h"
#include "eval/group.h"

int sc_group_have_mpi(void) { return 0; }

sc_status sc_group_transport_init(sc_group *g, int *argc, char ***argv, int launch_size,
                                  sc_error *err) {
    (void)g;
    (void)argc;
    (void)argv;
    return sc_error_set(err, SC_UNIMPLEMENTED,
                        "launched as one of %d processes (mpirun -n %d), but this sidecar was "
                        "built without MPI (libopenmpi-dev was not found when it was configured): "
                        "each process would evaluate everything alone. Install libopenmpi-dev "
                        "(scripts/install-deps) and rebuild, or run one process.",
                        launch_size, launch_size);
}

void sc_group_transport_fini(sc_group *g) { (void)g; }

static sc_status alone(sc_group *g, int peer, sc_error *err) {
    return sc_error_set(err, SC_UNIMPLEMENTED, "rank %d: no rank %d in a group of one (no MPI)",
                        g->rank, peer);
}

sc_status sc_group_send(sc_group *g, int to, int tag, const void *buf, size_t len, double deadline,
                        sc_error *err) {
    (void)tag, (void)buf, (void)len, (void)deadline;
    return alone(g, to, err);
}

sc_status sc_group_probe(sc_group *g, int from, int tag, size_t *len, double deadline,
                         const atomic_int *stop, sc_error *err) {
    (void)tag, (void)len, (void)deadline, (void)stop;
    return alone(g, from, err);
}

sc_status sc_group_recv(sc_group *g, int from, int tag, void *buf, size_t cap, size_t *len,
                        double deadline, const atomic_int *stop, sc_error *err) {
    (void)tag, (void)buf, (void)cap, (void)len, (void)deadline, (void)stop;
    return alone(g, from, err);
}
#endif
