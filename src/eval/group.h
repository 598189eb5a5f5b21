/* eval/group.h — the group's transport (MPI or none) and the evaluator's protocol over it.
 * Internal. group_mpi.c / group_nompi.c implement the transport (one of them is compiled in,
 * by SC_HAVE_MPI); group.c is the protocol, the same for both. */
#ifndef SC_EVAL_GROUP_H
#define SC_EVAL_GROUP_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sidecar/group.h"

struct sc_group {
    int rank, size;
    int mpi;    /* MPI was initialised by create */
    int broken; /* a wait timed out or a rank failed: free aborts instead of finalising */
    volatile sig_atomic_t interrupted; /* 0, or how the launcher stopped the job (below) */
    double timeout_s;
    uint64_t sent, received, reductions;
};

/* g->interrupted: SIGTERM/SIGINT (mpirun tears the job down: free just leaves) or a stop
 * forwarded by a launcher that keeps running (SIGUSR1: free finalises). */
enum { SC_GROUP_TORN_DOWN = 1, SC_GROUP_STOP_FORWARDED = 2 };

/* Message tags: one kind of message per tag, so a late message never matches another kind. */
enum { SC_TAG_CMD = 1, SC_TAG_VOTE = 2, SC_TAG_DECIDE = 3, SC_TAG_STATE = 4, SC_TAG_BYE = 5 };

double sc_group_mono_now(void);

/* Sends len bytes to rank `to`; waits for the send to complete (a large message waits for the
 * receiver) until deadline (CLOCK_MONOTONIC seconds; <= 0: g->timeout_s from now).
 * SC_IO naming the rank when it did not take the message in time (a dead or stuck rank
 * is not a checkpoint to skip: it ends the run). */
sc_status sc_group_send(sc_group *g, int to, int tag, const void *buf, size_t len, double deadline,
                        sc_error *err);

/* Receives one message of at most cap bytes from rank `from` into buf (*len its size).
 * deadline: CLOCK_MONOTONIC seconds (sc_group_mono_now), <= 0 for none. stop (may be NULL) is
 * polled: SC_ABORTED when it is set. SC_IO naming the rank at the deadline;
 * SC_INVALID_ARGUMENT when the message is larger than cap. */
sc_status sc_group_recv(sc_group *g, int from, int tag, void *buf, size_t cap, size_t *len,
                        double deadline, const atomic_int *stop, sc_error *err);

/* Size of the message waiting from `from` with tag (blocking until one arrives or the deadline,
 * like recv), so that the caller can size its buffer. */
sc_status sc_group_probe(sc_group *g, int from, int tag, size_t *len, double deadline,
                         const atomic_int *stop, sc_error *err);

/* Transport-specific create/free parts. */
sc_status sc_group_transport_init(sc_group *g, int *argc, char ***argv, int launch_size,
                                  sc_error *err);
void sc_group_transport_fini(sc_group *g);

#endif
