/* backward.c - the reverse-mode pass, and each op's backward.
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
 * Each op's backward adds the node's grad, times the local derivative, into
 * its children's grads, reading the children's data as it is now (as
 * micrograd's closures do). It never fails: like PyTorch, it gives inf or nan
 * where a derivative does not exist. The ops are dispatched by a switch in the
 * pass, not through a table of function pointers, so that the compiler inlines
 * them into the loop: the pass is a chain of dependent loads and adds (a
 * child's grad is read right after its parent wrote it), and an indirect call
 * per node made it a fifth slower (benchmarks/README.md). */
#include <math.h>
#include <stdlib.h>
#include "store.h"

enum {
    /* A tape with more entries than this many per live node is mostly freed
     * nodes: backward compacts it first, rather than walk past them. */
    TAPE_ENTRIES_PER_LIVE_NODE = 2,
    /* The search from the root gives up past this share of the tape (one
     * part in SEARCH_SHARE): a graph that big is cheaper to take from the tape
     * in one pass than to sort. */
    SEARCH_SHARE = 16
};

/* What every op's backward needs: the nodes (read only), the grads it adds
 * to, the marks that say which nodes the root reaches, and the tape positions
 * that tell whether x ** k's slope from forward still holds. */
typedef struct {
    const Node *nodes;
    double *grad;
    uint16_t *mark;
    uint16_t epoch;
    const int32_t *pos;
    int32_t edited_from;
} Pass;

/* Add d to a child's grad, and mark the child reached so the pass visits it. */
static inline void pass_on(const Pass *p, int32_t kid, double d)
{
    p->grad[kid] += d;
    p->mark[kid] = p->epoch;
}

/* g is the node's grad. A binary op's children: the first one, and the
 * second one or the constant. */
static void add_backward(const Pass *p, const Node *n, double g)
{
    pass_on(p, n->first, g);
    if (n->nkids == 2)
        pass_on(p, n->u.second, g);
}

static void mul_backward(const Pass *p, const Node *n, double g)
{
    if (n->nkids == 2) {
        pass_on(p, n->first, p->nodes[n->u.second].data * g);
        pass_on(p, n->u.second, p->nodes[n->first].data * g);
    } else {
        pass_on(p, n->first, n->u.arg * g);
    }
}

static void pow_backward(const Pass *p, const Node *n, double g)
{
    int32_t id = (int32_t)(n - p->nodes);
    const Power *power = n->u.power;
    double k = power->k;
    if (k == 0.0) { /* x ** 0 is constant: no gradient (not 0 * x ** -1, nan at 0) */
        p->mark[n->first] = p->epoch;
        return;
    }
    /* forward's slope is for the x of then: the x of now unless data was
     * edited after this node was made */
    double slope = p->pos[id] >= p->edited_from ? power->slope
                                                : pow_slope(p->nodes[n->first].data, k);
    pass_on(p, n->first, (k * slope) * g);
}

static void neg_backward(const Pass *p, const Node *n, double g)
{
    pass_on(p, n->first, -g);
}

static void relu_backward(const Pass *p, const Node *n, double g)
{
    pass_on(p, n->first, (double)(n->data > 0.0) * g);
}

static void tanh_backward(const Pass *p, const Node *n, double g)
{
    pass_on(p, n->first, (1.0 - n->data * n->data) * g);
}

static void exp_backward(const Pass *p, const Node *n, double g)
{
    pass_on(p, n->first, n->data * g);
}

static void log_backward(const Pass *p, const Node *n, double g)
{
    pass_on(p, n->first, g / p->nodes[n->first].data);
}

static void sigmoid_backward(const Pass *p, const Node *n, double g)
{
    pass_on(p, n->first, (n->data * (1.0 - n->data)) * g);
}

/* Kids x[0..m), w[0..m), b, as in ops.c's neuron_forward. */
static void neuron_backward(const Pass *p, const Node *n, double g)
{
    const int32_t *k = n->u.list;
    int32_t m = (n->first - 1) / 2;
    if (n->op == MG_NEURON_RELU)
        g = (double)(n->data > 0.0) * g;
    for (int32_t i = 0; i < m; i++) {
        pass_on(p, k[m + i], p->nodes[k[i]].data * g);
        pass_on(p, k[i], p->nodes[k[m + i]].data * g);
    }
    pass_on(p, k[2 * m], g);
}

static void node_backward(const Pass *p, const Node *n, double g)
{
    switch ((int)n->op) {
    case MG_ADD: add_backward(p, n, g); break;
    case MG_MUL: mul_backward(p, n, g); break;
    case MG_POW: pow_backward(p, n, g); break;
    case MG_NEG: neg_backward(p, n, g); break;
    case MG_RELU: relu_backward(p, n, g); break;
    case MG_TANH: tanh_backward(p, n, g); break;
    case MG_EXP: exp_backward(p, n, g); break;
    case MG_LOG: log_backward(p, n, g); break;
    case MG_SIGMOID: sigmoid_backward(p, n, g); break;
    case MG_NEURON:
    case MG_NEURON_RELU: neuron_backward(p, n, g); break;
    default: break; /* a leaf has no children */
    }
}

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
        return MG_EINVAL;
    }
    if (store.tape_len > TAPE_ENTRIES_PER_LIVE_NODE * (int64_t)store.live)
        tape_compact();
    if (++store.epoch == 0) { /* wrapped: old marks could look current */
        for (int32_t i = 0; i < store.top; i++)
            store.mark[i] = 0;
        store.epoch = 1;
    }
    const Pass p = { store.nodes, store.grad, store.mark, store.epoch,
                     store.pos, store.edited_from };
    p.grad[root] = 1.0;

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
    for (int32_t i = last; i >= 0; i--) {
        int32_t id = order[i];
        if (p.mark[id] == p.epoch) /* else not reached from the root (or freed) */
            node_backward(&p, &p.nodes[id], p.grad[id]);
    }
    store_unlock();
    return 0;
}
