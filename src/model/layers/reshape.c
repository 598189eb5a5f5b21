/* Flatten and Reshape: the data is already row-major, so only the shape changes. */
#include "core/error.h"
#include "model/layers/layers.h"

static sc_status flatten_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    return sc_cfg_channels_last(L, cfg, err);
}

static sc_status flatten_infer(sc_layer *L, sc_node *n, sc_error *err) {
    if (n->num_inputs != 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (Flatten): expects one input",
                            L->name);
    n->out_shape.rank = 1;
    n->out_shape.dims[0] = sc_shape_elems(&n->in_shape[0]);
    return SC_OK;
}

typedef struct {
    sc_shape target; /* may hold one -1 */
} reshape;

static sc_status reshape_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    const json_t *ts = json_object_get(cfg, "target_shape");
    if (!json_is_array(ts) || json_array_size(ts) == 0 || json_array_size(ts) > SC_MAX_DIMS)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (Reshape): bad target_shape",
                            L->name);
    reshape *r = calloc(1, sizeof *r);
    if (!r) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = r;
    r->target.rank = (int)json_array_size(ts);
    for (int i = 0; i < r->target.rank; i++) {
        const json_t *d = json_array_get(ts, (size_t)i);
        if (!json_is_integer(d))
            return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (Reshape): bad target_shape",
                                L->name);
        r->target.dims[i] = json_integer_value(d);
    }
    return SC_OK;
}

static sc_status reshape_infer(sc_layer *L, sc_node *n, sc_error *err) {
    const reshape *r = L->impl;
    int64_t total = sc_shape_elems(&n->in_shape[0]), known = 1;
    int unknown = -1;
    n->out_shape = r->target;
    for (int i = 0; i < r->target.rank; i++) {
        if (r->target.dims[i] == -1 && unknown < 0)
            unknown = i;
        else if (r->target.dims[i] > 0 && !__builtin_mul_overflow(known, r->target.dims[i], &known))
            ;
        else
            goto bad;
    }
    if (total < 0) goto bad;
    if (unknown >= 0) {
        if (known == 0 || total % known) goto bad;
        n->out_shape.dims[unknown] = total / known;
    } else if (known != total) {
        goto bad;
    }
    return SC_OK;
bad:;
    char a[128], b[128];
    return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (Reshape): cannot reshape %s to %s",
                        L->name, sc_shape_str(&n->in_shape[0], a, sizeof a),
                        sc_shape_str(&r->target, b, sizeof b));
}

const sc_layer_ops sc_layer_flatten = {"Flatten", flatten_init,    flatten_infer,
                                       NULL,      sc_forward_copy, NULL};
const sc_layer_ops sc_layer_reshape = {"Reshape", reshape_init,    reshape_infer,
                                       NULL,      sc_forward_copy, NULL};
