/* ops.h - what the rest of csrc/ needs of the op table (ops.c): what a node
 * of each kind keeps beside it, and the backward pass's step at a node. Which
 * kinds there are, and what each computes, only ops.c knows. Internal to csrc/. */
#ifndef MG_OPS_H
#define MG_OPS_H

#include <stddef.h>
#include "store.h"

/* For code the compiler would rather not inline: the backward pass's steps (ops.c's visit),
 * the lanes' helpers of a batch (replay.c). */
#if defined(_MSC_VER)
#define ALWAYS_INLINE __forceinline
#elif defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* What every op's backward needs: the nodes (read only), the grads it adds
 * to, and the marks that say which nodes the root reaches. And the grad added
 * last (grad[last] is last_grad, or last is -1): the node visited next is most
 * often the child just added to, whose grad is then still in a register,
 * not waiting for its store to reach memory and be read back (a chain's
 * backward is that store and load, a multiply and an add per node). */
typedef struct {
    const Node *nodes;
    const double *data;
    const uint8_t *dint;
    double *grad;
    uint8_t *gint;
    uint16_t *mark;
    uint16_t epoch;
    int32_t last;
    double last_grad;
} Pass;

/* The pass over the store as it is now, with marks of the given epoch. */
static inline Pass store_pass(uint16_t epoch)
{
    Pass p = { store.nodes, store.data, store.dint, store.grad, store.gint, store.mark, epoch, -1, 0.0 };
    return p;
}

/* An op's forward computes node id's data (n is its node) from its children
 * (and constant), and whether it is an int (Store.data, dint), or returns an
 * MG_E* code; its backward adds g (n's grad; gi: 1 if that is an int) times
 * the local derivative into the children's grads, saying whether each part
 * added is an int. */
typedef int (*forward_fn)(const Node *n, int32_t id);
typedef void (*backward_fn)(Pass *p, const Node *n, int32_t id, double g, uint8_t gi);

/* What a graph-building backward (mg_grad) works with, indexed by node id:
 * whether a node leads to an input (need), and its gradient so far (grad_of:
 * a node, held once for this, or -1); and the local derivatives Python gave
 * for custom nodes (spec). */
typedef struct {
    const uint8_t *need;
    int32_t *grad_of;
    const mg_grad_spec *spec;
} GradGraph;

/* An op's graph-building backward: the numeric backward's arithmetic, made of
 * nodes so that it can be differentiated in turn. It adds g (node id's
 * gradient, a node) times the local derivative into the gradient of each
 * child that leads to an input. Returns 0 or an MG_E* code (MG_ENOMEM). */
typedef int32_t (*backward_graph_fn)(GradGraph *gg, int32_t id, int32_t g);

/* A step of a recording (replay.c): a node's op and constant; a binary op's number operand
 * (x * 2) is the constant, not a child. */
typedef struct {
    uint8_t op, arg_int, constant;
    uint8_t params;    /* lanes: its children from step_first_param on are one number each */
    int32_t nkids;
    double arg;
} Step;

/* An op on lanes (a recording's batch: lane s is sample s). forward_lanes computes out[0..n)
 * from the children's lanes kid[j][0..n) (and the step's constant), each lane as the op's
 * forward computes a node, or returns the MG_E* code of the first lane that would raise;
 * backward_lanes adds, lane by lane, g times the local derivative into each child's lanes
 * kid_grad[j] (NULL: not wanted), as the op's backward adds into a child's grad.
 * A step with `params` set (see step_first_param) has children from step_first_param on that
 * are parameters, the same number in every lane: each kid[j] is then that one number, and
 * backward_lanes adds the sum over the lanes (in order) of its gradient into *kid_sum[j]
 * (kid_grad[j] is NULL); kid_sum[j] is NULL for every other child. */
enum { LANES_MAX = 1024 }; /* the most lanes an op is given at once (a chunk: replay.c) */
typedef int (*forward_lanes_fn)(const Step *s, const double *const *kid, double *out, int32_t n);
typedef void (*backward_lanes_fn)(const Step *s, const double *const *kid, const double *out,
                                  const double *g, double *const *kid_grad, double *const *kid_sum,
                                  int32_t n);

typedef struct {
    const char *name;      /* mg_op_desc's */
    const char *label;
    int32_t arity;
    forward_fn forward;    /* NULL for a composition */
    backward_fn backward;
    backward_graph_fn backward_graph;
    forward_lanes_fn forward_lanes;    /* NULL: the op cannot be replayed on lanes (custom) */
    backward_lanes_fn backward_lanes;
    size_t extra;          /* bytes each node keeps beside it, at u.extra: they start with
                            * the node's constant (a power's exponent), then what forward
                            * leaves for backward; with kids_in_list, after the list */
    int kids_in_list;      /* children kept in a list of their own (u.list), however many */
    void (*release)(const Node *n); /* lets go of what a node owns besides its memory (a
                            * reduced batch: its batch), as it is freed; NULL for most */
    /* A composition makes the `inner` node (with constant inner_arg), then the
     * `outer` one from it; outer is 0 for every other op. */
    int32_t inner, outer;
    double inner_arg;
} Op;

extern const Op OPS[];

/* Whether visiting node n in a backward pass can do anything: it has children, or it is a
 * custom node (whose Python backward may). A pass leaves the others (leaves) out of its
 * order: a layer's thousands of parameters need no sorting. */
int node_has_backward(const Node *n);

/* The first child of a step whose lanes can take it as one number for all lanes (a neuron's
 * weights and bias), or nkids for an op that takes none so. A batch does so (and sets
 * params) where those children are all captured nodes: a layer's parameters. */
int32_t step_first_param(const Step *s);

/* Visit order[last], ..., order[0], running the backward of each node the root reaches;
 * stop at a custom node (whose backward is the caller's) and return its index in order,
 * or return -1 once all are visited. */
int32_t backward_visit(Pass *p, const int32_t *order, int32_t last);

/* For mg_grad: add d (a node held once for this, or an MG_E* code) into node
 * kid's gradient; run the graph-building backward of order[count-1], ...,
 * order[0] (each node with a gradient, newest first); and which of the nodes
 * found[0..count) are custom (their ids in out, up to cap; returns how many). */
int32_t grad_into(GradGraph *gg, int32_t kid, int32_t d);
int32_t backward_graph_visit(GradGraph *gg, const int32_t *order, int32_t count);
int32_t custom_nodes(const int32_t *found, int32_t count, int32_t *out, int32_t cap);

/* For replay.c's fusing of a recording's sums of products (see ops.c's chain): a step's
 * shape (x * y of two children; x + y, or x + a number), and the steps of a chain of m
 * products (children as a neuron's: x[m] w[m] b) and of a leaf holding a number. */
enum { STEP_OTHER, STEP_PRODUCT, STEP_SUM };
int step_shape(const Step *s);
Step chain_step(int32_t m);
Step leaf_step(double arg, uint8_t arg_int);

/* Expand (mg_expand) each fused chain a pass has visited since this was last called: a
 * pass begins with it (backward.c), so that it visits micrograd's nodes where their grads
 * now differ (see ops.c's chain). Not while the tape is pinned. */
void expand_passed_chains(void);

/* A reduced batch's node (ops.c), lock held: owning batch, holding kids, its data the sum of
 * the batch's outputs, total (mean: times 1.0 / n); its id, held once, or MG_ENOMEM (the
 * caller still owns the batch then). replay.c's batch_backward adds every sample's gradient,
 * seeded with seed, into the captured nodes' grads (lock held; it cannot fail: what it needs
 * was allocated with the batch); batch_drop frees the batch (lock held). */
int32_t reduced_node(mg_batch *batch, const int32_t *kids, int32_t nkids, double total, int mean, int32_t n);
void batch_backward(const mg_batch *batch, double seed);
void batch_drop(mg_batch *batch);
/* Whether n is a reduced batch's node whose recording captured a node that need[] marks (one
 * leading to an input of mg_grad); batch_needs: whether the batch's recording did. */
int reduced_needs(const Node *n, const uint8_t *need);
int batch_needs(const mg_batch *batch, const uint8_t *need);

/* A node as a step of a recording (replay.c): its op and constant. Returns how
 * many children the step has (the node's first ones: a number operand's leaf is
 * the step's constant), or MG_EINVAL for a custom node (its backward is Python's).
 * node_from_step makes the step's node again, from the children given (lock
 * held): its id, held once, or an MG_E* code. */
int32_t node_as_step(int32_t id, Step *step);
int32_t node_from_step(const Step *step, const int32_t *kids);

#endif
