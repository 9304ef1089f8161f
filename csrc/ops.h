/* ops.h - what the rest of csrc/ needs of the op table (ops.c): what a node
 * of each kind keeps beside it, and the backward pass's step at a node. Which
 * kinds there are, and what each computes, only ops.c knows. Internal to csrc/. */
#ifndef MG_OPS_H
#define MG_OPS_H

#include <stddef.h>
#include "store.h"

/* What every op's backward needs: the nodes (read only), the grads it adds
 * to, and the marks that say which nodes the root reaches. */
typedef struct {
    const Node *nodes;
    const double *data;
    const uint8_t *dint;
    double *grad;
    uint8_t *gint;
    uint16_t *mark;
    uint16_t epoch;
} Pass;

/* The pass over the store as it is now, with marks of the given epoch. */
static inline Pass store_pass(uint16_t epoch)
{
    Pass p = { store.nodes, store.data, store.dint, store.grad, store.gint, store.mark, epoch };
    return p;
}

/* An op's forward computes node id's data (n is its node) from its children
 * (and constant), and whether it is an int (Store.data, dint), or returns an
 * MG_E* code; its backward adds g (n's grad; gi: 1 if that is an int) times
 * the local derivative into the children's grads, saying whether each part
 * added is an int. */
typedef int (*forward_fn)(const Node *n, int32_t id);
typedef void (*backward_fn)(const Pass *p, const Node *n, int32_t id, double g, uint8_t gi);

typedef struct {
    const char *name;      /* mg_op_desc's */
    const char *label;
    int32_t arity;
    forward_fn forward;    /* NULL for a composition */
    backward_fn backward;
    size_t extra;          /* bytes each node keeps beside it, at u.extra: they start with
                            * the node's constant (a power's exponent), then what forward
                            * leaves for backward */
    int kids_in_list;      /* children kept in a list of their own (u.list), however many */
    /* A composition makes the `inner` node (with constant inner_arg), then the
     * `outer` one from it; outer is 0 for every other op. */
    int32_t inner, outer;
    double inner_arg;
} Op;

extern const Op OPS[];

/* Visit order[last], ..., order[0], running the backward of each node the root reaches;
 * stop at a custom node (whose backward is the caller's) and return its index in order,
 * or return -1 once all are visited. */
int32_t backward_visit(const Pass *p, const int32_t *order, int32_t last);

#endif
