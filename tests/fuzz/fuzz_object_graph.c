/* fuzz_object_graph — libFuzzer target for the TrackableObjectGraph decoder (FORMATS §3.2).
 *
 * Any bytes: the decoder returns OK or DATA_LOSS (NO_MEMORY aside), never reads outside the
 * input, and on success every node id it hands out indexes the node array and every string has
 * the length it claims. Walking the graph the way the weight binder does (children by name from
 * the root) must then be safe.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sidecar/object_graph.h"

static void check_id(const sc_object_graph *g, int32_t id) {
    if (id < 0 || (size_t)id >= sc_object_graph_num_nodes(g)) abort();
}

static void check_str(const char *s, size_t n) {
    if (!s || s[n] != '\0') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sc_object_graph *g = NULL;
    sc_error err;
    sc_status rc = sc_object_graph_parse(data, size, "fuzz", &g, &err);
    if (rc != SC_OK) {
        if ((rc != SC_DATA_LOSS && rc != SC_NO_MEMORY) || g) abort();
        return 0;
    }
    size_t n = sc_object_graph_num_nodes(g);
    if (n == 0) abort();
    for (size_t i = 0; i < n; i++) {
        const sc_og_node *nd = sc_object_graph_node(g, i);
        for (size_t c = 0; c < nd->num_children; c++) {
            check_id(g, nd->children[c].node_id);
            check_str(nd->children[c].local_name, nd->children[c].local_name_len);
        }
        for (size_t a = 0; a < nd->num_attributes; a++) {
            const sc_og_attribute *at = &nd->attributes[a];
            check_str(at->name, at->name_len);
            check_str(at->full_name, at->full_name_len);
            check_str(at->checkpoint_key, at->checkpoint_key_len);
        }
        for (size_t s = 0; s < nd->num_slot_variables; s++) {
            check_id(g, nd->slot_variables[s].original_variable_node_id);
            check_id(g, nd->slot_variables[s].slot_variable_node_id);
            check_str(nd->slot_variables[s].slot_name, nd->slot_variables[s].slot_name_len);
        }
        check_str(nd->registered_saver_name, nd->registered_saver_name_len);
        if (nd->has_checkpoint_values < -1 || nd->has_checkpoint_values > 1) abort();
    }
    int32_t id = sc_object_graph_lookup(g, "optimizer/iter");
    if (id != -1) check_id(g, id);
    sc_object_graph_free(g);
    return 0;
}
