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
 *
 * A custom node's backward is Python's, and the C core never calls Python: the
 * pass stops there and hands the node back (mg_pass). It keeps the nodes it
 * has left, in order, in a list of its own, and visits them when resumed.
 */
#include <stdint.h>
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

/* Mark and list (in store.todo) the nodes the roots reach, breadth first.
 * Returns how many, or -1 once there are more than `most`. */
static int32_t find_nodes(const int32_t *roots, int32_t nroots, int32_t most, uint16_t epoch)
{
    uint16_t *mark = store.mark;
    int32_t *found = store.todo, seen = 0, count = 0;
    for (int32_t r = 0; r < nroots; r++)
        if (mark[roots[r]] != epoch) {
            mark[roots[r]] = epoch;
            found[count++] = roots[r];
        }
    while (seen < count) {
        if (count > most)
            return -1;
        const Node *n = &store.nodes[found[seen++]];
        int32_t two[2], nkids = node_nkids(n);
        const int32_t *kids = node_kids(n, two);
        for (int32_t j = 0; j < nkids; j++) {
            int32_t k = kids[j];
            if (mark[k] != epoch) {
                mark[k] = epoch;
                found[count++] = k;
            }
        }
    }
    return count;
}

static int32_t find_graph(int32_t root, int32_t most, uint16_t epoch)
{
    return find_nodes(&root, 1, most, epoch);
}

static int earlier_first(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* A fresh epoch for the marks: every node's mark is then out of date. */
static uint16_t new_epoch(void)
{
    store.epochs++;
    if (++store.epoch == 0) { /* wrapped: old marks could look current */
        for (int32_t i = 0; i < store.top; i++)
            store.mark[i] = 0;
        store.epoch = 1;
    }
    return store.epoch;
}

/* The pass stops at custom node id, with `left` nodes left: its children are reached. */
static int32_t stopped_at(mg_pass *pass, int32_t id, int32_t left)
{
    const Node *n = &store.nodes[id];
    int32_t two[2], nkids = node_nkids(n);
    const int32_t *kids = node_kids(n, two);
    for (int32_t j = 0; j < nkids; j++)
        store.mark[kids[j]] = store.epoch;
    pass->node = id;
    pass->left = left;
    return 1;
}

/* The pass from root reached a custom node, order[at]: keep, in pass, the nodes
 * it has left to visit, order[0 .. at), for mg_backward_resume: the small
 * graph's (all reached, and marked so), or the tape below the custom node,
 * where the marks go on telling which nodes the root reaches (the custom
 * node's children among them: its Python backward does not mark them). The
 * caller's code may make or free nodes before it resumes, or run other passes
 * (see mark_rest). Returns 1, or MG_ENOMEM. */
static int32_t stop(mg_pass *pass, int32_t root, const int32_t *order, int32_t at)
{
    int32_t *rest = malloc(((size_t)at + 1) * sizeof(int32_t));
    if (!rest)
        return MG_ENOMEM;
    for (int32_t i = 0; i < at; i++)
        rest[i] = order[i];
    pass->order = rest;
    pass->epochs = store.epochs;
    pass->root = root;
    pass->unsorted = order == store.tape;
    store.passes_open++;
    return stopped_at(pass, order[at], at);
}

/* Other passes ran since pass stopped, and took the marks: mark its nodes that
 * the root reaches again, with an epoch of their own (a node freed since is
 * left unmarked: skipped). */
static void mark_rest(mg_pass *pass)
{
    uint16_t epoch = new_epoch();
    if (pass->unsorted) {
        if (node_is_live(pass->root))
            find_graph(pass->root, INT32_MAX, epoch);
    } else {
        for (int32_t i = 0; i < pass->left; i++)
            if (store.nodes[pass->order[i]].op != FREE_SLOT)
                store.mark[pass->order[i]] = epoch;
    }
    pass->epochs = store.epochs;
}

int32_t mg_backward(int32_t root, mg_pass *pass)
{
    store_lock();
    if (!node_is_live(root)) {
        store_unlock();
        return MG_ENODE;
    }
    expand_passed_chains(); /* (before the root's grad is set: it may be one) */
    if (store.tape_len > TAPE_ENTRIES_PER_LIVE_NODE * (int64_t)store.live && !tape_pinned())
        tape_compact();
    Pass p = store_pass(new_epoch());
    p.grad[root] = 1.0;
    p.gint[root] = 1; /* micrograd's `self.grad = 1` */

    /* The nodes to visit, in tape order (visited last to first): the small
     * graph's, sorted, or the whole tape below the root, where the marks tell
     * which nodes to visit. */
    const int32_t *order = store.tape;
    int32_t last = store.pos[root];
    int32_t count = find_graph(root, store.tape_len / SEARCH_SHARE, p.epoch);
    if (count >= 0) {
        int32_t *found = store.todo, listed = 0;
        for (int32_t i = 0; i < count; i++) /* (pos -1: a leaf not on the tape, with no step) */
            if (store.pos[found[i]] >= 0 && node_has_backward(&store.nodes[found[i]]))
                found[listed++] = store.pos[found[i]];
        qsort(found, (size_t)listed, sizeof(int32_t), earlier_first);
        for (int32_t i = 0; i < listed; i++)
            found[i] = store.tape[found[i]];
        order = found;
        last = listed - 1;
    }
    int32_t at = backward_visit(&p, order, last);
    int32_t done = at < 0 ? 0 : stop(pass, root, order, at);
    store_unlock();
    return done;
}

int32_t mg_backward_resume(mg_pass *pass)
{
    store_lock();
    int32_t done = 0;
    if (pass->order) {
        int32_t *order = pass->order;
        if (pass->epochs != store.epochs)
            mark_rest(pass);
        Pass p = store_pass(store.epoch);
        int32_t at = backward_visit(&p, order, pass->left - 1);
        if (at >= 0)
            done = stopped_at(pass, order[at], at);
    }
    store_unlock();
    if (!done)
        mg_backward_end(pass);
    return done;
}

void mg_backward_end(mg_pass *pass)
{
    store_lock();
    if (pass->order) {
        free(pass->order);
        pass->order = NULL;
        pass->left = 0;
        store.passes_open--;
    }
    store_unlock();
}

/* ---- gradients as nodes (mg_grad) ----
 * The same order as the numeric pass (parents before children: the nodes the
 * outputs reach, newest first on the tape), but each step makes the nodes
 * that compute what it would add, so the gradients can be differentiated in
 * turn. Only nodes that lead to an input are visited, or given a gradient. */

static int by_tape_position(const void *a, const void *b)
{
    int32_t x = store.pos[*(const int32_t *)a], y = store.pos[*(const int32_t *)b];
    return (x > y) - (x < y); /* (a number operand's leaf, -1, first: it has no children) */
}

/* The nodes the roots reach, in tape order, in a new array (*out); how many, or MG_ENOMEM. */
static int32_t reached(const int32_t *roots, int32_t nroots, int32_t **out)
{
    int32_t count = find_nodes(roots, nroots, INT32_MAX, new_epoch());
    int32_t *order = malloc(((size_t)count + 1) * sizeof(int32_t)); /* (store.todo is scratch) */
    if (!order)
        return MG_ENOMEM;
    for (int32_t i = 0; i < count; i++)
        order[i] = store.todo[i];
    qsort(order, (size_t)count, sizeof(int32_t), by_tape_position);
    *out = order;
    return count;
}

static int32_t grad_with_lock(const mg_grad_spec *spec, int32_t *out)
{
    if (!all_live(spec->outs, spec->nout) || !all_live(spec->seeds, spec->nout)
        || !all_live(spec->inputs, spec->nin) || !all_live(spec->custom, spec->ncustom))
        return MG_ENODE;
    int32_t *order = NULL, count = reached(spec->outs, spec->nout, &order);
    if (count < 0)
        return count;
    size_t top = (size_t)store.top; /* every node reached is below it (new ones need no entry) */
    uint8_t *need = calloc(top, 1);
    int32_t *grad_of = malloc(top * sizeof(int32_t));
    int32_t err = need && grad_of ? 0 : MG_ENOMEM;
    if (!err) {
        for (size_t i = 0; i < top; i++) /* (an input may be unreached: its entry says so) */
            grad_of[i] = -1;
        for (int32_t i = 0; i < spec->nin; i++)
            need[spec->inputs[i]] = 1;
        for (int32_t i = 0; i < count; i++) { /* children first: a node needs a child that does */
            const Node *n = &store.nodes[order[i]];
            for (int32_t j = 0; j < node_nkids(n) && !need[order[i]]; j++)
                need[order[i]] = need[node_kid(n, j)];
            if (!need[order[i]]) /* (a reduced batch: then mg_grad says MG_EINVAL) */
                need[order[i]] = (uint8_t)reduced_needs(n, need);
        }
        GradGraph gg = { need, grad_of, spec };
        for (int32_t j = 0; j < spec->nout && !err; j++)
            if (need[spec->outs[j]]) {
                store.refs[spec->seeds[j]]++;
                err = grad_into(&gg, spec->outs[j], spec->seeds[j]);
            }
        if (!err)
            err = backward_graph_visit(&gg, order, count);
        for (int32_t i = 0; i < spec->nin && !err; i++) {
            out[i] = grad_of[spec->inputs[i]];
            if (out[i] >= 0)
                store.refs[out[i]]++; /* for the caller's Value */
        }
        for (int32_t i = 0; i < count; i++) /* the rest is held by what it is a part of */
            if (grad_of[order[i]] >= 0)
                node_drop(grad_of[order[i]]);
    }
    free(need);
    free(grad_of);
    free(order);
    return err;
}

int32_t mg_grad(const mg_grad_spec *spec, int32_t *out)
{
    if (spec->nout < 0 || spec->nin < 0 || spec->ncustom < 0 || spec->ncustom_d < 0)
        return MG_EINVAL;
    store_lock();
    int32_t err = grad_with_lock(spec, out);
    store_unlock();
    return err;
}

int32_t mg_custom_reached(int32_t nroots, const int32_t *roots, int32_t *out, int32_t cap)
{
    if (nroots < 0 || cap < 0)
        return MG_EINVAL;
    store_lock();
    int32_t *order = NULL, count = all_live(roots, nroots) ? reached(roots, nroots, &order)
                                                                 : MG_ENODE;
    if (count >= 0) {
        count = custom_nodes(order, count, out, cap);
        free(order);
    }
    store_unlock();
    return count;
}
