/* ops.c - every op: its forward and its backward side by side, its entry in
 * the op table, and the calls that make nodes of a kind.
 *
 * Forward results follow Python's float arithmetic and `math` module to the
 * bit, including which inputs are errors, so the facade raises what the
 * pure-Python reference raises. Backward reads the children's data as it is
 * now (as micrograd's closures do) and never fails: like PyTorch, it gives
 * inf or nan where a derivative does not exist.
 *
 * Adding an op: its kind below, its forward and backward, its row of OPS.
 * (A case in backward_visit's switch makes its backward faster; without one
 * the table's is called.) */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ops.h"
/* The neurons' lanes kernels, where GCC and glibc can pick a version by the CPU when the library
 * loads: one for CPUs with AVX2 (four lanes a register), one for every x86-64. (AVX2 has no
 * fused multiply-add, and -ffp-contract=off forbids one: the same bits either way.) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define LANES_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define LANES_KERNEL
#endif

/* The kinds, in the order of the table (and mg_describe_op's numbers). */
enum {
    OP_LEAF,
    OP_ADD,
    OP_MUL,
    OP_POW,
    OP_RELU,
    OP_TANH,
    OP_EXP,
    OP_LOG,
    OP_SIGMOID,
    OP_DETACH,
    OP_NEURON,
    OP_NEURON_RELU,
    OP_CHAIN,
    OP_CUSTOM,
    OP_BATCH_SUM,
    OP_BATCH_MEAN,
    /* compositions: micrograd makes two nodes for each */
    OP_SUB,
    OP_RSUB,
    OP_DIV,
    OP_RDIV,
    OP_COUNT
};

/* Add d to a child's grad (d_int: d is an int), and mark the child reached
 * so the pass visits it. */
static ALWAYS_INLINE void pass_on(Pass *p, int32_t kid, double d, uint8_t d_int)
{
    double sum = p->grad[kid] + d;
    p->grad[kid] = sum;
    p->last = kid;
    p->last_grad = sum;
    p->gint[kid] &= d_int;
    p->mark[kid] = p->epoch;
}

/* A forward's result: node id's data is x, an int if is_int. */
static inline void set_data(int32_t id, double x, uint8_t is_int)
{
    store.data[id] = x;
    store.dint[id] = is_int;
}

/* ---- what the graph-building backwards (mg_grad) share ----
 * Each makes of nodes what its op's numeric backward computes, in the same
 * order, so a gradient node's data is the number backward would add (but
 * log's: g * x ** -1 for g / x), and an int where backward's would be one. */

static int32_t make(int32_t kind, int32_t a, int32_t b, double arg, int arg_int, int keep_math);

/* A node of a kind from a and b (b = -1: a leaf holding arg), held once. Math
 * that would raise in Python keeps IEEE's inf or nan, as the numeric backward
 * does: a gradient never fails but for memory. */
static int32_t grad_node(int32_t kind, int32_t a, int32_t b, double arg, int arg_int)
{
    return make(kind, a, b, arg, arg_int, 1);
}

/* Node id, held once more. */
static int32_t hold(int32_t id)
{
    store.refs[id]++;
    return id;
}

/* made (a node, or an error), which now holds `used`: let go of used. */
static int32_t then(int32_t made, int32_t used)
{
    node_drop(used);
    return made;
}

int32_t grad_into(GradGraph *gg, int32_t kid, int32_t d)
{
    if (d < 0)
        return d;
    int32_t so_far = gg->grad_of[kid];
    if (so_far < 0) { /* the first part: 0 + d is d */
        gg->grad_of[kid] = d;
        return 0;
    }
    int32_t sum = then(grad_node(OP_ADD, so_far, d, 0.0, 0), d); /* grad += d */
    if (sum < 0)
        return sum;
    node_drop(so_far);
    gg->grad_of[kid] = sum;
    return 0;
}

/* 1 - x, as -x + 1 (which is 1 - x to the bit): tanh's and sigmoid's slopes. */
static int32_t one_minus(int32_t x)
{
    int32_t minus = grad_node(OP_MUL, x, -1, -1.0, 1);
    return minus < 0 ? minus : then(grad_node(OP_ADD, minus, -1, 1.0, 1), minus);
}

/* g times the local derivative `slope` (a node held here), into x's gradient. */
static int32_t grad_times(GradGraph *gg, int32_t x, int32_t slope, int32_t g)
{
    return slope < 0 ? slope : grad_into(gg, x, then(grad_node(OP_MUL, slope, g, 0.0, 0), slope));
}

/* ---- a leaf: data = its constant ---- */

static int leaf_forward(const Node *n, int32_t id)
{
    /* an int has no -0 (x - 0 adds -0.0) */
    set_data(id, n->arg_int ? n->u.arg + 0.0 : n->u.arg, n->arg_int);
    return 0;
}

static inline void leaf_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    (void)p, (void)n, (void)id, (void)g, (void)gi; /* no children */
}

static int32_t leaf_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    (void)gg, (void)id, (void)g;
    return 0;
}

static int leaf_forward_lanes(const Step *s, const double *const *kid, double *out, int32_t n)
{
    (void)kid;
    for (int32_t i = 0; i < n; i++)
        out[i] = s->arg;
    return 0;
}

static void leaf_backward_lanes(const Step *s, const double *const *kid, const double *out,
                                const double *g, double *const *kid_grad, double *const *kid_sum, int32_t n)
{
    (void)kid_sum;
    (void)s, (void)kid, (void)out, (void)g, (void)kid_grad, (void)n; /* no children */
}

/* ---- x + y ---- */

static int add_forward(const Node *n, int32_t id)
{
    int32_t x = n->first, y = n->u.second;
    double r = store.data[x] + store.data[y];
    set_data(id, r, store.dint[x] & store.dint[y] & exact_int(r));
    return 0;
}

static ALWAYS_INLINE void add_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    (void)id;
    pass_on(p, n->first, g, gi);
    pass_on(p, n->u.second, g, gi);
}

static int32_t add_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    int32_t x = store.nodes[id].first, y = store.nodes[id].u.second, err = 0;
    if (gg->need[x])
        err = grad_into(gg, x, hold(g));
    if (!err && gg->need[y])
        err = grad_into(gg, y, hold(g));
    return err;
}

static int add_forward_lanes(const Step *s, const double *const *kid, double *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        out[i] = kid[0][i] + (s->constant ? s->arg : kid[1][i]);
    return 0;
}

static void add_backward_lanes(const Step *s, const double *const *kid, const double *out,
                               const double *g, double *const *kid_grad, double *const *kid_sum, int32_t n)
{
    (void)kid_sum;
    (void)kid, (void)out;
    for (int32_t j = 0; j < (s->constant ? 1 : 2); j++)
        if (kid_grad[j])
            for (int32_t i = 0; i < n; i++)
                kid_grad[j][i] += g[i];
}

/* ---- x * y ---- */

static int mul_forward(const Node *n, int32_t id)
{
    int32_t x = n->first, y = n->u.second;
    double r = store.data[x] * store.data[y];
    uint8_t ints = store.dint[x] & store.dint[y] & exact_int(r);
    set_data(id, ints ? r + 0.0 : r, ints); /* an int has no -0: Python's 0 * -1 is 0 */
    return 0;
}

static ALWAYS_INLINE void mul_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    int32_t x = n->first, y = n->u.second;
    (void)id;
    pass_on(p, x, p->data[y] * g, gi & p->dint[y]);
    pass_on(p, y, p->data[x] * g, gi & p->dint[x]);
}

static int32_t mul_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    int32_t x = store.nodes[id].first, y = store.nodes[id].u.second, err = 0;
    if (gg->need[x])
        err = grad_times(gg, x, hold(y), g);
    if (!err && gg->need[y])
        err = grad_times(gg, y, hold(x), g);
    return err;
}

static int mul_forward_lanes(const Step *s, const double *const *kid, double *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        out[i] = kid[0][i] * (s->constant ? s->arg : kid[1][i]);
    return 0;
}

static void mul_backward_lanes(const Step *s, const double *const *kid, const double *out,
                               const double *g, double *const *kid_grad, double *const *kid_sum, int32_t n)
{
    (void)kid_sum;
    (void)out;
    for (int32_t i = 0; i < n; i++) { /* x's part, then y's, as mul_backward */
        double y = s->constant ? s->arg : kid[1][i];
        if (kid_grad[0])
            kid_grad[0][i] += y * g[i];
        if (!s->constant && kid_grad[1])
            kid_grad[1][i] += kid[0][i] * g[i];
    }
}

/* ---- x ** k ----
 * A power keeps, beside its node, the exponent and the slope x ** (k - 1),
 * computed by forward while x is at hand: libm's pow is slow and would sit in
 * the middle of the backward pass's chain of dependent adds. Backward uses the
 * slope while x is the x it was computed from: code may have set x's data since
 * (from Python, which writes data without a call: see mg_get_views). */
typedef struct {
    double k; /* first: the node's constant (see Op.extra) */
    double slope;
    double x; /* the x the slope is for */
} Power;

/* x ** (k - 1), which the backward of x ** k multiplies by k (pow(x, 1) is x
 * exactly, and x ** 2 is common enough to skip libm's pow for). */
static double pow_slope(double x, double k)
{
    return k == 2.0 ? x : pow(x, k - 1.0);
}

static int same_bits(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x == y;
}

static int is_odd_integer(double k)
{
    return fmod(fabs(k), 2.0) == 1.0;
}

/* x ** k exactly as CPython's float_pow computes it: its special cases, then
 * libm pow, with the same errors (CPython returns a complex number for a
 * negative base and a fractional exponent; we, like math.pow, say ValueError).
 * With an error, *out is IEEE's result (inf, nan), which a gradient made of
 * nodes keeps (mg_grad: a derivative that does not exist is inf or nan). */
static int float_pow(double x, double k, double *out)
{
    int negate = 0;
    if (k == 0.0) {
        *out = 1.0;
        return 0;
    }
    if (isnan(x)) {
        *out = x;
        return 0;
    }
    if (isnan(k)) {
        *out = x == 1.0 ? 1.0 : k;
        return 0;
    }
    if (isinf(k)) {
        x = fabs(x);
        /* fabs(k) is +inf here; the INFINITY macro draws MSVC warning C4756 */
        *out = x == 1.0 ? 1.0 : ((k > 0.0) == (x > 1.0)) ? fabs(k) : 0.0;
        return 0;
    }
    if (isinf(x)) {
        if (k > 0.0)
            *out = is_odd_integer(k) ? x : fabs(x);
        else
            *out = is_odd_integer(k) ? copysign(0.0, x) : 0.0;
        return 0;
    }
    if (x == 0.0) {
        if (k < 0.0) {
            *out = pow(x, k);
            return MG_EZERODIV;
        }
        *out = is_odd_integer(k) ? x : 0.0;
        return 0;
    }
    if (x < 0.0) {
        if (k != floor(k)) {
            *out = pow(x, k); /* nan */
            return MG_EDOMAIN;
        }
        x = -x;
        negate = is_odd_integer(k);
    }
    if (x == 1.0) {
        *out = negate ? -1.0 : 1.0;
        return 0;
    }
    errno = 0;
    double r = pow(x, k);
    if (errno == 0 && isinf(r))
        errno = ERANGE;
    else if (errno == ERANGE && r == 0.0)
        errno = 0; /* underflow to zero is not an error */
    *out = negate ? -r : r;
    if (errno != 0)
        return errno == ERANGE ? MG_ERANGE : MG_EDOMAIN;
    return 0;
}

static int pow_forward(const Node *n, int32_t id)
{
    Power *power = n->u.extra;
    double x = store.data[n->first], k = power->k, r = 0.0;
    if (k != 0.0) { /* for backward, while x is at hand: see Power */
        power->slope = pow_slope(x, k);
        power->x = x;
    }
    int err = float_pow(x, k, &r);
    /* an int to an int power >= 0 is an int (to a negative one, a float) */
    set_data(id, r, store.dint[n->first] && n->arg_int && k >= 0.0 && exact_int(r));
    return err;
}

static ALWAYS_INLINE void pow_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    const Power *power = n->u.extra;
    double x = p->data[n->first], k = power->k;
    (void)id;
    if (k == 0.0) { /* x ** 0 is constant: no gradient (not 0 * x ** -1, nan at 0) */
        p->mark[n->first] = p->epoch;
        return;
    }
    /* forward's slope is for the x of then: the x of now unless x's data was
     * set since (the bits compared: -0.0 and 0.0 have other slopes) */
    double slope = same_bits(x, power->x) ? power->slope : pow_slope(x, k);
    /* k * x ** (k - 1) is an int for an int x and an int k >= 1 */
    uint8_t d_int = gi & p->dint[n->first] & n->arg_int & (k >= 1.0);
    pass_on(p, n->first, (k * slope) * g, d_int);
}

static int32_t pow_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    const Node *n = &store.nodes[id];
    int32_t x = n->first, k_int = n->arg_int;
    double k = ((const Power *)n->u.extra)->k;
    if (k == 0.0 || !gg->need[x]) /* x ** 0 passes no gradient */
        return 0;
    /* (k * x ** (k - 1)) * g, x ** 1 being x itself (as pow_slope has it) */
    int32_t slope = k == 2.0 ? hold(x) : grad_node(OP_POW, x, -1, k - 1.0, k_int);
    if (slope < 0)
        return slope;
    return grad_times(gg, x, then(grad_node(OP_MUL, slope, -1, k, k_int), slope), g);
}

static int pow_forward_lanes(const Step *s, const double *const *kid, double *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        int err = float_pow(kid[0][i], s->arg, &out[i]);
        if (err)
            return err;
    }
    return 0;
}

static void pow_backward_lanes(const Step *s, const double *const *kid, const double *out,
                               const double *g, double *const *kid_grad, double *const *kid_sum, int32_t n)
{
    (void)kid_sum;
    double k = s->arg;
    (void)out;
    if (k == 0.0 || !kid_grad[0]) /* x ** 0 passes no gradient */
        return;
    for (int32_t i = 0; i < n; i++)
        kid_grad[0][i] += (k * pow_slope(kid[0][i], k)) * g[i];
}

/* ---- relu ---- */

static int relu_forward(const Node *n, int32_t id)
{
    double x = store.data[n->first];
    /* micrograd's `0 if x < 0 else x`: nan and -0.0 pass through, and a
     * negative number gives the int 0 */
    set_data(id, x < 0.0 ? 0.0 : x, x < 0.0 ? 1 : store.dint[n->first]);
    return 0;
}

static ALWAYS_INLINE void relu_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    pass_on(p, n->first, (double)(p->data[id] > 0.0) * g, gi); /* micrograd: a bool times g */
}

static int32_t relu_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    int32_t x = store.nodes[id].first;
    if (!gg->need[x])
        return 0;
    /* the 0 or 1 is a constant: relu's second derivative is 0 (where it has one) */
    return grad_into(gg, x, grad_node(OP_MUL, g, -1, (double)(store.data[id] > 0.0), 1));
}

static int relu_forward_lanes(const Step *s, const double *const *kid, double *out, int32_t n)
{
    (void)s;
    for (int32_t i = 0; i < n; i++)
        out[i] = kid[0][i] < 0.0 ? 0.0 : kid[0][i];
    return 0;
}

static void relu_backward_lanes(const Step *s, const double *const *kid, const double *out,
                                const double *g, double *const *kid_grad, double *const *kid_sum, int32_t n)
{
    (void)kid_sum;
    (void)s, (void)kid;
    if (kid_grad[0])
        for (int32_t i = 0; i < n; i++)
            kid_grad[0][i] += (double)(out[i] > 0.0) * g[i];
}

/* ---- tanh ---- */

static int tanh_forward(const Node *n, int32_t id)
{
    set_data(id, tanh(store.data[n->first]), 0);
    return 0;
}

static ALWAYS_INLINE void tanh_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    double t = p->data[id];
    (void)gi;
    pass_on(p, n->first, (1.0 - t * t) * g, 0);
}

static int32_t tanh_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    int32_t x = store.nodes[id].first;
    if (!gg->need[x])
        return 0;
    int32_t tt = grad_node(OP_MUL, id, id, 0.0, 0); /* (1 - t*t) * g, t the node itself */
    return grad_times(gg, x, tt < 0 ? tt : then(one_minus(tt), tt), g);
}

static int tanh_forward_lanes(const Step *s, const double *const *kid, double *out, int32_t n)
{
    (void)s;
    for (int32_t i = 0; i < n; i++)
        out[i] = tanh(kid[0][i]);
    return 0;
}

static void tanh_backward_lanes(const Step *s, const double *const *kid, const double *out,
                                const double *g, double *const *kid_grad, double *const *kid_sum, int32_t n)
{
    (void)kid_sum;
    (void)s, (void)kid;
    if (kid_grad[0])
        for (int32_t i = 0; i < n; i++)
            kid_grad[0][i] += (1.0 - out[i] * out[i]) * g[i];
}

/* ---- exp ---- */

static int exp_forward(const Node *n, int32_t id)
{
    double x = store.data[n->first];
    double r = exp(x);
    set_data(id, r, 0);
    return isinf(r) && isfinite(x) ? MG_ERANGE : 0;
}

static ALWAYS_INLINE void exp_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    /* out.data * out.grad: an int only if code set data to one */
    pass_on(p, n->first, p->data[id] * g, gi & p->dint[id]);
}

static int32_t exp_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    int32_t x = store.nodes[id].first;
    return gg->need[x] ? grad_times(gg, x, hold(id), g) : 0;
}

static int exp_forward_lanes(const Step *s, const double *const *kid, double *out, int32_t n)
{
    (void)s;
    for (int32_t i = 0; i < n; i++) {
        out[i] = exp(kid[0][i]);
        if (isinf(out[i]) && isfinite(kid[0][i]))
            return MG_ERANGE;
    }
    return 0;
}

static void exp_backward_lanes(const Step *s, const double *const *kid, const double *out,
                               const double *g, double *const *kid_grad, double *const *kid_sum, int32_t n)
{
    (void)kid_sum;
    (void)s, (void)kid;
    if (kid_grad[0])
        for (int32_t i = 0; i < n; i++)
            kid_grad[0][i] += out[i] * g[i];
}

/* ---- log ---- */

static int log_forward(const Node *n, int32_t id)
{
    double x = store.data[n->first];
    set_data(id, log(x), 0);
    return x <= 0.0 ? MG_EDOMAIN : 0; /* also -inf; nan passes through as nan */
}

static ALWAYS_INLINE void log_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    (void)id, (void)gi;
    pass_on(p, n->first, g / p->data[n->first], 0);
}

static int32_t log_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    int32_t x = store.nodes[id].first;
    return gg->need[x] ? grad_times(gg, x, grad_node(OP_POW, x, -1, -1.0, 1), g) : 0;
}

static int log_forward_lanes(const Step *s, const double *const *kid, double *out, int32_t n)
{
    (void)s;
    for (int32_t i = 0; i < n; i++) {
        if (kid[0][i] <= 0.0)
            return MG_EDOMAIN;
        out[i] = log(kid[0][i]);
    }
    return 0;
}

static void log_backward_lanes(const Step *s, const double *const *kid, const double *out,
                               const double *g, double *const *kid_grad, double *const *kid_sum, int32_t n)
{
    (void)kid_sum;
    (void)s, (void)out;
    if (kid_grad[0])
        for (int32_t i = 0; i < n; i++)
            kid_grad[0][i] += g[i] / kid[0][i];
}

/* ---- sigmoid ---- */

/* Written so that exp never overflows: exp of a non-positive number only. */
static double sigmoid_of(double x)
{
    if (x >= 0.0)
        return 1.0 / (1.0 + exp(-x));
    double z = exp(x);
    return z / (1.0 + z);
}

static int sigmoid_forward(const Node *n, int32_t id)
{
    set_data(id, sigmoid_of(store.data[n->first]), 0);
    return 0;
}

static ALWAYS_INLINE void sigmoid_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    double s = p->data[id];
    (void)gi;
    pass_on(p, n->first, (s * (1.0 - s)) * g, 0);
}

static int32_t sigmoid_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    int32_t x = store.nodes[id].first;
    if (!gg->need[x])
        return 0;
    int32_t rest = one_minus(id); /* (s * (1 - s)) * g, s the node itself */
    return grad_times(gg, x, rest < 0 ? rest : then(grad_node(OP_MUL, id, rest, 0.0, 0), rest), g);
}

static int sigmoid_forward_lanes(const Step *s, const double *const *kid, double *out, int32_t n)
{
    (void)s;
    for (int32_t i = 0; i < n; i++)
        out[i] = sigmoid_of(kid[0][i]);
    return 0;
}

static void sigmoid_backward_lanes(const Step *s, const double *const *kid, const double *out,
                                   const double *g, double *const *kid_grad, double *const *kid_sum, int32_t n)
{
    (void)kid_sum;
    (void)s, (void)kid;
    if (kid_grad[0])
        for (int32_t i = 0; i < n; i++)
            kid_grad[0][i] += (out[i] * (1.0 - out[i])) * g[i];
}

/* ---- detach: x's number, with no gradient back to x ----
 *
 * torch's detach. The node keeps x as its child, so that a recording replays
 * it (its data is x's at each replay), but its backward passes nothing to x:
 * a number computed from Values that the gradient treats as a constant (the
 * shift of a softmax, a target made from other Values). */

static int detach_forward(const Node *n, int32_t id)
{
    set_data(id, store.data[n->first], store.dint[n->first]);
    return 0;
}

static ALWAYS_INLINE void detach_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    /* Nothing to x's grad; but x is marked reached, so the pass still visits
     * it (and what it was made from), as micrograd's topological order does. */
    (void)id, (void)g, (void)gi;
    p->mark[n->first] = p->epoch;
}

static int32_t detach_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    (void)gg, (void)id, (void)g;
    return 0;
}

static int detach_forward_lanes(const Step *s, const double *const *kid, double *out, int32_t n)
{
    (void)s;
    for (int32_t i = 0; i < n; i++)
        out[i] = kid[0][i];
    return 0;
}

static void detach_backward_lanes(const Step *s, const double *const *kid, const double *out,
                                  const double *g, double *const *kid_grad, double *const *kid_sum, int32_t n)
{
    (void)kid_sum;
    (void)s, (void)kid, (void)out, (void)g, (void)kid_grad, (void)n;
}

/* ---- a fused neuron: act(b + w0*x0 + w1*x1 + ...), one node per neuron of a layer ----
 * Kids are x[0..m), w[0..m), b with m = (first - 1) / 2. The sum runs in
 * micrograd's order, so data is bit-identical to the unfused graph. */

static int neuron_forward(const Node *n, int32_t id)
{
    const int32_t *k = n->u.list;
    const double *data = store.data;
    const uint8_t *dint = store.dint;
    int32_t m = (n->first - 1) / 2;
    double act = data[k[2 * m]];
    uint8_t ints = dint[k[2 * m]];
    for (int32_t i = 0; i < m; i++) {
        act = act + data[k[m + i]] * data[k[i]];
        ints &= dint[k[m + i]] & dint[k[i]];
    }
    int relu = n->op == OP_NEURON_RELU && act < 0.0;
    set_data(id, relu ? 0.0 : act, relu ? 1 : ints & exact_int(act));
    return 0;
}

static ALWAYS_INLINE void neuron_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    const int32_t *k = n->u.list;
    int32_t m = (n->first - 1) / 2;
    if (n->op == OP_NEURON_RELU)
        g = (double)(p->data[id] > 0.0) * g;
    for (int32_t i = 0; i < m; i++) {
        int32_t w = k[m + i], x = k[i];
        pass_on(p, w, p->data[x] * g, gi & p->dint[x]);
        pass_on(p, x, p->data[w] * g, gi & p->dint[w]);
    }
    pass_on(p, k[2 * m], g, gi);
}

static int32_t neuron_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    const int32_t *k = store.nodes[id].u.list; /* (the list stays put; the node array may not) */
    int32_t m = (store.nodes[id].first - 1) / 2, err = 0;
    int32_t gate = store.nodes[id].op == OP_NEURON_RELU
                       ? grad_node(OP_MUL, g, -1, (double)(store.data[id] > 0.0), 1) : hold(g);
    if (gate < 0)
        return gate;
    for (int32_t i = 0; i < m && !err; i++) {
        int32_t w = k[m + i], x = k[i];
        if (gg->need[w])
            err = grad_times(gg, w, hold(x), gate);
        if (!err && gg->need[x])
            err = grad_times(gg, x, hold(w), gate);
    }
    if (!err && gg->need[k[2 * m]])
        err = grad_into(gg, k[2 * m], hold(gate));
    node_drop(gate);
    return err;
}

/* Four lanes' partial sums, for the sums over lanes below: a vector of four with GCC and Clang
 * (one AVX2 register, two SSE2 ones), else an array; the same adds and multiplies either way,
 * lane by lane. (Passed by pointer: a vector passed by value would depend on the CPU's ABI.) */
#if defined(__GNUC__)
typedef double Four __attribute__((vector_size(4 * sizeof(double))));
/* *s += a[k] * b[k], lane k of four */
static ALWAYS_INLINE void four_add_mul(Four *s, const double *a, const double *b)
{
    Four x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    *s += x * y;
}
static ALWAYS_INLINE void four_add(Four *s, const double *a)
{
    Four x;
    memcpy(&x, a, sizeof x);
    *s += x;
}
/* *s += w * x[k], lane k of four */
static ALWAYS_INLINE void four_add_scaled(Four *s, double w, const double *x)
{
    Four v;
    memcpy(&v, x, sizeof v);
    *s += w * v;
}
static ALWAYS_INLINE double four_get(const Four *v, int k) { return (*v)[k]; }
#else
typedef struct { double v[4]; } Four;
static ALWAYS_INLINE void four_add_mul(Four *s, const double *a, const double *b)
{
    for (int k = 0; k < 4; k++)
        s->v[k] += a[k] * b[k];
}
static ALWAYS_INLINE void four_add(Four *s, const double *a)
{
    for (int k = 0; k < 4; k++)
        s->v[k] += a[k];
}
static ALWAYS_INLINE void four_add_scaled(Four *s, double w, const double *x)
{
    for (int k = 0; k < 4; k++)
        s->v[k] += w * x[k];
}
static ALWAYS_INLINE double four_get(const Four *v, int k) { return v->v[k]; }
#endif

/* neuron_eight_lanes for sixteen lanes, in four Fours: each weight (and its input's pointer)
 * read once for twice as many lanes (a layer of 784 inputs spent more on reading them than on
 * eight lanes' arithmetic). Each lane adds its terms in the same order. */
static ALWAYS_INLINE void neuron_sixteen_lanes(const double *const *kid, int32_t m, double *out, int32_t i0)
{
    double b = kid[2 * m][0], start[4] = { b, b, b, b };
    Four s0, s1, s2, s3;
    memcpy(&s0, start, sizeof s0), memcpy(&s1, start, sizeof s1);
    memcpy(&s2, start, sizeof s2), memcpy(&s3, start, sizeof s3);
    for (int32_t j = 0; j < m; j++) {
        const double w = kid[m + j][0], *x = kid[j] + i0;
        four_add_scaled(&s0, w, x);
        four_add_scaled(&s1, w, x + 4);
        four_add_scaled(&s2, w, x + 8);
        four_add_scaled(&s3, w, x + 12);
    }
    memcpy(out + i0, &s0, sizeof s0), memcpy(out + i0 + 4, &s1, sizeof s1);
    memcpy(out + i0 + 8, &s2, sizeof s2), memcpy(out + i0 + 12, &s3, sizeof s3);
}

/* Eight lanes of a neuron whose weights are one number each (params), from lane i0: their
 * sums kept in registers through all the inputs (each lane's in neuron_forward's order), so
 * that each input's lanes are read once and the sums written once. */
static ALWAYS_INLINE void neuron_eight_lanes(const double *const *kid, int32_t m, double *out, int32_t i0)
{
    double b = kid[2 * m][0];
    double s0 = b, s1 = b, s2 = b, s3 = b, s4 = b, s5 = b, s6 = b, s7 = b;
    for (int32_t j = 0; j < m; j++) {
        const double w = kid[m + j][0], *x = kid[j] + i0;
        s0 = s0 + w * x[0];
        s1 = s1 + w * x[1];
        s2 = s2 + w * x[2];
        s3 = s3 + w * x[3];
        s4 = s4 + w * x[4];
        s5 = s5 + w * x[5];
        s6 = s6 + w * x[6];
        s7 = s7 + w * x[7];
    }
    out[i0] = s0, out[i0 + 1] = s1, out[i0 + 2] = s2, out[i0 + 3] = s3;
    out[i0 + 4] = s4, out[i0 + 5] = s5, out[i0 + 6] = s6, out[i0 + 7] = s7;
}

/* Input by input over all lanes (not lane by lane over the inputs), so that the compiler can
 * vectorise across lanes; each lane still adds its terms in neuron_forward's order. With
 * params, each weight and the bias is one number (kid[j][0]) for all lanes. */
LANES_KERNEL static int neuron_forward_lanes(const Step *s, const double *const *kid, double *out, int32_t n)
{
    int32_t m = (s->nkids - 1) / 2, lo = 0; /* lanes [0, lo) done eight at a time */
    if (s->params) {
        for (; lo + 16 <= n; lo += 16)
            neuron_sixteen_lanes(kid, m, out, lo);
        for (; lo + 8 <= n; lo += 8)
            neuron_eight_lanes(kid, m, out, lo);
    }
    for (int32_t i = lo; i < n; i++)
        out[i] = s->params ? kid[2 * m][0] : kid[2 * m][i]; /* b + w0*x0 + w1*x1 + ... */
    for (int32_t j = 0; j < m; j++) {
        const double *w = kid[m + j], *x = kid[j];
        if (s->params) {
            double wj = w[0];
            for (int32_t i = lo; i < n; i++)
                out[i] = out[i] + wj * x[i];
        } else {
            for (int32_t i = lo; i < n; i++)
                out[i] = out[i] + w[i] * x[i];
        }
    }
    if (s->op == OP_NEURON_RELU)
        for (int32_t i = 0; i < n; i++)
            out[i] = out[i] < 0.0 ? 0.0 : out[i];
    return 0;
}

/* Four partial sums into one number, after the terms of the lanes from i (past the last whole
 * four) are added in: x[i] * gate[i] each, or gate[i] (x NULL). */
static ALWAYS_INLINE double four_total(const Four *sums, const double *x, const double *gate, int32_t i,
                                       int32_t n)
{
    double s[4] = { four_get(sums, 0), four_get(sums, 1), four_get(sums, 2), four_get(sums, 3) };
    for (int32_t k = 0; i + k < n; k++)
        s[k] += x ? x[i + k] * gate[i + k] : gate[i + k];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* The sums over n lanes of x[k][i] * gate[i] for four inputs x[k] (four weights' gradients:
 * gate is read once for them all), each in four partial sums (lane i's term into sum i % 4,
 * the four added at the end): one running sum would wait ~4 cycles on each add, and four dots
 * keep sixteen sums going at once. The same order, so the same sums, for a given n. */
static ALWAYS_INLINE void lanes_dots(const double *const x[4], const double *gate, int32_t n,
                                     double dots[4])
{
    Four s0 = { 0.0, 0.0, 0.0, 0.0 }, s1 = s0, s2 = s0, s3 = s0; /* (four variables: in registers) */
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        four_add_mul(&s0, x[0] + i, gate + i);
        four_add_mul(&s1, x[1] + i, gate + i);
        four_add_mul(&s2, x[2] + i, gate + i);
        four_add_mul(&s3, x[3] + i, gate + i);
    }
    dots[0] = four_total(&s0, x[0], gate, i, n);
    dots[1] = four_total(&s1, x[1], gate, i, n);
    dots[2] = four_total(&s2, x[2], gate, i, n);
    dots[3] = four_total(&s3, x[3], gate, i, n);
}

/* The sum over n lanes of gate[i] (a bias's gradient), in four partial sums as lanes_dots. */
static ALWAYS_INLINE double lanes_sum(const double *gate, int32_t n)
{
    Four s = { 0.0, 0.0, 0.0, 0.0 };
    int32_t i = 0;
    for (; i + 4 <= n; i += 4)
        four_add(&s, gate + i);
    return four_total(&s, NULL, gate, i, n);
}

/* A child's share of a neuron's lanes' gradient, d[i] * gate[i] each lane (gate[i] alone for
 * the bias: d NULL), added into its lanes (kid_grad), or summed over the lanes into *sum
 * (kid_sum) for the bias of a neuron with params. (A loop for each case, none with a test
 * inside, so that they vectorise.) */
static ALWAYS_INLINE void neuron_share(double *sum, double *lanes, const double *d, const double *gate,
                                       int32_t n)
{
    if (sum)
        *sum += lanes_sum(gate, n);
    else if (lanes && d) {
        for (int32_t i = 0; i < n; i++)
            lanes[i] += d[i] * gate[i];
    } else if (lanes) {
        for (int32_t i = 0; i < n; i++)
            lanes[i] += gate[i];
    }
}

/* An input's share when its weight is one number for all lanes (params). */
static ALWAYS_INLINE void neuron_input_share(double *lanes, double w, const double *gate, int32_t n)
{
    if (lanes)
        for (int32_t i = 0; i < n; i++)
            lanes[i] += w * gate[i];
}

/* The children in neuron_backward's order (each weight, then its input; the bias last), each
 * over all lanes. */
LANES_KERNEL static void neuron_backward_lanes(const Step *s, const double *const *kid, const double *out,
                                  const double *g, double *const *kid_grad, double *const *kid_sum,
                                  int32_t n)
{
    int32_t m = (s->nkids - 1) / 2;
    double relu_gate[LANES_MAX];
    const double *gate = g; /* each lane's gradient at the sum: g, or g where the relu let it by */
    if (s->op == OP_NEURON_RELU) {
        for (int32_t i = 0; i < n; i++) /* (as relu's backward: 0 * inf is NaN there too) */
            relu_gate[i] = (double)(out[i] > 0.0) * g[i];
        gate = relu_gate;
    }
    for (int32_t j = 0; j < m && s->params; j += 4) { /* weights four at a time (see lanes_dots) */
        const double *x[4];
        double dw[4];
        int32_t count = m - j < 4 ? m - j : 4;
        for (int32_t k = 0; k < 4; k++) /* (past the last weight: its input again, unused) */
            x[k] = kid[j + (k < count ? k : count - 1)];
        lanes_dots(x, gate, n, dw);
        for (int32_t k = 0; k < count; k++) {
            *kid_sum[m + j + k] += dw[k];
            neuron_input_share(kid_grad[j + k], kid[m + j + k][0], gate, n);
        }
    }
    for (int32_t j = 0; j < m && !s->params; j++) {
        neuron_share(NULL, kid_grad[m + j], kid[j], gate, n);
        neuron_share(NULL, kid_grad[j], kid[m + j], gate, n);
    }
    neuron_share(kid_sum[2 * m], kid_grad[2 * m], NULL, gate, n);
}

/* ---- a fused chain: b + a0*b0 + a1*b1 + ..., a recording's sum of products ----
 * What `sum(p * p for p in params)` makes, as one node of a replay (replay.c fuses such
 * chains of two products or more): kids as a neuron's, x[m] (each product's second factor),
 * w[m] (its first), b. Forward and backward are those of the chain's nodes, to the bit: each
 * product and partial sum rounded and flagged int as mul and add do, and the grads added in
 * the order a pass visits the nodes (the last product first; b before the first product).
 * Those nodes' own grads (micrograd's intermediates, which add up over passes) are kept
 * after the kid list (Chain): until a second pass they are all one number; after it, the
 * next pass first turns the chain into its nodes (expand_passed_chains) and visits those. */

typedef struct {
    double grad;         /* the grad of each node of the chain but the last (all the same
                          * until a second pass) */
    double second;       /* the chain's grad at the second pass (its nodes' grads follow) */
    uint8_t gint, second_int, passes;
} Chain;

/* (after the kid list, which need not leave it aligned: read and written by copy) */
static void chain_state(const Node *n, Chain *c)
{
    memcpy(c, n->u.list + n->first, sizeof *c);
}

static void set_chain_state(const Node *n, const Chain *c)
{
    memcpy(n->u.list + n->first, c, sizeof *c);
}

/* The chains a second pass has visited since the last pass began (some may be freed since,
 * their slots reused): expand_passed_chains's list. Where it could not grow, every chain on
 * the tape is looked at instead (lost). */
static struct {
    int32_t *ids, count, cap, lost;
} passed;

static void note_passed(int32_t id)
{
    if (passed.count == passed.cap) {
        int32_t cap = passed.cap ? 2 * passed.cap : 64;
        int32_t *ids = cap > passed.cap ? realloc(passed.ids, (size_t)cap * sizeof(int32_t)) : NULL;
        if (!ids) {
            passed.lost = 1;
            return;
        }
        passed.ids = ids;
        passed.cap = cap;
    }
    passed.ids[passed.count++] = id;
}

static int chain_forward(const Node *n, int32_t id)
{
    const int32_t *k = n->u.list;
    int32_t m = (n->first - 1) / 2;
    double sum = store.data[k[2 * m]];
    uint8_t ints = store.dint[k[2 * m]];
    for (int32_t i = 0; i < m; i++) {
        int32_t w = k[m + i], x = k[i];
        double p = store.data[w] * store.data[x];
        uint8_t pint = store.dint[w] & store.dint[x] & exact_int(p);
        sum = sum + (pint ? p + 0.0 : p); /* (mul_forward's: an int has no -0) */
        ints = ints & pint & exact_int(sum);
    }
    set_data(id, sum, ints);
    const Chain fresh = { 0.0, 0.0, 1, 1, 0 };
    set_chain_state(n, &fresh);
    return 0;
}

/* Product i's share: mul_backward's, with d the product's grad. */
static ALWAYS_INLINE void chain_product_backward(Pass *p, const int32_t *k, int32_t m, int32_t i,
                                                 double d, uint8_t di)
{
    int32_t w = k[m + i], x = k[i];
    pass_on(p, w, p->data[x] * d, di & p->dint[x]);
    pass_on(p, x, p->data[w] * d, di & p->dint[w]);
}

/* A pass at the chain, its grad g: the last sum gives g to the sum before and the last
 * product, which (holding c.grad so far) then have c.grad + g, which the sum passes on, and
 * so on down the chain. */
static void chain_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    const int32_t *k = n->u.list;
    int32_t m = (n->first - 1) / 2;
    Chain c;
    chain_state(n, &c);
    double t = c.grad + g; /* (the first pass: 0 + g, which is g but for -0.0) */
    uint8_t ti = c.gint & gi;
    for (int32_t i = m - 1; i >= 1; i--) {
        chain_product_backward(p, k, m, i, t, ti);
        if (i > 1)
            t = c.grad + t;
    }
    pass_on(p, k[2 * m], t, ti); /* b, from the first sum */
    t = c.grad + t;
    chain_product_backward(p, k, m, 0, t, ti);
    if (c.passes == 0) { /* every node's: 0 + g */
        c.grad = t;
        c.gint = ti;
    } else if (c.passes == 1) {
        c.second = g;
        c.second_int = gi;
        note_passed(id);
    } /* (a third pass where the chain could not be expanded adds as if it were the second) */
    c.passes += c.passes < 2;
    set_chain_state(n, &c);
}

/* The grads of a chain's nodes (made: as expand_neuron makes them) after its second pass. */
static void chain_grads(const int32_t *made, int32_t count, const Chain *c)
{
    double t = c->grad + c->second;
    uint8_t ti = c->gint & c->second_int;
    for (int32_t j = count - 1; j >= 0; j--) { /* the last product, the sum before, ... */
        if (j % 2 == 0 && j != count - 1)
            t = c->grad + t;
        store.grad[made[j]] = t;
        store.gint[made[j]] = ti;
    }
}

static int32_t chain_product_graph(GradGraph *gg, const int32_t *k, int32_t m, int32_t i, int32_t g)
{
    int32_t w = k[m + i], x = k[i], err = 0;
    if (gg->need[w])
        err = grad_times(gg, w, hold(x), g);
    if (!err && gg->need[x])
        err = grad_times(gg, x, hold(w), g);
    return err;
}

/* (in chain_backward's order; each node of the chain passes g itself on) */
static int32_t chain_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    const int32_t *k = store.nodes[id].u.list; /* (the list stays put; the node array may not) */
    int32_t m = (store.nodes[id].first - 1) / 2, err = 0;
    for (int32_t i = m - 1; i >= 1 && !err; i--)
        err = chain_product_graph(gg, k, m, i, g);
    if (!err && gg->need[k[2 * m]])
        err = grad_into(gg, k[2 * m], hold(g));
    return err ? err : chain_product_graph(gg, k, m, 0, g);
}

int node_has_backward(const Node *n)
{
    return node_nkids(n) > 0 || n->op == OP_CUSTOM || n->op == OP_BATCH_SUM || n->op == OP_BATCH_MEAN;
}

int32_t step_first_param(const Step *s)
{
    return s->op == OP_NEURON || s->op == OP_NEURON_RELU || s->op == OP_CHAIN ? (s->nkids - 1) / 2
                                                                              : s->nkids;
}

/* ---- a reduced batch: compile's batch(..., reduce="sum" or "mean") ----
 * The node's data is the sum of a batch's outputs (a mean: times 1.0 / n), and it owns the
 * batch (replay.c), its lanes kept for backward: its backward is the batch's, seeded with the
 * node's grad times that scale, and adds every sample's gradient into the captured nodes'
 * grads. Its children are the captured nodes that have a backward of their own (made from
 * others outside the recording), so that a pass goes on to them; a model's parameters get
 * their grads from the batch alone. */
typedef struct {
    mg_batch *batch;
    double scale;        /* 1.0 for a sum, 1.0 / n for a mean */
} Reduced;

/* (after the kid list, which need not leave it aligned: read and written by copy) */
static Reduced reduced_state(const Node *n)
{
    Reduced r;
    memcpy(&r, n->u.list + n->first, sizeof r);
    return r;
}

int32_t reduced_node(mg_batch *batch, const int32_t *kids, int32_t nkids, double total, int mean, int32_t n)
{
    Reduced r = { batch, mean ? 1.0 / n : 1.0 };
    int32_t id = node_new(mean ? OP_BATCH_MEAN : OP_BATCH_SUM, nkids);
    if (id < 0)
        return id;
    Node *node = &store.nodes[id];
    for (int32_t j = 0; j < nkids; j++)
        node->u.list[j] = kids[j];
    memcpy(node->u.list + node->first, &r, sizeof r);
    node_hold_kids(node);
    store.data[id] = total * r.scale; /* (a sum's: total itself) */
    return id;
}

static void reduced_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    Reduced r = reduced_state(n);
    (void)id, (void)gi;
    batch_backward(r.batch, r.scale * g); /* (into the children's grads too) */
    for (int32_t j = 0; j < n->first; j++) /* so the pass visits them */
        p->mark[n->u.list[j]] = p->epoch;
}

/* Only a pass computes it (mg_grad says MG_EINVAL: see micrograd.h). */
static int32_t reduced_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    (void)gg, (void)id, (void)g;
    return MG_EINVAL;
}

int reduced_needs(const Node *n, const uint8_t *need)
{
    return (n->op == OP_BATCH_SUM || n->op == OP_BATCH_MEAN) && batch_needs(reduced_state(n).batch, need);
}

static void reduced_release(const Node *n)
{
    batch_drop(reduced_state(n).batch);
}

/* ---- a custom node: micrograd's Value(data, _children, _op) ----
 * Its data is given and its backward is the caller's, in Python: the pass
 * stops at it and hands it back (see mg_backward). Its own backward does
 * nothing, as micrograd's `_backward` does until code assigns one. */

static inline void custom_backward(Pass *p, const Node *n, int32_t id, double g, uint8_t gi)
{
    (void)p, (void)n, (void)id, (void)g, (void)gi;
}

static int compare_ids(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The local derivatives are numbers Python got from the node's closure: g
 * times each is exact to first order (a closure's own arithmetic is not
 * recorded, so higher derivatives take them as constants). */
static int32_t custom_backward_graph(GradGraph *gg, int32_t id, int32_t g)
{
    const mg_grad_spec *spec = gg->spec;
    const int32_t *at = spec->ncustom > 0
        ? bsearch(&id, spec->custom, (size_t)spec->ncustom, sizeof(int32_t), compare_ids) : NULL;
    int32_t nkids = node_nkids(&store.nodes[id]), err = 0;
    if (!at)
        return MG_EINVAL;
    int64_t first = spec->custom_at[at - spec->custom];
    if (first < 0 || first + nkids > spec->ncustom_d)
        return MG_EINVAL;
    for (int32_t j = 0; j < nkids && !err; j++) {
        int32_t kid = node_kid(&store.nodes[id], j);
        if (gg->need[kid])
            err = grad_into(gg, kid, grad_node(OP_MUL, g, -1, spec->custom_d[first + j], 0));
    }
    return err;
}

/* The chain mg_expand makes of a neuron (or a fused chain) with m inputs, in
 * micrograd's order: w0*x0, b + that, w1*x1, the sum + that, ...; with a ReLU,
 * all 2m nodes are new and the neuron's node becomes ReLU(the last sum);
 * without, the last sum is the neuron's node itself. Each new node's grad is
 * g (gi: an int): what micrograd's backward has passed down the chain; or, for a
 * fused chain a second pass has visited, what chain_grads says. */
static int32_t expand_neuron(int32_t id, double g, uint8_t gi, const Chain *chain)
{
    Node *n = &store.nodes[id];
    int32_t m = (n->first - 1) / 2, relu = n->op == OP_NEURON_RELU;
    int32_t count = relu ? 2 * m : 2 * m - 1;
    if (m == 0) /* a neuron of no inputs is its bias: nothing to show */
        return 0;
    if (store.node_limit && store.live + count > store.node_limit)
        return MG_ENOMEM;
    int32_t *made = malloc((size_t)count * sizeof(int32_t));
    if (!made)
        return MG_ENOMEM;
    for (int32_t j = 0; j < count; j++) {
        made[j] = node_new(j % 2 ? OP_ADD : OP_MUL, 2);
        if (made[j] < 0) {
            while (j-- > 0)
                put_back(made[j]);
            free(made);
            return MG_ENOMEM;
        }
        store.refs[made[j]] = 0; /* held by its parent only, below */
    }
    n = &store.nodes[id]; /* (the store may have moved) */
    const int32_t *k = n->u.list;
    int32_t sum = k[2 * m];
    for (int32_t j = 0; j < count; j++) {
        Node *c = &store.nodes[made[j]];
        if (j % 2 == 0) { /* w_i * x_i */
            c->first = k[m + j / 2];
            c->u.second = k[j / 2];
            mul_forward(c, made[j]);
        } else {
            c->first = sum;
            c->u.second = made[j - 1];
            add_forward(c, made[j]);
            sum = made[j];
        }
        node_hold_kids(c);
        store.grad[made[j]] = g;
        store.gint[made[j]] = gi;
    }
    /* The neuron's new children are held before it lets go of the old ones
     * (its bias may be held by nothing else); the others are held by the chain. */
    int32_t last = made[count - 1];
    store.refs[sum]++;
    if (!relu)
        store.refs[last]++;
    node_unlink(id);
    n = &store.nodes[id];
    n->first = sum;
    if (relu) {
        n->op = n->layout = OP_RELU;
        n->nkids = 1;
    } else { /* the last +: the sum so far + the last product */
        n->op = n->layout = OP_ADD;
        n->nkids = 2;
        n->u.second = last;
    }
    if (chain && chain->passes == 2)
        chain_grads(made, count, chain);
    tape_move_before(id, count);
    free(made);
    return 0;
}

/* mg_expand with the lock held. Not while a pass is stopped at a custom node
 * (the nodes it has left to visit are listed, and the chain's new nodes would
 * not be) or a recording is open (it is the tape past a point, which moving
 * the chain before the neuron would change); so then the neuron stays one node. */
static int32_t expand(int32_t id)
{
    const Node *n = &store.nodes[id];
    if (tape_pinned())
        return 0;
    if (n->op == OP_NEURON || n->op == OP_NEURON_RELU) {
        double g = store.grad[id];
        return expand_neuron(id, n->op == OP_NEURON_RELU ? (double)(store.data[id] > 0.0) * g : g,
                             store.gint[id], NULL);
    }
    if (n->op == OP_CHAIN) {
        Chain c;
        chain_state(n, &c);
        return expand_neuron(id, c.grad, c.gint, &c);
    }
    return 0;
}

/* Whether live node id is a fused chain a second pass has visited. */
static int chain_passed(int32_t id)
{
    Chain c;
    if (store.nodes[id].op != OP_CHAIN)
        return 0;
    chain_state(&store.nodes[id], &c);
    return c.passes == 2;
}

void expand_passed_chains(void)
{
    if ((passed.count == 0 && !passed.lost) || tape_pinned())
        return;
    int32_t err = 0;
    for (int32_t i = 0; i < passed.count; i++) {
        int32_t id = passed.ids[i];
        if (node_is_live(id) && chain_passed(id))
            err |= expand(id);
    }
    for (int32_t p = 0; passed.lost && p < store.tape_len; p++) {
        int32_t id = store.tape[p];
        if (chain_passed(id))
            err |= expand(id); /* (the nodes it makes go before it: p + 1 is one of them) */
    }
    passed.count = 0;
    passed.lost = err != 0; /* (out of memory: left as they are, looked for again next time) */
}

int32_t mg_expand(int32_t id)
{
    store_lock();
    int32_t err = node_is_live(id) ? expand(id) : MG_ENODE;
    store_unlock();
    return err;
}

/* ---- the table ---- */

const Op OPS[OP_COUNT] = {
    [OP_LEAF] = {"leaf", "", 0, leaf_forward, leaf_backward, leaf_backward_graph, leaf_forward_lanes, leaf_backward_lanes},
    [OP_ADD] = {"add", "+", 2, add_forward, add_backward, add_backward_graph, add_forward_lanes, add_backward_lanes},
    [OP_MUL] = {"mul", "*", 2, mul_forward, mul_backward, mul_backward_graph, mul_forward_lanes, mul_backward_lanes},
    [OP_POW] = {"pow", "**", 1, pow_forward, pow_backward, pow_backward_graph,
                pow_forward_lanes, pow_backward_lanes, .extra = sizeof(Power)},
    [OP_RELU] = {"relu", "ReLU", 1, relu_forward, relu_backward, relu_backward_graph, relu_forward_lanes,
                 relu_backward_lanes},
    [OP_TANH] = {"tanh", "tanh", 1, tanh_forward, tanh_backward, tanh_backward_graph, tanh_forward_lanes,
                 tanh_backward_lanes},
    [OP_EXP] = {"exp", "exp", 1, exp_forward, exp_backward, exp_backward_graph, exp_forward_lanes, exp_backward_lanes},
    [OP_LOG] = {"log", "log", 1, log_forward, log_backward, log_backward_graph, log_forward_lanes, log_backward_lanes},
    [OP_SIGMOID] = {"sigmoid", "sigmoid", 1, sigmoid_forward, sigmoid_backward,
                    sigmoid_backward_graph, sigmoid_forward_lanes, sigmoid_backward_lanes},
    [OP_DETACH] = {"detach", "detach", 1, detach_forward, detach_backward, detach_backward_graph,
                   detach_forward_lanes, detach_backward_lanes},
    [OP_NEURON] = {"neuron", "neuron", -1, neuron_forward, neuron_backward,
                   neuron_backward_graph, neuron_forward_lanes, neuron_backward_lanes,
                   .kids_in_list = 1},
    [OP_NEURON_RELU] = {"neuron_relu", "neuron-ReLU", -1, neuron_forward, neuron_backward,
                        neuron_backward_graph, neuron_forward_lanes, neuron_backward_lanes,
                        .kids_in_list = 1},
    [OP_CHAIN] = {"chain", "sum-of-products", -1, chain_forward, chain_backward,
                  chain_backward_graph, neuron_forward_lanes, neuron_backward_lanes,
                  .extra = sizeof(Chain), .kids_in_list = 1},
    [OP_CUSTOM] = {"custom", NULL, -1, NULL, custom_backward, custom_backward_graph,
                   .kids_in_list = 1},
    [OP_BATCH_SUM] = {"batch_sum", "batch-sum", -1, NULL, reduced_backward, reduced_backward_graph,
                      .extra = sizeof(Reduced), .kids_in_list = 1, .release = reduced_release},
    [OP_BATCH_MEAN] = {"batch_mean", "batch-mean", -1, NULL, reduced_backward, reduced_backward_graph,
                       .extra = sizeof(Reduced), .kids_in_list = 1, .release = reduced_release},
    /* as micrograd writes them: a - b = a + (-b) and arg - a = (-a) + arg, -x being x * -1;
     * a / b = a * b**-1; arg / a = a**-1 * arg */
    [OP_SUB] = {"sub", NULL, 2, .inner = OP_MUL, .inner_arg = -1.0, .outer = OP_ADD},
    [OP_RSUB] = {"rsub", NULL, 1, .inner = OP_MUL, .inner_arg = -1.0, .outer = OP_ADD},
    [OP_DIV] = {"div", NULL, 2, .inner = OP_POW, .inner_arg = -1.0, .outer = OP_MUL},
    [OP_RDIV] = {"rdiv", NULL, 1, .inner = OP_POW, .inner_arg = -1.0, .outer = OP_MUL},
};

/* Node.op is a byte, and FREE_SLOT is none of the kinds. */
_Static_assert((int)OP_COUNT < (int)FREE_SLOT, "too many op kinds for Node.op");

/* The backward pass (backward.c) decides which nodes to visit, and in which
 * order; here each visited node's backward runs. The ops are dispatched by a
 * switch rather than through the table's function pointers so that the
 * compiler inlines them into the loop: the pass is a chain of dependent loads
 * and adds (a child's grad is read right after its parent wrote it), and an
 * indirect call per node made it a fifth slower (benchmarks/README.md). An
 * op with no case here takes the table's backward. */
/* One visited node's step: its op's backward, inlined. backward_visit calls it
 * with gi a constant, 0 or 1, so that the compiler makes a copy of each op's
 * backward for a grad that is not an int (nearly every node's), in which the
 * int bookkeeping folds away to clearing the children's flags (callgrind, a
 * pass over benchmarks.worker's 200k-op graph: 15.3 M instructions without
 * this, 13.8 M with it). Without forcing, gcc inlined none of the steps, and
 * the pass took 26.6 M. Returns 1 at a custom node: its step is the caller's. */
static ALWAYS_INLINE int visit(Pass *table_pass, Pass *p, const Node *n, int32_t id,
                               double g, uint8_t gi)
{
    switch (n->op) {
    case OP_ADD: add_backward(p, n, id, g, gi); break;
    case OP_MUL: mul_backward(p, n, id, g, gi); break;
    case OP_POW: pow_backward(p, n, id, g, gi); break;
    case OP_RELU: relu_backward(p, n, id, g, gi); break;
    case OP_TANH: tanh_backward(p, n, id, g, gi); break;
    case OP_EXP: exp_backward(p, n, id, g, gi); break;
    case OP_LOG: log_backward(p, n, id, g, gi); break;
    case OP_SIGMOID: sigmoid_backward(p, n, id, g, gi); break;
    case OP_DETACH: detach_backward(p, n, id, g, gi); break;
    case OP_NEURON:
    case OP_NEURON_RELU: neuron_backward(p, n, id, g, gi); break;
    case OP_CUSTOM: return 1;
    default:
        OPS[n->op].backward(table_pass, n, id, g, gi);
        p->last = -1; /* (what it added went through the table's pass, not p) */
    }
    return 0;
}

int32_t backward_visit(Pass *pass, const int32_t *order, int32_t last)
{
    /* A copy the compiler can keep in registers (so it must not escape: the
     * table's backward gets the caller's): through a pointer it would reload
     * every field after each store to a grad or a mark. */
    Pass copy = *pass, *p = &copy;
    for (const int32_t *at = order + last + 1; at != order;) { /* (one counter, not two) */
        int32_t id = *--at;
        if (p->mark[id] != p->epoch) /* not reached from the root (or freed) */
            continue;
        const Node *n = &p->nodes[id];
        if (n->op == OP_LEAF) /* (a third of a graph's nodes, or more: no step) */
            continue;
        double g = id == p->last ? p->last_grad : p->grad[id];
        if (p->gint[id] ? visit(pass, p, n, id, g, 1) : visit(pass, p, n, id, g, 0))
            return (int32_t)(at - order); /* a custom node: the caller's to run */
    }
    return -1;
}

int32_t backward_graph_visit(GradGraph *gg, const int32_t *order, int32_t count)
{
    for (int32_t i = count - 1; i >= 0; i--) {
        int32_t id = order[i], g = gg->grad_of[id];
        if (g < 0 || !gg->need[id]) /* no gradient reached it, or it leads to no input */
            continue;
        int32_t err = OPS[store.nodes[id].op].backward_graph(gg, id, g);
        if (err)
            return err;
    }
    return 0;
}

int32_t custom_nodes(const int32_t *found, int32_t count, int32_t *out, int32_t cap)
{
    int32_t n = 0;
    for (int32_t i = 0; i < count; i++)
        if (store.nodes[found[i]].op == OP_CUSTOM) {
            if (n < cap)
                out[n] = found[i];
            n++;
        }
    return n;
}

/* ---- making nodes ---- */

int32_t mg_describe_op(int32_t kind, mg_op_desc *out)
{
    if (kind < 0 || kind >= OP_COUNT)
        return MG_EINVAL;
    out->name = OPS[kind].name;
    out->label = OPS[kind].label;
    out->arity = OPS[kind].arity;
    return 0;
}

/* One node, with the lock held: the op applied to a (and b), with the
 * constant arg (arg_int: an int). A binary op given a number in place of b
 * makes a leaf of it, as micrograd does. Where Python would raise (log(0)),
 * the error is returned and nothing made, unless keep_math: then the node is
 * made holding IEEE's result (for gradients: see grad_node). */
static int32_t make(int32_t kind, int32_t a, int32_t b, double arg, int arg_int, int keep_math)
{
    const Op *op = &OPS[kind];
    if (op->arity == 2 && b < 0) {
        int32_t c = make(OP_LEAF, -1, -1, arg, arg_int, 0);
        if (c < 0)
            return c;
        tape_drop(c);
        int32_t id = make(kind, a, c, 0.0, 0, keep_math);
        node_drop(c); /* held by its parent now, or freed if that failed */
        return id;
    }
    if ((op->arity >= 1 && !node_is_live(a)) || (op->arity == 2 && !node_is_live(b)))
        return MG_ENODE;
    int32_t id = node_new(kind, op->arity);
    if (id < 0)
        return id;
    Node *n = &store.nodes[id];
    n->first = a;
    if (op->arity == 2)
        n->u.second = b;
    else if (op->extra)
        *(double *)n->u.extra = arg;
    else
        n->u.arg = arg;
    n->arg_int = arg_int != 0;
    int err = op->forward(n, id);
    if (err && !keep_math) {
        put_back(id);
        return err;
    }
    node_hold_kids(n);
    return id;
}

/* A composition: the inner node, made from b (or, with a constant, from a),
 * then the outer one from a and it (or from it and the constant). The inner
 * constants (-1) are ints, as micrograd writes them. */
static int32_t compose(const Op *op, int32_t a, int32_t b, double arg, int arg_int)
{
    int with_constant = op->arity == 1;
    int32_t inner = make(op->inner, with_constant ? a : b, -1, op->inner_arg, 1, 0);
    if (inner < 0) /* the inner b ** -1 of a division fails only for b = 0.0 */
        return inner == MG_EZERODIV ? MG_EDIVZERO : inner;
    int32_t id = with_constant ? make(op->outer, inner, -1, arg, arg_int, 0)
                               : make(op->outer, a, inner, 0.0, 0, 0);
    node_drop(inner); /* held by its parent now, or freed if that failed */
    return id;
}

int32_t mg_op(int32_t kind, int32_t a, int32_t b, double arg)
{
    int arg_int = (kind & MG_ARG_INT) != 0;
    kind &= ~MG_ARG_INT;
    if (kind < 0 || kind >= OP_COUNT || OPS[kind].arity < 0)
        return MG_EINVAL;
    store_lock();
    int32_t id = OPS[kind].outer ? compose(&OPS[kind], a, b, arg, arg_int)
                                 : make(kind, a, b, arg, arg_int, 0);
    store_unlock();
    return id;
}

/* One layer of mg_layers, with the lock held: its neurons on inputs x, their ids
 * in out, each held once. Their kid lists are one block (see KIDS_IN_BLOCK): a
 * malloc a layer, not a neuron. */
static int32_t layer(const mg_layer_spec *spec, const int32_t *x, int32_t *out)
{
    int32_t nin = spec->nin, nout = spec->nout, len = 2 * nin + 1;
    int64_t ints = 2 + (int64_t)nout * (len + 1);
    if (nout == 0)
        return 0;
    if (ints > INT32_MAX)
        return MG_ENOMEM;
    int32_t *block = malloc((size_t)ints * sizeof(int32_t));
    if (!block)
        return MG_ENOMEM;
    block[0] = 0;
    block[1] = (int32_t)ints;
    store.extra_bytes += ints * (int64_t)sizeof(int32_t);
    int32_t made = 0, err = 0;
    for (; made < nout; made++) {
        int32_t id = node_new(spec->relu ? OP_NEURON_RELU : OP_NEURON, 0);
        if (id < 0) {
            err = id;
            break;
        }
        int32_t *k = block + 3 + (int64_t)made * (len + 1);
        const int32_t *w = spec->w + (int64_t)made * nin;
        k[-1] = (int32_t)(k - block);
        for (int32_t i = 0; i < nin; i++) {
            k[i] = x[i];
            k[nin + i] = w[i];
            store.refs[w[i]]++;
        }
        k[2 * nin] = spec->b[made];
        store.refs[spec->b[made]]++;
        Node *n = &store.nodes[id];
        n->u.list = k;
        n->first = len;
        n->nkids = KIDS_IN_BLOCK;
        block[0]++;
        neuron_forward(n, id);
        out[made] = id;
    }
    for (int32_t i = 0; i < nin; i++) /* every neuron made holds each input once */
        store.refs[x[i]] += made;
    if (made == 0) {
        store.extra_bytes -= ints * (int64_t)sizeof(int32_t);
        free(block);
    }
    if (err) /* all or nothing */
        for (int32_t j = 0; j < made; j++)
            node_drop(out[j]);
    return err;
}

int32_t mg_layers(int32_t nlayers, const mg_layer_spec *specs, const int32_t *x, int32_t *out)
{
    int32_t widest = 0; /* the inner layers' outputs: room for two */
    if (nlayers < 1)
        return MG_EINVAL;
    for (int32_t k = 0; k < nlayers; k++) {
        const mg_layer_spec *s = &specs[k];
        if (s->nin < 0 || s->nout < 0 || s->nin > (INT32_MAX - 1) / 2
            || (k > 0 && s->nin != specs[k - 1].nout))
            return MG_EINVAL;
        if (k < nlayers - 1 && s->nout > widest)
            widest = s->nout;
    }
    store_lock();
    int32_t err = all_live(x, specs[0].nin) ? 0 : MG_ENODE;
    for (int32_t k = 0; k < nlayers && !err; k++)
        if (!all_live(specs[k].w, (int64_t)specs[k].nin * specs[k].nout)
            || !all_live(specs[k].b, specs[k].nout))
            err = MG_ENODE;
    int32_t *inner = NULL;
    if (!err && nlayers > 1 && !(inner = malloc(2 * ((size_t)widest + 1) * sizeof(int32_t))))
        err = MG_ENOMEM;
    const int32_t *in = x;
    int32_t last = 0; /* the last layer's output, if it has one and out is NULL */
    if (!out && specs[nlayers - 1].nout > 1)
        err = MG_EINVAL;
    for (int32_t k = 0; k < nlayers && !err; k++) {
        int32_t *dst = k < nlayers - 1 ? inner + (k % 2) * ((size_t)widest + 1) : out ? out : &last;
        err = layer(&specs[k], in, dst);
        if (k > 0) /* the layer before's outputs: held by this one's nodes now (or freed) */
            for (int32_t j = 0; j < specs[k - 1].nout; j++)
                node_drop(in[j]);
        in = dst;
    }
    free(inner);
    store_unlock();
    if (err)
        return err;
    return out ? (specs[nlayers - 1].nout ? out[0] : 0) : last;
}

int32_t mg_leaf(double x)
{
    return mg_op(OP_LEAF, -1, -1, x);
}

int32_t mg_leaves(int32_t n, const double *x, int32_t *out)
{
    if (n < 0)
        return MG_EINVAL;
    store_lock();
    int32_t made = 0, err = 0;
    for (; made < n; made++) {
        out[made] = make(OP_LEAF, -1, -1, x[made], 0, 0);
        if (out[made] < 0) {
            err = out[made];
            break;
        }
    }
    for (int32_t j = 0; err && j < made; j++) /* all or nothing */
        node_drop(out[j]);
    store_unlock();
    return err;
}

int32_t mg_set_leaf(int32_t id, double x, int32_t is_int)
{
    store_lock();
    int32_t err = MG_ENODE;
    if (node_is_live(id)) {
        node_unlink(id);
        store.rekinded++;
        Node *n = &store.nodes[id];
        n->op = n->layout = OP_LEAF;
        n->u.arg = x;
        n->arg_int = is_int != 0;
        leaf_forward(n, id);
        store.grad[id] = 0.0;
        store.gint[id] = 1;
        err = 0;
    }
    store_unlock();
    return err;
}

int32_t mg_node_info(int32_t id, mg_info *out)
{
    store_lock();
    int32_t err = MG_ENODE;
    if (node_is_live(id)) {
        const Node *n = &store.nodes[id];
        out->kind = n->op;
        out->nkids = node_nkids(n);
        out->arg = OPS[n->layout].extra ? *(const double *)n->u.extra : 0.0; /* see Op.extra */
        out->arg_int = n->arg_int;
        err = 0;
    }
    store_unlock();
    return err;
}

/* ---- nodes as steps of a recording (replay.c) ---- */

int step_shape(const Step *s)
{
    if (s->op == OP_MUL && !s->constant)
        return STEP_PRODUCT;
    return s->op == OP_ADD ? STEP_SUM : STEP_OTHER;
}

Step chain_step(int32_t m)
{
    Step s = { .op = OP_CHAIN, .nkids = 2 * m + 1 };
    return s;
}

Step leaf_step(double arg, uint8_t arg_int)
{
    Step s = { .op = OP_LEAF, .arg_int = arg_int, .arg = arg };
    return s;
}

int32_t node_as_step(int32_t id, Step *step)
{
    const Node *n = &store.nodes[id];
    int32_t nkids = node_nkids(n);
    if (n->op == OP_CUSTOM || n->layout == OP_BATCH_SUM || n->layout == OP_BATCH_MEAN)
        return MG_EINVAL; /* (its backward is Python's, or a batch's) */
    step->op = n->op;
    step->arg_int = n->arg_int;
    step->constant = 0;
    step->params = 0;
    step->arg = OPS[n->op].extra ? *(const double *)n->u.extra : 0.0; /* a power's exponent */
    if (n->op == OP_LEAF) { /* a Value(c) made in the recording: c as it is now */
        step->arg = store.data[id];
        step->arg_int = store.dint[id];
    }
    int32_t second = OPS[n->op].arity == 2 ? node_kid(n, 1) : -1;
    if (second >= 0 && store.pos[second] < 0) { /* a number operand's leaf (x * 2) */
        step->constant = 1;
        step->arg = store.data[second];
        step->arg_int = store.dint[second];
        nkids = 1;
    }
    step->nkids = nkids;
    return nkids;
}

int32_t node_from_step(const Step *step, const int32_t *kids)
{
    if (OPS[step->op].kids_in_list) { /* a neuron, a chain */
        int32_t id = node_new(step->op, step->nkids);
        if (id < 0)
            return id;
        Node *n = &store.nodes[id];
        for (int32_t j = 0; j < step->nkids; j++)
            n->u.list[j] = kids[j];
        node_hold_kids(n);
        OPS[step->op].forward(n, id);
        return id;
    }
    if (step->op == OP_LEAF)
        return make(OP_LEAF, -1, -1, step->arg, step->arg_int, 0);
    int32_t second = OPS[step->op].arity == 2 && !step->constant ? kids[1] : -1;
    return make(step->op, kids[0], second, step->arg, step->arg_int, 0);
}

/* ---- custom nodes: micrograd's Value(data, _children, _op) and `_backward` ---- */

/* The node id (or a new one, for id < 0) as a custom node holding kids:
 * made again in place, its old children are let go and its grad is the int 0. */
static int32_t make_custom(int32_t id, const int32_t *kids, int32_t nkids)
{
    if (id < 0)
        return node_new(OP_CUSTOM, nkids); /* (held by it below) */
    int32_t *list = malloc(((size_t)nkids + 1) * sizeof(int32_t)); /* first: nothing fails after */
    if (!list)
        return MG_ENOMEM;
    for (int32_t j = 0; j < nkids; j++) /* held before the old ones go: one may be both */
        store.refs[kids[j]]++;
    node_unlink(id);
    Node *n = &store.nodes[id];
    n->u.list = list;
    n->first = nkids;
    n->nkids = KIDS_IN_LIST;
    n->op = n->layout = OP_CUSTOM;
    store.rekinded++;
    store.extra_bytes += (int64_t)nkids * (int64_t)sizeof(int32_t);
    store.grad[id] = 0.0;
    store.gint[id] = 1;
    return id;
}

int32_t mg_custom(int32_t id, const int32_t *kids, int32_t nkids, double x, int32_t is_int)
{
    if (nkids < 0 || nkids > INT32_MAX / (int32_t)sizeof(int32_t))
        return MG_EINVAL;
    store_lock();
    int32_t made = id >= 0 && !node_is_live(id) ? MG_ENODE : 0;
    for (int32_t j = 0; j < nkids && made == 0; j++) {
        if (!node_is_live(kids[j]))
            made = MG_ENODE;
        else if (id >= 0 && store.pos[kids[j]] >= store.pos[id])
            made = MG_EINVAL; /* newer than the node (or the node itself): see the header */
    }
    if (made == 0)
        made = make_custom(id, kids, nkids);
    if (made >= 0) {
        Node *n = &store.nodes[made];
        for (int32_t j = 0; j < nkids; j++)
            n->u.list[j] = kids[j];
        if (id < 0)
            node_hold_kids(n);
        set_data(made, x, is_int != 0);
    }
    store_unlock();
    return made;
}

int32_t mg_set_custom(int32_t id)
{
    store_lock();
    int32_t err = node_is_live(id) ? expand(id) : MG_ENODE;
    if (!err) { /* its layout, and so its storage, stay its op's */
        store.nodes[id].op = OP_CUSTOM;
        store.rekinded++;
        if (store.pos[id] < 0) /* a number operand's leaf: it has a step now */
            tape_put_first(id);
    }
    store_unlock();
    return err;
}

int32_t mg_node_backward(int32_t id)
{
    store_lock();
    int32_t err = node_is_live(id) ? expand(id) : MG_ENODE;
    if (!err) {
        /* (it marks the children with the current epoch: that unmarks nothing a pass
         * stopped at a custom node has left to visit) */
        Pass p = store_pass(store.epoch);
        const Node *n = &store.nodes[id];
        OPS[n->layout].backward(&p, n, id, store.grad[id], store.gint[id]);
    }
    store_unlock();
    return err;
}
