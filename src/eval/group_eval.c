/* eval/group_eval.c — the evaluator's protocol in a group of N > 1 ranks (sidecar/group.h).
 *
 * Messages, all point-to-point between rank 0 and each other rank, one tag per kind:
 *   CMD     0 -> r   evaluate this checkpoint / stop            (`run` only; `eval` knows its path)
 *   VOTE    r -> 0   my restore's status and message
 *   DECIDE  0 -> r   go / retry / skip / fail (with the message naming the failing rank); after a
 *                    reduction: go on, or the group failed
 *   STATE   r -> 0   per dataset: status, loss sums, every metric's additive state
 * Rank 0 adds the states in rank order, so the merged numbers do not depend on timing. Every
 * wait is bounded (group_mpi.c): rank 0 waits for a rank max(timeout, 3 x its own time for the
 * same work); the others wait for rank 0 ten times that, since rank 0 also waits for the
 * slowest rank. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "eval/eval_internal.h"
#include "eval/group.h"
#include "metrics/metrics_internal.h"

enum { CMD_EVAL = 1, CMD_STOP = 2 };
enum { DEC_GO = 1, DEC_RETRY = 2, DEC_SKIP = 3, DEC_FAIL = 4 };

typedef struct msg {
    int32_t op;
    int32_t status;
    char text[4096 + 600]; /* a path, or a message naming the rank */
} msg;

int sc_eval_group_active(const sc_evaluator *ev) { return ev->p.group && ev->p.group->size > 1; }
int sc_eval_is_root(const sc_evaluator *ev) { return !ev->p.group || ev->p.group->rank == 0; }

static sc_status send_msg(sc_group *g, int to, int tag, int op, int status, const char *text,
                          sc_error *err) {
    msg m;
    m.op = op;
    m.status = status;
    snprintf(m.text, sizeof m.text, "%s", text ? text : "");
    return sc_group_send(g, to, tag, &m, offsetof(msg, text) + strlen(m.text) + 1, 0, err);
}

static sc_status recv_msg(sc_group *g, int from, int tag, msg *m, double deadline,
                          const atomic_int *stop, sc_error *err) {
    size_t len = 0;
    sc_status s = sc_group_recv(g, from, tag, m, sizeof *m - 1, &len, deadline, stop, err);
    if (s) return s;
    if (len <= offsetof(msg, text)) {
        g->broken = 1;
        return sc_error_set(err, SC_INVALID_ARGUMENT, "rank %d sent a %zu-byte message (tag %d)",
                            from, len, tag);
    }
    ((char *)m)[len] = '\0';
    return SC_OK;
}

/* How long rank 0 waits for the others after doing the same work itself in own_s seconds. */
static double root_deadline(const sc_evaluator *ev, double own_s) {
    double t = ev->p.group->timeout_s;
    return sc_group_mono_now() + (3 * own_s > t ? 3 * own_s : t);
}
static double member_deadline(const sc_evaluator *ev, double own_s) {
    double t = ev->p.group->timeout_s;
    return sc_group_mono_now() + 10 * (own_s > t ? own_s : t);
}

sc_status sc_eval_group_command(sc_evaluator *ev, const sc_ckpt_ref *ref, sc_error *err) {
    sc_group *g = ev->p.group;
    /* Interrupted: the launcher signalled every rank, which may have left already. */
    if (!sc_eval_group_active(ev) || !sc_eval_is_root(ev) || g->broken || g->interrupted)
        return SC_OK;
    /* The kind goes with the path: the others take rank 0's reference as it is, without
     * resolving the path again (by then max_to_keep may have deleted it; the restore then
     * votes "unavailable" and the group skips it together, as rank 0 alone would). */
    for (int r = 1; r < g->size; r++) {
        sc_status s = send_msg(g, r, SC_TAG_CMD, ref ? CMD_EVAL : CMD_STOP,
                               ref ? (int)ref->kind : 0, ref ? ref->path : NULL, err);
        if (s) return s;
    }
    return SC_OK;
}

sc_status sc_eval_group_follow(sc_evaluator *ev, sc_error *err) {
    sc_group *g = ev->p.group;
    msg m;
    for (;;) {
        /* Idle until rank 0 has a checkpoint: no deadline (the launcher ends us if rank 0
         * dies); a stop request (SIGTERM forwarded by mpirun) ends the wait. */
        sc_status s = recv_msg(g, 0, SC_TAG_CMD, &m, 0, &ev->stop, err);
        if (s == SC_ABORTED) return SC_OK;
        if (s) return s;
        if (m.op == CMD_STOP) return SC_OK;
        sc_error e2;
        sc_error_clear(&e2);
        ev->group_failed = 0;
        if (m.status > SC_CKPT_NONE && m.status <= SC_CKPT_SAFETENSORS) {
            sc_ckpt_ref ref = {(sc_ckpt_kind)m.status, m.text,
                               sc_ckpt_ref_number((sc_ckpt_kind)m.status, m.text)};
            s = sc_evaluator_evaluate_ref(ev, &ref, &e2);
        } else {
            s = sc_evaluator_evaluate(ev, m.text, &e2);
        }
        if (s == SC_OK || s == SC_UNAVAILABLE || s == SC_DATA_LOSS) continue; /* skipped together */
        if (ev->group_failed || (s == SC_ABORTED && atomic_load(&ev->stop)))
            return SC_OK; /* rank 0 reports it */
        if (err) *err = e2;
        return s;
    }
}

static int retryable(int s) { return s == SC_UNAVAILABLE || s == SC_DATA_LOSS; }

sc_status sc_eval_group_restore(sc_evaluator *ev, const sc_ckpt_ref *ref, int64_t *step,
                                sc_error *err) {
    sc_group *g = ev->p.group;
    int tries = ev->p.retries > 0 ? ev->p.retries : 1;
    int delay = ev->p.retry_delay_ms > 0 ? ev->p.retry_delay_ms : 200;
    int saved_retries = ev->p.retries;
    msg d;
    for (int attempt = 1;; attempt++) {
        double t0 = sc_group_mono_now();
        sc_error le;
        sc_error_clear(&le);
        ev->p.retries = 1; /* the group retries together, below */
        sc_status ls = sc_eval_restore(ev, ref, step, &le);
        ev->p.retries = saved_retries;
        double own = sc_group_mono_now() - t0;
        sc_status s;
        if (g->rank != 0) {
            if ((s = send_msg(g, 0, SC_TAG_VOTE, 0, (int)ls, le.message, err))) return s;
            if ((s = recv_msg(g, 0, SC_TAG_DECIDE, &d, member_deadline(ev, own), NULL, err)))
                return s;
        } else {
            d.op = DEC_GO;
            d.status = (int32_t)ls;
            d.text[0] = '\0';
            if (ls) snprintf(d.text, sizeof d.text, "rank 0: %s", le.message);
            double deadline = root_deadline(ev, own);
            for (int r = 1; r < g->size; r++) {
                msg v;
                if ((s = recv_msg(g, r, SC_TAG_VOTE, &v, deadline, NULL, err))) return s;
                /* The first failure names the checkpoint's problem; one that retrying cannot
                 * cure takes precedence. */
                if (v.status
                    && (d.status == SC_OK || (retryable(d.status) && !retryable(v.status)))) {
                    d.status = v.status;
                    snprintf(d.text, sizeof d.text, "rank %d: %.4500s", r, v.text);
                }
            }
            if (d.status != SC_OK)
                d.op = !retryable(d.status)                         ? DEC_FAIL
                       : attempt < tries && !atomic_load(&ev->stop) ? DEC_RETRY
                                                                    : DEC_SKIP;
            for (int r = 1; r < g->size; r++)
                if ((s = send_msg(g, r, SC_TAG_DECIDE, d.op, d.status, d.text, err))) return s;
        }
        if (d.op == DEC_GO) return SC_OK;
        if (d.op != DEC_RETRY) {
            if (g->rank != 0 && ls == SC_OK) ev->group_failed = 1; /* another rank's; 0 reports */
            return sc_error_set(err, (sc_status)d.status, "%s", d.text);
        }
        sc_eval_log(ev, "Retrying in %d ms (attempt %d of %d, every rank): %s", delay, attempt + 1,
                    tries, d.text);
        struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && !atomic_load(&ev->stop)) {}
        delay *= 2;
    }
}

/* ---- reduction of one dataset's pass ---- */

typedef struct state_head {
    int32_t status;
    uint32_t num_metrics;
    double loss_total, loss_count;
    char text[512];
} state_head;

typedef struct metric_head {
    int64_t n_elements;
    uint64_t len;
} metric_head;

/* After the head: the per-output loss totals and counts ([2 * num_outputs] doubles, multi-output
 * models), then each metric's state. */
static size_t state_bytes(const sc_eval_dataset *ds) {
    size_t n = sizeof(state_head) + 2 * ds->num_outputs * sizeof(double);
    for (size_t k = 0; k < ds->num_metrics; k++)
        n += sizeof(metric_head) + sc_metric_state_len(ds->metrics[k]) * sizeof(float);
    return n;
}

static void pack(const sc_eval_dataset *ds, const double *out_totals, sc_status local,
                 const sc_error *lerr, double lt, double lc, unsigned char *buf) {
    state_head h;
    memset(&h, 0, sizeof h);
    h.status = (int32_t)local;
    h.num_metrics = (uint32_t)ds->num_metrics;
    h.loss_total = lt;
    h.loss_count = lc;
    if (local) snprintf(h.text, sizeof h.text, "%s", lerr->message);
    memcpy(buf, &h, sizeof h);
    size_t off = sizeof h;
    if (ds->num_outputs) {
        memcpy(buf + off, out_totals, 2 * ds->num_outputs * sizeof(double));
        off += 2 * ds->num_outputs * sizeof(double);
    }
    for (size_t k = 0; k < ds->num_metrics; k++) {
        metric_head mh = {0, sc_metric_state_len(ds->metrics[k])};
        float *vals = (float *)(buf + off + sizeof mh); /* 16-byte heads keep floats aligned */
        sc_metric_state_get(ds->metrics[k], vals, &mh.n_elements);
        memcpy(buf + off, &mh, sizeof mh);
        off += sizeof mh + mh.len * sizeof(float);
    }
}

/* Adds rank r's packed states into this rank's metrics and loss sums. */
static sc_status unpack_add(const sc_eval_dataset *ds, double *out_totals, int r,
                            const unsigned char *buf, double *lt, double *lc, sc_error *err) {
    state_head h;
    memcpy(&h, buf, sizeof h);
    *lt += h.loss_total;
    *lc += h.loss_count;
    size_t off = sizeof h;
    for (size_t o = 0; o < 2 * ds->num_outputs; o++, off += sizeof(double)) {
        double v;
        memcpy(&v, buf + off, sizeof v);
        out_totals[o] += v;
    }
    for (size_t k = 0; k < ds->num_metrics; k++) {
        metric_head mh;
        memcpy(&mh, buf + off, sizeof mh);
        sc_status s = sc_metric_state_add(ds->metrics[k], (const float *)(buf + off + sizeof mh),
                                          (size_t)mh.len, mh.n_elements, err);
        if (s) return sc_error_prefix(err, s, "rank %d", r);
        off += sizeof mh + (size_t)mh.len * sizeof(float);
    }
    return SC_OK;
}

sc_status sc_eval_group_reduce(sc_evaluator *ev, size_t d, sc_status local, const sc_error *lerr,
                               double own_s, double *loss_total, double *loss_count,
                               sc_error *err) {
    sc_group *g = ev->p.group;
    const sc_eval_dataset *ds = &ev->p.datasets[d];
    size_t bytes = state_bytes(ds);
    unsigned char *buf = malloc(bytes);
    if (!buf) return sc_error_set(err, SC_NO_MEMORY, "group: %zu bytes of metric states", bytes);
    sc_status s = SC_OK;
    msg v;
    if (g->rank != 0) {
        pack(ds, ev->results[d].out_totals, local, lerr, *loss_total, *loss_count, buf);
        /* A state larger than the eager limit waits for rank 0 to finish its own shard. */
        if ((s = sc_group_send(g, 0, SC_TAG_STATE, buf, bytes, member_deadline(ev, own_s), err)))
            goto done;
        if ((s = recv_msg(g, 0, SC_TAG_DECIDE, &v, member_deadline(ev, own_s), NULL, err)))
            goto done;
        if (local) {
            s = lerr->status ? lerr->status : local;
            if (err) *err = *lerr;
        } else if (v.op != DEC_GO) {
            ev->group_failed = 1;
            s = sc_error_set(err, (sc_status)v.status, "%s", v.text);
        }
        goto done;
    }
    v.op = DEC_GO;
    v.status = (int32_t)local;
    v.text[0] = '\0';
    if (local) snprintf(v.text, sizeof v.text, "rank 0: %s", lerr->message);
    double deadline = root_deadline(ev, own_s);
    for (int r = 1; r < g->size; r++) {
        size_t len = 0;
        if ((s = sc_group_recv(g, r, SC_TAG_STATE, buf, bytes, &len, deadline, NULL, err)))
            goto done;
        state_head h;
        if (len >= sizeof h) memcpy(&h, buf, sizeof h);
        if (len < sizeof h || (h.status == SC_OK && len != bytes)) {
            g->broken = 1;
            s = sc_error_set(err, SC_INVALID_ARGUMENT,
                             "rank %d sent %zu bytes of metric states for dataset %zu, %zu "
                             "expected: do all ranks run the same sidecar with the same options?",
                             r, len, d, bytes);
            goto done;
        }
        h.text[sizeof h.text - 1] = '\0';
        if (h.status != SC_OK) {
            if (v.status == SC_OK) {
                v.status = h.status;
                snprintf(v.text, sizeof v.text, "rank %d: %s", r, h.text);
            }
        } else if (v.status == SC_OK
                   && (s = unpack_add(ds, ev->results[d].out_totals, r, buf, loss_total, loss_count,
                                      err))) {
            goto done;
        }
    }
    v.op = v.status == SC_OK ? DEC_GO : DEC_FAIL;
    for (int r = 1; r < g->size; r++)
        if ((s = send_msg(g, r, SC_TAG_DECIDE, v.op, v.status, v.text, err))) goto done;
    g->reductions++;
    if (v.status != SC_OK) {
        if (local && err) *err = *lerr;
        s = local ? local : sc_error_set(err, (sc_status)v.status, "%s", v.text);
        /* A rank stopped alone (its own SIGTERM): the group stops with it. */
        if (v.status == SC_ABORTED) atomic_store(&ev->stop, 1);
    }
done:
    free(buf);
    return s;
}
