/* micrograd.h - the whole contract between the C core and the Python facade.
 *
 * Every node of every graph lives in one store, addressed by an int32 id. Each
 * call takes the store's lock, so Python threads (cffi releases the GIL around
 * every call) can build graphs and run backward at the same time.
 *
 * Calls that make a node return its id (>= 0) or one of the negative MG_E*
 * codes below; the facade turns those into the exception Python's float
 * arithmetic would raise for the same numbers.
 */
#ifndef MICROGRAD_H
#define MICROGRAD_H

#include <stdint.h>

enum {
    MG_ENOMEM = -1,   /* MemoryError: out of memory or over the node limit */
    MG_EDOMAIN = -2,  /* ValueError: log(x <= 0), negative ** non-integer */
    MG_ERANGE = -3,   /* OverflowError: exp or ** overflowed */
    MG_EZERODIV = -4, /* ZeroDivisionError: 0.0 ** negative */
    MG_EINVAL = -5    /* a bad id or argument: a bug in the caller */
};

/* Op kinds. A binary op (ADD, MUL) with a single child takes the constant
 * `arg` as its other operand: x + 2 needs no node for the 2. */
enum {
    MG_FREE = 0,    /* an unused slot */
    MG_LEAF,        /* a Value made by the user: data = arg */
    MG_ADD,
    MG_MUL,
    MG_POW,         /* child ** arg */
    MG_NEG,
    MG_RELU,
    MG_TANH,
    MG_EXP,
    MG_LOG,
    MG_SIGMOID,
    MG_NEURON,      /* b + w0*x0 + w1*x1 + ...: kids x[n], w[n], b (one node per neuron of a Layer) */
    MG_NEURON_RELU, /* the same, then ReLU */
    MG_NUM_OPS
};

/* micrograd's compositions, which mg_op makes in one call as the two nodes
 * micrograd makes for them (arg: the constant): */
enum {
    MG_SUB = 64,    /* a - b  = a + (-b) */
    MG_RSUB,        /* arg - a = (-a) + arg */
    MG_DIV,         /* a / b  = a * b**-1 */
    MG_RDIV,        /* arg / a = a**-1 * arg */
    MG_NUM_RECIPES
};

typedef struct {
    int32_t op;
    int32_t nkids;
    double arg;
} mg_info;

typedef struct {
    int64_t live_nodes;     /* slots in use */
    int64_t capacity_nodes; /* slots allocated */
    int64_t node_limit;     /* most live nodes allowed (0 = no limit) */
    int64_t bytes;          /* memory the store holds: nodes, the tape, the worklist, fused kid lists */
} mg_stats;

/* Make a node: op applied to up to two children (-1 where absent) and arg
 * (or a composition's two nodes: then the outer one's id). The new node is
 * held once, by the Python Value made for it; it holds its children. */
int32_t mg_op(int op, int32_t a, int32_t b, double arg);

/* Make one fused neuron node per output of a layer:
 * out[j] = act(b[j] + w[j*nin+0]*x[0] + ... + w[j*nin+nin-1]*x[nin-1]).
 * Returns 0 or an MG_E* code; on error no node was made. */
int32_t mg_layer(int32_t nin, const int32_t *x, int32_t nout, const int32_t *w,
                 const int32_t *b, int relu, int32_t *out);

/* Reverse-mode pass from root, as micrograd does it: root.grad = 1, then each
 * node's grad is *added* into its children, newest node first (the tape read
 * backwards, a topological order). Returns 0 or MG_EINVAL. */
int32_t mg_backward(int32_t root);

/* Each id: one Value holding it is gone. A node no Value and no parent node
 * holds is freed; ids that are not live nodes (negative ones included) are
 * skipped. */
void mg_release(const int32_t *ids, int32_t n);

/* A node's data and grad: nan for an id that is not a live node. The setters
 * return 0, or MG_EINVAL for such an id (then nothing changed). */
double mg_data(int32_t id);
double mg_grad(int32_t id);
int32_t mg_set_data(int32_t id, double x);
int32_t mg_set_grad(int32_t id, double x);
/* Make the node a leaf holding x, in place (what micrograd's Value.__init__
 * does when called again on a Value): its children are let go, its grad is
 * 0, and every parent and every holder of its id sees the new leaf. Returns
 * 0 or MG_EINVAL. */
int32_t mg_set_leaf(int32_t id, double x);
/* What `_op` and `_prev` show: the node's op, arg and child count, and its
 * children (each held once more, for the Value the caller makes for it).
 * mg_kids returns the count, or MG_EINVAL if out has room for fewer. */
int32_t mg_node_info(int32_t id, mg_info *out);
int32_t mg_kids(int32_t id, int32_t *out, int32_t cap);

void mg_get_stats(mg_stats *out);
void mg_set_node_limit(int64_t limit);

/* Optimizer steps (optim.c), torch.optim's formulas, over the parameter nodes
 * ids[0..n); the state arrays (n doubles each) belong to the caller. Each
 * returns 0, or MG_EINVAL if an id is not a live node (then nothing changed).
 * SGD: d = grad + weight_decay*data; with momentum != 0, buf = first ? d :
 * momentum*buf + d and d = buf (buf is not read when momentum == 0);
 * data -= lr*d. */
int32_t mg_sgd_step(int32_t n, const int32_t *ids, double *buf, int first,
                    double lr, double momentum, double weight_decay);
/* Adam (not AMSGrad), step = 1, 2, ...: g = grad + weight_decay*data;
 * m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g*g;
 * data -= lr/(1-beta1^step) * m / (sqrt(v)/sqrt(1-beta2^step) + eps). */
int32_t mg_adam_step(int32_t n, const int32_t *ids, double *m, double *v, int32_t step,
                     double lr, double beta1, double beta2, double eps, double weight_decay);

#endif
