/* backward.c - the reverse-mode pass: which nodes to visit, in which order
 * (each op's backward is in ops.c).
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
 * Neither recurses: a chain of millions of nodes is no harder than a wide graph.
 */
#include <stdlib.h>
#include "ops.h"

enum {
    /* A tape with more entries than this many per live node is mostly freed
     * nodes: backward compacts it first, rather than walk past them. */
    TAPE_ENTRIES_PER_LIVE_NODE = 2,
    /* The search from the root gives up past this share of the tape (one
     * part in SEARCH_SHARE): a graph that big is cheaper to take from the tape
     * in one pass than to sort. */
    SEARCH_SHARE = 16
};

/* Mark and list (in store.todo) the nodes the root reaches, breadth first.
 * Returns how many, or -1 once there are more than `most`. */
static int32_t find_graph(int32_t root, int32_t most, uint16_t epoch)
{
    uint16_t *mark = store.mark;
    int32_t *found = store.todo, seen = 0, count = 0;
    mark[root] = epoch;
    found[count++] = root;
    while (seen < count) {
        if (count > most)
            return -1;
        const Node *n = &store.nodes[found[seen++]];
        for (int32_t j = 0; j < node_nkids(n); j++) {
            int32_t k = node_kid(n, j);
            if (mark[k] != epoch) {
                mark[k] = epoch;
                found[count++] = k;
            }
        }
    }
    return count;
}

static int earlier_first(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int32_t mg_backward(int32_t root)
{
    store_lock();
    if (!node_is_live(root)) {
        store_unlock();
        return MG_ENODE;
    }
    if (store.tape_len > TAPE_ENTRIES_PER_LIVE_NODE * (int64_t)store.live)
        tape_compact();
    if (++store.epoch == 0) { /* wrapped: old marks could look current */
        for (int32_t i = 0; i < store.top; i++)
            store.mark[i] = 0;
        store.epoch = 1;
    }
    const Pass p = { store.nodes, store.grad, store.gint, store.mark, store.epoch,
                     store.pos, store.edited_from };
    p.grad[root] = 1.0;
    p.gint[root] = 1; /* micrograd's `self.grad = 1` */

    /* The nodes to visit, in tape order (visited last to first): the small
     * graph's, sorted, or the whole tape below the root, where the marks tell
     * which nodes to visit. */
    const int32_t *order = store.tape;
    int32_t last = store.pos[root];
    int32_t count = find_graph(root, store.tape_len / SEARCH_SHARE, p.epoch);
    if (count >= 0) {
        int32_t *found = store.todo;
        for (int32_t i = 0; i < count; i++)
            found[i] = store.pos[found[i]];
        qsort(found, (size_t)count, sizeof(int32_t), earlier_first);
        for (int32_t i = 0; i < count; i++)
            found[i] = store.tape[found[i]];
        order = found;
        last = count - 1;
    }
    backward_visit(&p, order, last);
    store_unlock();
    return 0;
}
