/* sidecar/group.h — a group of evaluator processes (MPI ranks) sharing each evaluation.
 *
 *   sc_group *g; sc_group_create(&argc, &argv, &g, &err);   // before anything else reads argv
 *   p.group = g;                                            // sc_evaluator_params
 *   dp.num_shards = sc_group_size(g); dp.shard_index = sc_group_rank(g);   // sc_dataset_params
 *   ... sc_evaluator_start / sc_evaluator_evaluate on every rank ...
 *   sc_group_free(g);                                        // MPI_Finalize (MPI_Abort if broken)
 *
 * Launched by mpirun (OMPI_COMM_WORLD_SIZE) or a PMI launcher (PMI_SIZE) with more than one
 * process, create initialises MPI and the group is the world communicator. Otherwise (no
 * launcher, or one process) MPI is not touched and the group is this process alone: everything
 * behaves as without a group. A build without MPI (libopenmpi-dev absent at configure) returns
 * SC_UNIMPLEMENTED from create when launched with more than one process, saying so, instead of
 * letting N processes each evaluate everything.
 *
 * Roles (what sc_evaluator does with a group of N > 1, README "Several processes"): rank 0 owns
 * the watch, the stop rule, the hint, the journal, TensorBoard, the best-model export and the log
 * lines; it sends every rank the checkpoint to evaluate and the stop. Every rank restores the
 * same checkpoint (CRCs verified) and they agree to go on, retry or skip it together. Each rank
 * evaluates its shard of the data; the loss and metric states are summed on rank 0 in rank
 * order. Batch callbacks run on the rank that owns the batch, with that rank's running logs;
 * on_test_begin and on_test_end run on rank 0 only, on_test_end with the merged logs.
 *
 * Waits are bounded: rank 0 waits for a rank's answer at most max(timeout, 3 x its own time for
 * the same work) and then ends the run with a message naming the rank; a broken group is ended
 * with MPI_Abort by sc_group_free so that no rank hangs.
 */
#ifndef SIDECAR_GROUP_H
#define SIDECAR_GROUP_H

#include <stdint.h>

#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_group sc_group;

/* The number of processes the launcher started (OMPI_COMM_WORLD_SIZE, PMI_SIZE), 1 without one.
 * What create uses to decide whether to start MPI. */
int sc_group_launch_size(void);

/* 1 when this build links MPI. */
int sc_group_have_mpi(void);

/* Joins the group (see above). argc/argv may be NULL. SC_UNIMPLEMENTED: launched with N > 1
 * but built without MPI; SC_IO: MPI failed to start. */
sc_status sc_group_create(int *argc, char ***argv, sc_group **out, sc_error *err);
/* Leaves the group: MPI_Finalize, or MPI_Abort when a wait timed out or a rank failed
 * (the other ranks may be stuck). NULL is fine. */
void sc_group_free(sc_group *g);

/* Marks the group broken: this process failed outside the evaluator (e.g. its data did not
 * open), so the others would wait for it in vain; sc_group_free then ends them all. */
void sc_group_abandon(sc_group *g);

/* From a SIGTERM/SIGINT handler (async-signal-safe): the launcher is ending the job. mpirun
 * forwards the signal to every rank and then tears the job down, so sc_group_free leaves without
 * MPI_Finalize (which would wait for the departed launcher until it kills the rank); the rank's
 * outputs are complete before that. */
void sc_group_interrupt(sc_group *g);

/* From a SIGUSR1 handler (async-signal-safe): a stop the launcher forwarded to every rank at
 * once while it keeps running (Open MPI's mpirun forwards SIGUSR1/SIGUSR2). The waits end as
 * for sc_group_interrupt, but sc_group_free finalises as after a normal end, so every rank
 * exits 0 and so does mpirun. */
void sc_group_interrupt_forwarded(sc_group *g);

int sc_group_rank(const sc_group *g); /* 0 for NULL */
int sc_group_size(const sc_group *g); /* 1 for NULL */

/* Seconds every wait for another rank lasts at least (default 60); see above. */
void sc_group_set_timeout(sc_group *g, double seconds);

/* Bytes this process sent to and received from the other ranks so far, and the number of
 * evaluations (checkpoint x dataset reductions) they were spent on. */
void sc_group_traffic(const sc_group *g, uint64_t *sent, uint64_t *received, uint64_t *reductions);

#ifdef __cplusplus
}
#endif
#endif
