/* eval/group_mpi.c — the group's transport over MPI (built when CMake finds MPI).
 *
 * Every wait is a poll (MPI_Test / MPI_Iprobe, then a 1 ms sleep) so that it can end at a
 * deadline or on a stop request: a blocking MPI call would hang forever on a dead or stuck rank
 * when the launcher does not clean up. Errors return (MPI_ERRORS_RETURN) instead of aborting
 * inside MPI, so the message can name the rank. */
#ifdef SC_HAVE_MPI
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "eval/group.h"

int sc_group_have_mpi(void) { return 1; }

static void nap(void) {
    struct timespec ts = {0, 1000000L};
    nanosleep(&ts, NULL);
}

static sc_status mpi_fail(sc_group *g, int rc, const char *what, int peer, sc_error *err) {
    char msg[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(rc, msg, &n) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", rc);
    g->broken = 1;
    return sc_error_set(err, SC_IO, "MPI rank %d: %s rank %d failed: %s", g->rank, what, peer, msg);
}

sc_status sc_group_transport_init(sc_group *g, int *argc, char ***argv, int launch_size,
                                  sc_error *err) {
    (void)launch_size;
    int provided = 0;
    int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS)
        return sc_error_set(err, SC_IO,
                            "MPI_Init failed (error %d): is this process started by "
                            "mpirun?",
                            rc);
    g->mpi = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g->size);
    return SC_OK;
}

/* Open MPI 4.1's mpirun, on SIGTERM/SIGINT: SIGCONT to every rank, sleep(T), SIGTERM, sleep(T),
 * SIGKILL (T = odls_base_sigkill_timeout, default 1 s), where each rank that exits interrupts
 * the sleep and only the whole seconds left are slept again: with T = 1 the first rank to exit
 * gets the others SIGKILLed at once. So rank 0, which writes the journal and TensorBoard, leaves
 * first: it tells every rank it is done, and the others wait for that before they exit (they
 * write nothing, so mpirun's SIGKILL overtaking them loses nothing). Bounded: a rank 0 that died
 * is not waited for beyond a few seconds. */
static void leave_rank0_first(sc_group *g) {
    static const char bye = 1;
    double deadline = sc_group_mono_now() + (g->rank == 0 ? 1.0 : 5.0);
    if (g->rank == 0) {
        for (int r = 1; r < g->size; r++) {
            MPI_Request req;
            int done = 0;
            if (MPI_Isend(&bye, 1, MPI_BYTE, r, SC_TAG_BYE, MPI_COMM_WORLD, &req) != MPI_SUCCESS)
                continue;
            while (MPI_Test(&req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done
                   && sc_group_mono_now() < deadline)
                nap();
            if (!done) MPI_Request_free(&req);
        }
        return;
    }
    for (int flag = 0; !flag && sc_group_mono_now() < deadline;) {
        if (MPI_Iprobe(0, SC_TAG_BYE, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return;
        if (!flag) nap();
    }
}

void sc_group_transport_fini(sc_group *g) {
    if (!g->mpi) return;
    /* sidecar/group.h: mpirun is ending the job */
    if (g->interrupted == SC_GROUP_TORN_DOWN && !g->broken) {
        leave_rank0_first(g);
        return;
    }
    if (g->broken)
        MPI_Abort(MPI_COMM_WORLD, 1); /* a peer may be stuck in a wait: end them all */
    else
        MPI_Finalize();
    g->mpi = 0;
}

/* Polls req until it completes, the deadline passes or stop is set. */
static sc_status wait_req(sc_group *g, MPI_Request *req, MPI_Status *st, const char *what, int peer,
                          double deadline, const atomic_int *stop, sc_error *err) {
    for (;;) {
        int done = 0;
        int rc = MPI_Test(req, &done, st);
        if (rc != MPI_SUCCESS) return mpi_fail(g, rc, what, peer, err);
        if (done) return SC_OK;
        /* A stop request, or the launcher ending the job (every rank was signalled and some may
         * have left already): waiting for them would only end in mpirun's SIGKILL. */
        if ((stop && atomic_load(stop)) || g->interrupted) {
            MPI_Cancel(req);
            MPI_Request_free(req);
            return sc_error_set(err, SC_ABORTED, "stopped");
        }
        if (deadline > 0 && sc_group_mono_now() > deadline) {
            MPI_Cancel(req);
            MPI_Request_free(req);
            g->broken = 1;
            return sc_error_set(err, SC_IO,
                                "rank %d did not answer rank %d within the group's bounded wait "
                                "(%s): it died or is stuck; stopping the group",
                                peer, g->rank, what);
        }
        nap();
    }
}

sc_status sc_group_send(sc_group *g, int to, int tag, const void *buf, size_t len, double deadline,
                        sc_error *err) {
    if (len > (size_t)0x7fffffff)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "group message of %zu bytes", len);
    MPI_Request req;
    int rc = MPI_Isend(buf, (int)len, MPI_BYTE, to, tag, MPI_COMM_WORLD, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(g, rc, "sending to", to, err);
    sc_status s = wait_req(g, &req, MPI_STATUS_IGNORE, "sending to it", to,
                           deadline > 0 ? deadline : sc_group_mono_now() + g->timeout_s, NULL, err);
    if (s == SC_OK) g->sent += len;
    return s;
}

sc_status sc_group_probe(sc_group *g, int from, int tag, size_t *len, double deadline,
                         const atomic_int *stop, sc_error *err) {
    for (;;) {
        int flag = 0;
        MPI_Status st;
        int rc = MPI_Iprobe(from, tag, MPI_COMM_WORLD, &flag, &st);
        if (rc != MPI_SUCCESS) return mpi_fail(g, rc, "probing", from, err);
        if (flag) {
            int n = 0;
            MPI_Get_count(&st, MPI_BYTE, &n);
            *len = (size_t)n;
            return SC_OK;
        }
        if ((stop && atomic_load(stop)) || g->interrupted)
            return sc_error_set(err, SC_ABORTED, "stopped");
        if (deadline > 0 && sc_group_mono_now() > deadline) {
            g->broken = 1;
            return sc_error_set(err, SC_IO,
                                "rank %d did not report to rank %d within the group's bounded "
                                "wait: it died or is stuck; stopping the group",
                                from, g->rank);
        }
        nap();
    }
}

sc_status sc_group_recv(sc_group *g, int from, int tag, void *buf, size_t cap, size_t *len,
                        double deadline, const atomic_int *stop, sc_error *err) {
    size_t n;
    sc_status s = sc_group_probe(g, from, tag, &n, deadline, stop, err);
    if (s) return s;
    if (n > cap) {
        g->broken = 1;
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "rank %d sent a message of %zu bytes (tag %d), at most %zu expected: "
                            "do all ranks run the same sidecar with the same options?",
                            from, n, tag, cap);
    }
    MPI_Request req;
    MPI_Status st;
    int rc = MPI_Irecv(buf, (int)n, MPI_BYTE, from, tag, MPI_COMM_WORLD, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(g, rc, "receiving from", from, err);
    /* The message is there (probed): the receive completes without waiting for the peer. */
    if ((s = wait_req(g, &req, &st, "receiving from it", from, 0, NULL, err))) return s;
    *len = n;
    g->received += n;
    return SC_OK;
}
#endif
