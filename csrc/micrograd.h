/* micrograd.h - the whole contract between the C core and the Python facade.
 *
 * Every node of every graph lives in one store, addressed by an int32 id. Each
 * call takes the store's lock, so Python threads (cffi releases the GIL around
 * every call) can build graphs and run backward at the same time. Data and
 * grads the caller reads and writes in place (mg_get_views).
 *
 * Calls return 0, a new node's id (>= 0), or one of the negative MG_E* codes
 * below. An id that is not a live node is always MG_ENODE. Math errors are the ones Python's float arithmetic and `math`
 * module give for the same numbers, so the facade raises what they raise.
 */
#ifndef MICROGRAD_H
#define MICROGRAD_H

#include <stdint.h>

enum {
    MG_ENOMEM = -1,   /* MemoryError: out of memory or over the node limit */
    MG_EDOMAIN = -2,  /* ValueError: log(x <= 0), negative ** non-integer */
    MG_ERANGE = -3,   /* OverflowError: exp or ** overflowed */
    MG_EZERODIV = -4, /* ZeroDivisionError: 0.0 ** negative */
    MG_EDIVZERO = -5, /* ZeroDivisionError: a division's divisor is 0.0 */
    MG_ENODE = -6,    /* an id that is not a live node */
    MG_EINVAL = -7    /* any other bad argument (an unknown op, a negative count) */
};

/* The op table, one entry per kind (0, 1, ... up to the first kind that
 * returns MG_EINVAL). mg_op makes nodes of a kind; mg_node_info says which
 * kind a node is. A composition (x - y, x / y) makes nodes of other kinds:
 * the ones micrograd makes for it. */
typedef struct {
    const char *name;  /* "leaf", "add", "neuron_relu", "div", ... */
    const char *label; /* what micrograd's `_op` shows for its nodes ("+", "ReLU"; for a
                        * power "**", then the exponent); NULL for a composition */
    int32_t arity;     /* operands mg_op takes: 0 (a leaf: arg is its data), 1 (and arg),
                        * 2 (the second may be absent: then arg is it); -1: made by a call
                        * of its own (mg_layers, mg_custom) */
} mg_op_desc;
int32_t mg_describe_op(int32_t kind, mg_op_desc *out);

/* Make a node of a kind from up to two children (-1 where absent) and arg (a
 * composition's nodes: then the outermost one's id). The new node is held once,
 * by the Python Value made for it; it holds its children. A binary op given a
 * number (b = -1) makes a leaf holding it as its second child, as micrograd
 * does: `(x * 2)._prev` is x and a leaf 2.
 *
 * micrograd keeps ints as ints: kind | MG_ARG_INT says arg is an int (exact:
 * |arg| <= 2**53). A node's data is an int while what it was computed from
 * is and the result is exact (below 2**53), as Python's int arithmetic would
 * give (+, *, ** by an int >= 0, relu; relu of any negative number is the
 * int 0); a grad is an int while every part added to it was. */
enum { MG_ARG_INT = 256 };
int32_t mg_op(int32_t kind, int32_t a, int32_t b, double arg);

/* Fused layers, one node per neuron: layer k's outputs are
 * out[j] = act(b[j] + w[j*nin+0]*x[0] + ... + w[j*nin+nin-1]*x[nin-1]),
 * act ReLU if relu, else none. mg_layers applies specs[0], specs[1], ... in
 * turn, to x then to the outputs of the layer before (so each nin is the nout
 * before it); out gets the last layer's outputs, each held once (by the
 * caller); the others are held by the next layer's nodes only. Returns the id
 * of the last layer's first output (0 if it has none); out may be NULL if it
 * has one. On error no node was made. */
typedef struct {
    int32_t nin, nout;
    const int32_t *w, *b;
    int32_t relu;
} mg_layer_spec;
int32_t mg_layers(int32_t nlayers, const mg_layer_spec *specs, const int32_t *x, int32_t *out);

/* A leaf holding x: mg_op(leaf, -1, -1, x), in one argument (the common call:
 * cffi takes one argument faster than several). */
int32_t mg_leaf(double x);

/* n leaves holding the floats x[0..n), their ids in out (a layer's inputs given as
 * numbers: micrograd makes a leaf of each). On error no node was made. */
int32_t mg_leaves(int32_t n, const double *x, int32_t *out);

/* Show a fused neuron as the nodes micrograd makes for it, in place: its id
 * becomes the ReLU (or, without one, the last +) of the chain b + w0*x0 +
 * w1*x1 + ..., whose new nodes get the data micrograd computes from the
 * children's data as it is now, and the grads micrograd's backward gives
 * them from the neuron's grad. Any other node is left as it is, and so is every
 * node while a backward pass is stopped at a custom node (it lists the nodes it
 * has left to visit: the chain's would not be among them). */
int32_t mg_expand(int32_t id);

/* Custom nodes: micrograd's `Value(data, _children, _op)`, whose backward is
 * the caller's (a Python closure). mg_custom makes one (id < 0) holding data x
 * and the children kids[0..nkids), or makes node id one in place (what
 * micrograd's __init__ does when called again on a Value; its grad is then the
 * int 0); each child must be older than node id (made before it: so the
 * graph stays acyclic and the tape topological), else MG_EINVAL. Returns the
 * node's id. mg_set_custom hands a node's backward to the caller (code set its
 * `_backward`): it keeps its children and data. */
int32_t mg_custom(int32_t id, const int32_t *kids, int32_t nkids, double x, int32_t is_int);
int32_t mg_set_custom(int32_t id);

/* Reverse-mode pass from root, as micrograd does it: root.grad = 1, then each
 * node's grad is *added* into its children, newest node first (the tape read
 * backwards, a topological order). Returns 0 once done. The C core never
 * calls Python, so at a custom node the pass stops and returns 1, with the
 * node in pass->node: the caller runs its backward, then mg_backward_resume
 * (0 or 1 again), until 0, or gives up with mg_backward_end. */
typedef struct {
    int32_t node;    /* the custom node the pass stopped at */
    int32_t left;    /* the rest is the pass's own: how many nodes are left to visit, */
    int32_t *order;  /* which ones (NULL once the pass is over), */
    int64_t epochs;  /* and when their marks were set; */
    int32_t root;    /* where the pass began, */
    int32_t unsorted; /* 1: order is the tape below the node (not all of it reached) */
} mg_pass;
int32_t mg_backward(int32_t root, mg_pass *pass);
int32_t mg_backward_resume(mg_pass *pass);
/* Let go of a pass (any pass: one that is over is left as it is). */
void mg_backward_end(mg_pass *pass);

/* Gradients as nodes (torch.autograd.grad's create_graph=True): the gradient
 * of sum_j seeds[j] * outs[j] with respect to each of inputs[0..nin), made of
 * ordinary nodes (so it can be differentiated again), in out[i] (held once,
 * for the caller's Value), or -1 for an input the outputs do not depend on.
 * No node's grad changes. seeds are nodes too (a grad_output, or a leaf 1).
 * Each op's graph-building backward repeats its numeric backward's arithmetic
 * (log's g / x is g * x ** -1); math that would raise gives inf or nan. A
 * custom node's backward is Python's: its local derivatives (numbers) come in
 * custom_d, kid k of custom[j] at custom_d[custom_at[j] + k], custom sorted
 * (list them with mg_custom_reached); one not listed is MG_EINVAL, and so is a
 * reduced batch's node (mg_batch_reduce: only its backward computes its gradients). */
typedef struct {
    int32_t nout;
    const int32_t *outs, *seeds;
    int32_t nin;
    const int32_t *inputs;
    int32_t ncustom, ncustom_d;
    const int32_t *custom, *custom_at;
    const double *custom_d;
} mg_grad_spec;
int32_t mg_grad(const mg_grad_spec *spec, int32_t *out);
/* The custom nodes roots[0..nroots) reach: how many, their ids in out (up to cap). */
int32_t mg_custom_reached(int32_t nroots, const int32_t *roots, int32_t *out, int32_t cap);

/* Recording and replay (micrograd_c.compile). mg_trace_begin opens a recording:
 * the nodes made until mg_trace_end (while it is open the tape is neither
 * compacted nor reordered, and fused neurons are not expanded); it returns a
 * token for mg_trace_end. mg_trace_end closes it (nout = 0: just close) and
 * keeps, as *out, the nodes made meanwhile that the outputs reach, as steps in
 * the order they were made: each step's op and constants, and what it used --
 * an earlier step, one of the inputs (leaf ids the caller made, replaced at
 * each replay), or a node made before the recording (captured: held by the
 * recording, read as it is at each replay). A custom node among them is
 * MG_EINVAL (its backward is Python's), and so is a reduced batch's. mg_replay makes every step's node
 * again, from inputs[0..nin) in place of the recorded inputs: the outputs' ids
 * in out (each held once, for the caller), or an error (the one the op would
 * raise; nothing is left made). */
typedef struct mg_recording mg_recording;
int32_t mg_trace_begin(void);
int32_t mg_trace_end(int32_t token, int32_t nin, const int32_t *inputs, int32_t nout,
                     const int32_t *outs, mg_recording **out);
int32_t mg_replay(const mg_recording *rec, int32_t nin, const int32_t *inputs, int32_t *out);
/* A recording run for n samples at once (micrograd_c.compile's batch): the inputs are nargs
 * arrays, args[a] holding a sample a row (n rows of widths[a] numbers; the widths add up to
 * the recording's nin, taken in order); each lane computes what a replay of that sample would,
 * to the bit, or the call returns the error of the first lane that raises. (A recording's
 * first batch lays it out for lanes, kept in the recording: a recording never batched pays
 * nothing for it.) mg_batch_forward: out (unless NULL) gets a sample's outputs a row (n rows
 * of nout). mg_batch_reduce (a recording of one output): a node whose data is the sum of the
 * outputs over the samples, added one by one in their order from 0 as Python's sum() adds
 * them (mean: times 1.0 / n); its id, held once for the caller's Value, or an error. The node
 * keeps the batch's lanes: its backward adds, into each captured node's grad, the sum over the
 * samples (in their order, a chunk of 1,024 at a time, then the chunks in order) of its grad
 * (mean: times 1.0 / n) times d out[s] / d node. Its children are the captured nodes that
 * have a backward of their own (made from other nodes: a pass goes on to them); the captured
 * leaves, a model's parameters, get their grads from its backward alone. It holds the
 * recording until it is freed. */
typedef struct mg_batch mg_batch;
int32_t mg_batch_forward(mg_recording *rec, int32_t n, int32_t nargs, const double *const *args,
                         const int32_t *widths, double *out);
int32_t mg_batch_reduce(mg_recording *rec, int32_t n, int32_t nargs, const double *const *args,
                        const int32_t *widths, int32_t mean);
/* How many threads a big batch may use (torch.set_num_threads): n >= 1, or 0 for one a core
 * (the default). mg_get_threads: the number a batch would use at most now. */
int32_t mg_set_threads(int32_t n);
int32_t mg_get_threads(void);

/* How many steps, captured nodes, inputs and outputs it has; and let go of it (it is freed
 * when no reduced batch's node holds it either). */
typedef struct {
    int32_t steps, captured, inputs, outputs;
} mg_recording_info;
void mg_recording_describe(const mg_recording *rec, mg_recording_info *out);
void mg_recording_free(mg_recording *rec);

/* One node's own step of the pass, alone: its grad added into its children
 * (micrograd's `v._backward()`); a fused neuron is first shown as its chain
 * (mg_expand), and the step is its last node's. A node mg_set_custom gave to
 * the caller takes the step of the op that made it; one mg_custom made, none. */
int32_t mg_node_backward(int32_t id);

/* Each id: one Value holding it is gone. A node no Value and no parent node
 * holds is freed; ids that are not live nodes (negative ones included) are
 * skipped, so a released id can be released again safely. */
void mg_release(const int32_t *ids, int32_t n);

/* How many hold the node: the Value made for it (if any) and each parent. */
int32_t mg_holders(int32_t id);

/* Data and grads are read and written without a call: the arrays that hold
 * them never move (the store grows by adding to their ends), so the caller
 * keeps views of them. Node i's data is data[i], an int while data_int[i] is
 * 1; its grad is grad[i], an int while grad_int[i] is 1 and it is at most
 * 2**53 in size (a writer sets both). Slots [0, capacity) are there now; a
 * node whose id is past that was made after this call. No node's id is
 * MG_NO_NODE, nor ever becomes it. */
typedef struct {
    double *data;
    uint8_t *data_int;
    double *grad;
    uint8_t *grad_int;
    int32_t capacity;
} mg_views;
void mg_get_views(mg_views *out);
enum { MG_NO_NODE = 2147483647 };

/* Make the node a leaf holding x, in place (what micrograd's Value.__init__
 * does when called again on a Value): its children are let go, its grad is
 * the int 0, and every parent and every holder of its id sees the new leaf. */
int32_t mg_set_leaf(int32_t id, double x, int32_t is_int);

/* What `_op` and `_prev` show: the node's kind, constant (a power's
 * exponent, else 0; arg_int: it was an int) and child count; and its
 * children, each held once more for the Value the caller makes for it (cap:
 * room in out). */
typedef struct {
    int32_t kind;
    int32_t nkids;
    double arg;
    int32_t arg_int;
} mg_info;
int32_t mg_node_info(int32_t id, mg_info *out);
int32_t mg_hold_kids(int32_t id, int32_t *out, int32_t cap);

typedef struct {
    int64_t live_nodes;     /* slots in use */
    int64_t capacity_nodes; /* slots allocated */
    int64_t node_limit;     /* most live nodes allowed (0 = no limit) */
    int64_t bytes;          /* memory the store holds: nodes, the tape, the worklist, what nodes keep beside them */
    int64_t made;           /* nodes made since the process started: changes whenever one is */
} mg_stats;
void mg_get_stats(mg_stats *out);
void mg_set_node_limit(int64_t limit);

/* grad = 0 (the int 0 if is_int, else 0.0) for each node ids[0..n); it
 * checks every id first: on error nothing changed. */
int32_t mg_zero_grad(int32_t n, const int32_t *ids, int32_t is_int);

/* Optimizer steps (optim.c), torch.optim's formulas, over the parameter nodes
 * ids[0..n); the state arrays (n doubles each) belong to the caller. A step
 * checks every id first: on error nothing changed. */
typedef struct {
    double lr, momentum, weight_decay;
    int32_t first; /* the first step: the momentum buffer starts as d */
} mg_sgd;
/* d = grad + weight_decay*data; with momentum != 0, buf = first ? d :
 * momentum*buf + d and d = buf (buf is not read when momentum == 0);
 * data -= lr*d. */
int32_t mg_sgd_step(const mg_sgd *opt, int32_t n, const int32_t *ids, double *buf);

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int32_t step; /* 1, 2, ... */
} mg_adam;
/* Adam (not AMSGrad): g = grad + weight_decay*data; m = beta1*m + (1-beta1)*g;
 * v = beta2*v + (1-beta2)*g*g;
 * data -= lr/(1-beta1^step) * m / (sqrt(v)/sqrt(1-beta2^step) + eps). */
int32_t mg_adam_step(const mg_adam *opt, int32_t n, const int32_t *ids, double *m, double *v);

#endif
