/* backward.c - the reverse-mode pass: a topological order of everything
 * reachable from the root, built with an explicit stack (a chain of millions
 * of nodes must not overflow the C stack), then each node's backward in
 * reverse order. */
#include "store.h"

/* Depth-first post-order, children in order: the same order micrograd's
 * recursive build_topo gives when it visits children in sequence. */
static int32_t topo_order(int32_t root)
{
    Node *nodes = store.nodes;
    if (++store.epoch == 0) { /* wrapped: old marks could look current */
        for (int32_t i = 0; i < store.top; i++)
            nodes[i].mark = 0;
        store.epoch = 1;
    }
    int32_t count = 0, depth = 0;
    nodes[root].mark = store.epoch;
    store.stack[depth++] = (Frame){root, 0};
    while (depth > 0) {
        Frame *f = &store.stack[depth - 1];
        const Node *n = &nodes[f->id];
        if (f->next < n->nkids) {
            int32_t kid = node_kids(n)[f->next++];
            if (nodes[kid].mark != store.epoch) {
                nodes[kid].mark = store.epoch;
                store.stack[depth++] = (Frame){kid, 0};
            }
        } else {
            store.order[count++] = f->id;
            depth--;
        }
    }
    return count;
}

int32_t mg_backward(int32_t root)
{
    store_lock();
    int32_t err = MG_EINVAL;
    if (node_is_live(root)) {
        err = 0;
        int32_t count = topo_order(root);
        store.nodes[root].grad = 1.0;
        for (int32_t i = count - 1; i >= 0; i--)
            op_backward(store.nodes, &store.nodes[store.order[i]]);
    }
    store_unlock();
    return err;
}
