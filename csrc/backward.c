/* backward.c - the reverse-mode pass.
 *
 * The tape lists nodes in the order they were made, children before parents,
 * so reading it backwards from the end visits every node after all of its
 * parents. One pass down that contiguous array does it all: a node is visited
 * if the root reaches it (its mark is this pass's epoch); visiting it adds its
 * grad into its children's and marks them. No recursion and no sorting, so a
 * chain of millions of nodes is no harder than a wide graph. */
#include "store.h"

int32_t mg_backward(int32_t root)
{
    store_lock();
    if (!node_is_live(root)) {
        store_unlock();
        return MG_EINVAL;
    }
    if (store.tape_len > 2 * (int64_t)store.live) /* mostly freed nodes: drop them first */
        tape_compact();
    Node *nodes = store.nodes;
    if (++store.epoch == 0) { /* wrapped: old marks could look current */
        for (int32_t i = 0; i < store.top; i++)
            nodes[i].mark = 0;
        store.epoch = 1;
    }
    const uint32_t epoch = store.epoch;
    nodes[root].mark = epoch;
    nodes[root].grad = 1.0;
    /* Nodes made after the root cannot be reached from it: they are skipped
     * like any other unmarked node (freed ones included). */
    for (int32_t i = store.tape_len - 1; i >= 0; i--) {
        Node *n = &nodes[store.tape[i]];
        if (n->mark != epoch)
            continue;
        op_backward(nodes, n);
        const int32_t *k = node_kids(n);
        for (int32_t j = 0; j < n->nkids; j++)
            nodes[k[j]].mark = epoch;
    }
    store_unlock();
    return 0;
}
