/* ops.c - the forward half of every op, and the calls that make nodes: the
 * op table gives each op kind its number of children and its forward, which
 * computes a node's data from its children (each op's backward is in
 * backward.c, beside the pass that runs it).
 *
 * Forward results follow Python's float arithmetic and `math` module to the
 * bit, including which inputs are errors, so the facade raises what the
 * pure-Python reference raises. */
#include <errno.h>
#include <math.h>
#include "store.h"

typedef int (*forward_fn)(const Node *nodes, Node *n);

/* ---- forward: return 0 or an MG_E* code ---- */

static int leaf_forward(const Node *nodes, Node *n)
{
    (void)nodes;
    n->data = n->u.arg;
    return 0;
}

/* A binary op's right operand: the second child, or the constant. */
static double right(const Node *nodes, const Node *n)
{
    return n->nkids == 2 ? nodes[n->u.second].data : n->u.arg;
}

static double left(const Node *nodes, const Node *n)
{
    return nodes[n->first].data;
}

static int add_forward(const Node *nodes, Node *n)
{
    n->data = left(nodes, n) + right(nodes, n);
    return 0;
}

static int mul_forward(const Node *nodes, Node *n)
{
    n->data = left(nodes, n) * right(nodes, n);
    return 0;
}

static int is_odd_integer(double k)
{
    return fmod(fabs(k), 2.0) == 1.0;
}

/* x ** k exactly as CPython's float_pow computes it: its special cases, then
 * libm pow, with the same errors (CPython returns a complex number for a
 * negative base and a fractional exponent; we, like math.pow, say ValueError). */
static int pow_forward(const Node *nodes, Node *n)
{
    double x = left(nodes, n), k = n->u.power->k;
    int negate = 0;
    if (k != 0.0) /* for backward, while x is at hand: see Power in store.h */
        n->u.power->slope = pow_slope(x, k);
    if (k == 0.0) {
        n->data = 1.0;
        return 0;
    }
    if (isnan(x)) {
        n->data = x;
        return 0;
    }
    if (isnan(k)) {
        n->data = x == 1.0 ? 1.0 : k;
        return 0;
    }
    if (isinf(k)) {
        x = fabs(x);
        /* fabs(k) is +inf here; the INFINITY macro draws MSVC warning C4756 */
        n->data = x == 1.0 ? 1.0 : ((k > 0.0) == (x > 1.0)) ? fabs(k) : 0.0;
        return 0;
    }
    if (isinf(x)) {
        if (k > 0.0)
            n->data = is_odd_integer(k) ? x : fabs(x);
        else
            n->data = is_odd_integer(k) ? copysign(0.0, x) : 0.0;
        return 0;
    }
    if (x == 0.0) {
        if (k < 0.0)
            return MG_EZERODIV;
        n->data = is_odd_integer(k) ? x : 0.0;
        return 0;
    }
    if (x < 0.0) {
        if (k != floor(k))
            return MG_EDOMAIN;
        x = -x;
        negate = is_odd_integer(k);
    }
    if (x == 1.0) {
        n->data = negate ? -1.0 : 1.0;
        return 0;
    }
    errno = 0;
    double r = pow(x, k);
    if (errno == 0 && isinf(r))
        errno = ERANGE;
    else if (errno == ERANGE && r == 0.0)
        errno = 0; /* underflow to zero is not an error */
    if (errno != 0)
        return errno == ERANGE ? MG_ERANGE : MG_EDOMAIN;
    n->data = negate ? -r : r;
    return 0;
}

static int neg_forward(const Node *nodes, Node *n)
{
    n->data = -left(nodes, n);
    return 0;
}

static int relu_forward(const Node *nodes, Node *n)
{
    double x = left(nodes, n);
    n->data = x < 0.0 ? 0.0 : x; /* micrograd's test: nan and -0.0 pass through */
    return 0;
}

static int tanh_forward(const Node *nodes, Node *n)
{
    n->data = tanh(left(nodes, n));
    return 0;
}

static int exp_forward(const Node *nodes, Node *n)
{
    double x = left(nodes, n);
    double r = exp(x);
    if (isinf(r) && isfinite(x))
        return MG_ERANGE;
    n->data = r;
    return 0;
}

static int log_forward(const Node *nodes, Node *n)
{
    double x = left(nodes, n);
    if (x <= 0.0) /* also -inf; nan passes through as nan */
        return MG_EDOMAIN;
    n->data = log(x);
    return 0;
}

/* Written so that exp never overflows: exp of a non-positive number only. */
static int sigmoid_forward(const Node *nodes, Node *n)
{
    double x = left(nodes, n);
    if (x >= 0.0) {
        n->data = 1.0 / (1.0 + exp(-x));
    } else {
        double z = exp(x);
        n->data = z / (1.0 + z);
    }
    return 0;
}

/* Kids are x[0..m), w[0..m), b with m = (first - 1) / 2. The sum runs in
 * micrograd's order, b + w0*x0 + w1*x1 + ..., so data is bit-identical to
 * the unfused graph. */
static int neuron_forward(const Node *nodes, Node *n)
{
    const int32_t *k = n->u.list;
    int32_t m = (n->first - 1) / 2;
    double act = nodes[k[2 * m]].data;
    for (int32_t i = 0; i < m; i++)
        act = act + nodes[k[m + i]].data * nodes[k[i]].data;
    n->data = (n->op == MG_NEURON_RELU && act < 0.0) ? 0.0 : act;
    return 0;
}

static const struct {
    int arity; /* children mg_op takes: 1, 2 (1 or 2 for binary ops), 0 for leaves, -1 not via mg_op */
    forward_fn forward;
} OPS[MG_NUM_OPS] = {
    [MG_LEAF] = {0, leaf_forward},
    [MG_ADD] = {2, add_forward},
    [MG_MUL] = {2, mul_forward},
    [MG_POW] = {1, pow_forward},
    [MG_NEG] = {1, neg_forward},
    [MG_RELU] = {1, relu_forward},
    [MG_TANH] = {1, tanh_forward},
    [MG_EXP] = {1, exp_forward},
    [MG_LOG] = {1, log_forward},
    [MG_SIGMOID] = {1, sigmoid_forward},
    [MG_NEURON] = {-1, neuron_forward},
    [MG_NEURON_RELU] = {-1, neuron_forward},
};

/* ---- making nodes ---- */

/* One node, with the lock held: op applied to a (and b, or the constant). */
static int32_t make(int op, int32_t a, int32_t b, double arg)
{
    int arity = OPS[op].arity;
    int32_t nkids = arity == 0 ? 0 : (arity == 2 && b >= 0) ? 2 : 1;
    if ((nkids >= 1 && !node_is_live(a)) || (nkids == 2 && !node_is_live(b)))
        return MG_EINVAL;
    int32_t id = node_new(op, nkids, 0);
    if (id < 0)
        return id;
    Node *n = &store.nodes[id];
    n->first = a;
    if (nkids == 2)
        n->u.second = b;
    else if (op == MG_POW)
        n->u.power->k = arg;
    else
        n->u.arg = arg;
    int err = OPS[op].forward(store.nodes, n);
    if (err) {
        put_back(id);
        return err;
    }
    node_hold_kids(n);
    return id;
}

/* micrograd's compositions: the inner node, made from b (or, with a
 * constant, from a), then the outer one from a and it (or from it and the
 * constant). */
static const struct {
    int inner;
    double inner_arg;
    int outer;
} RECIPES[MG_NUM_RECIPES - MG_SUB] = {
    [MG_SUB - MG_SUB] = {MG_NEG, 0.0, MG_ADD},    /* a + (-b) */
    [MG_RSUB - MG_SUB] = {MG_NEG, 0.0, MG_ADD},   /* (-a) + arg */
    [MG_DIV - MG_SUB] = {MG_POW, -1.0, MG_MUL},   /* a * b**-1 */
    [MG_RDIV - MG_SUB] = {MG_POW, -1.0, MG_MUL},  /* a**-1 * arg */
};

int32_t mg_op(int op, int32_t a, int32_t b, double arg)
{
    int recipe = op >= MG_SUB && op < MG_NUM_RECIPES;
    if (!recipe && (op <= MG_FREE || op >= MG_NUM_OPS || OPS[op].arity < 0))
        return MG_EINVAL;
    store_lock();
    int32_t id;
    if (recipe) {
        int with_constant = op == MG_RSUB || op == MG_RDIV;
        int r = op - MG_SUB;
        int32_t inner = make(RECIPES[r].inner, with_constant ? a : b, -1, RECIPES[r].inner_arg);
        id = inner;
        if (inner >= 0) {
            id = with_constant ? make(RECIPES[r].outer, inner, -1, arg)
                               : make(RECIPES[r].outer, a, inner, 0.0);
            node_drop(inner); /* held by its parent now, or freed if that failed */
        }
    } else {
        id = make(op, a, b, arg);
    }
    store_unlock();
    return id;
}

int32_t mg_layer(int32_t nin, const int32_t *x, int32_t nout, const int32_t *w,
                 const int32_t *b, int relu, int32_t *out)
{
    if (nin < 0 || nout < 0 || nin > (INT32_MAX - 1) / 2)
        return MG_EINVAL;
    store_lock();
    int32_t err = 0;
    for (int32_t i = 0; i < nin && !err; i++)
        if (!node_is_live(x[i]))
            err = MG_EINVAL;
    for (int64_t i = 0; i < (int64_t)nin * nout && !err; i++)
        if (!node_is_live(w[i]))
            err = MG_EINVAL;
    for (int32_t j = 0; j < nout && !err; j++)
        if (!node_is_live(b[j]))
            err = MG_EINVAL;
    int32_t made = 0;
    for (; made < nout && !err; made++) {
        int32_t id = node_new(relu ? MG_NEURON_RELU : MG_NEURON, 2 * nin + 1, 1);
        if (id < 0) {
            err = id;
            break;
        }
        Node *n = &store.nodes[id];
        int32_t *k = n->u.list;
        for (int32_t i = 0; i < nin; i++) {
            k[i] = x[i];
            k[nin + i] = w[(int64_t)made * nin + i];
        }
        k[2 * nin] = b[made];
        neuron_forward(store.nodes, n);
        node_hold_kids(n);
        out[made] = id;
    }
    if (err) /* all or nothing */
        for (int32_t j = 0; j < made; j++)
            node_drop(out[j]);
    store_unlock();
    return err;
}
