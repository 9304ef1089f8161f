/* backward.c - the reverse-mode pass.
 *
 * The tape lists nodes in the order they were made, children before parents,
 * so visiting a graph's nodes in reverse tape order visits each node after all
 * of its parents: its grad is complete when it is passed on to its children.
 * There are two ways to get that order, and they give the same one (so the
 * numbers never depend on which ran):
 *  - a graph that is most of the tape: one pass down the tape, visiting the
 *    nodes the root reaches, marked as the pass goes (parents come first);
 *  - a small graph among many other live nodes (say, old losses kept for a
 *    plot): find its nodes from the root, sort them by tape position, visit.
 * The search runs first and gives up after a sixteenth of the tape, so a big
 * graph pays little for it; the pass then takes over, keeping its marks.
 * Neither recurses: a chain of millions of nodes is no harder than a wide graph. */
#include <stdlib.h>
#include "store.h"

/* Mark and list (in store.todo) the nodes the root reaches, breadth first.
 * Returns how many, or -1 once there are more than `most`. */
static int32_t find_graph(int32_t root, int32_t most, uint16_t epoch)
{
    Node *nodes = store.nodes;
    int32_t *found = store.todo, seen = 0, count = 0;
    nodes[root].mark = epoch;
    found[count++] = root;
    while (seen < count) {
        if (count > most)
            return -1;
        const Node *n = &nodes[found[seen++]];
        const int32_t *k = node_kids(n);
        for (int32_t j = 0; j < n->nkids; j++)
            if (nodes[k[j]].mark != epoch) {
                nodes[k[j]].mark = epoch;
                found[count++] = k[j];
            }
    }
    return count;
}

static int later_first(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x < y) - (x > y);
}

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
    const uint16_t epoch = store.epoch;
    nodes[root].grad = 1.0;

    int32_t count = find_graph(root, store.tape_len / 16, epoch);
    if (count >= 0) {
        int32_t *pos = store.todo;
        for (int32_t i = 0; i < count; i++)
            pos[i] = nodes[pos[i]].pos;
        qsort(pos, (size_t)count, sizeof(int32_t), later_first);
        for (int32_t i = 0; i < count; i++)
            op_backward(nodes, &nodes[store.tape[pos[i]]]);
    } else {
        for (int32_t i = nodes[root].pos; i >= 0; i--) {
            Node *n = &nodes[store.tape[i]];
            if (n->mark != epoch)
                continue; /* not reached from the root (or freed) */
            op_backward(nodes, n);
            const int32_t *k = node_kids(n);
            for (int32_t j = 0; j < n->nkids; j++)
                nodes[k[j]].mark = epoch;
        }
    }
    store_unlock();
    return 0;
}
