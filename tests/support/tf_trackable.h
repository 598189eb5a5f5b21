/* tests/support/tf_trackable.h — writes TF2 object-based checkpoints the way TensorFlow does
 * (FORMATS §3.1-3.2), from a graph of objects the test builds: objects with named children in
 * attribute order, variables with values, optimizer slot references. Writing walks the graph
 * breadth-first from object 0 as TensorFlow's saver does: node ids in visiting order (slot
 * variables appended after, in the optimizer's slot order), each variable keyed by the escaped
 * path of the first walk that reaches it, slot variables as
 * `<variable path>/.OPTIMIZER_SLOT/<optimizer path>/<slot>`, and the serialized
 * TrackableObjectGraph under _CHECKPOINTABLE_OBJECT_GRAPH. Every helper fails the running cmocka
 * test on error. */
#ifndef SC_TESTS_TF_TRACKABLE_H
#define SC_TESTS_TF_TRACKABLE_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/dtype.h"

typedef struct tft tft;

tft *tft_new(void); /* object 0, the root, exists */
void tft_free(tft *t);
/* A new object without a value (a layer, an optimizer, a list). */
int tft_obj(tft *t);
/* A new variable object: float32 of the given shape (rank <= 4, data copied). */
int tft_var_f32(tft *t, int rank, const int64_t *shape, const float *data);
/* A new int64 scalar variable (an optimizer's iteration counter, save_counter). */
int tft_var_i64(tft *t, int64_t v);
/* Adds the edge parent --name--> child (children keep insertion order, as attributes do). */
void tft_edge(tft *t, int parent, const char *name, int child);
/* Adds `optimizer`'s slot `slot` of variable `var`, held by variable `slot_var` (old layout). */
void tft_slot(tft *t, int optimizer, int var, const char *slot, int slot_var);
/* Keras <= 2.10 OptimizerV2 Adam: a new object with `iter` (= step), `learning_rate`, and slots
 * m then v of each of vars[n] (zeros shaped like them). n may be 0 (never applied). */
int tft_adam_legacy(tft *t, int64_t step, const int *vars, int n);
/* Keras 2.11+ Adam: `_iterations`, `_learning_rate`, the `_variables` list (0 = iterations,
 * then m_i, v_i of each trained variable) and the `_momentums` / `_velocities` lists naming
 * the same nodes. n 0: an optimizer never applied (no slots). */
int tft_adam(tft *t, int64_t step, const int *vars, int n);
/* Writes <prefix>.index / .data-*: variables round-robin over num_shards (graph in shard 0). */
void tft_write(tft *t, const char *prefix, int num_shards);
/* The key the last tft_write gave object `obj` ("" when it is not a variable). */
const char *tft_key(const tft *t, int obj);

#endif
