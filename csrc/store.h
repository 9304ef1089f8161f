/* store.h - the node store: growable arrays with an entry per node slot (the
 * nodes, their grads, backward marks, reference counts and tape positions)
 * and the tape, shared by the forward ops (ops.c), the backward pass
 * (backward.c) and the optimizers (optim.c). Internal to csrc/. */
#ifndef MG_STORE_H
#define MG_STORE_H

#include <stdint.h>
#include "micrograd.h"

/* What a node is: 16 bytes. Its data, grad and backward mark are in arrays of
 * their own, and so is what only making and freeing nodes need (reference
 * counts, tape positions): the backward pass streams through every node of a
 * big graph and is mostly bound by memory traffic, and this way it reads the
 * nodes and their children's data, and writes (and so writes back to memory)
 * 11 bytes a node. (And Python reads and writes data and grads in place: see
 * mg_get_views.) */
typedef struct {
    union {
        double arg;      /* a leaf: its first data */
        int32_t second;  /* x + y, x * y: the second child */
        int32_t *list;   /* an op whose kids are in a list (a fused neuron): x[m] w[m] b */
        void *extra;     /* an op with extra storage (x ** k): see Op.extra in ops.h */
    } u;
    int32_t first;       /* the first child; kids in a list: how many children;
                          * a free slot: the next free slot */
    uint8_t op;          /* the node's kind (its entry in ops.c's table), or FREE_SLOT */
    uint8_t nkids;       /* 0, 1, 2, KIDS_IN_LIST or KIDS_IN_BLOCK */
    uint8_t arg_int;     /* 1 if the constant (a leaf's first data, a power's exponent) was an
                          * int: micrograd keeps ints as ints */
    uint8_t layout;      /* the kind whose storage (u, first) the node has: op, except for a
                          * node made by an op whose backward was then given to the caller
                          * (mg_set_custom), which keeps what that op made */
} Node;

enum {
    KIDS_IN_LIST = 3,    /* kids in a list of the node's own (u.list; first: how many) */
    KIDS_IN_BLOCK = 4,   /* the same, the list one of a block of them (a layer's: mg_layers),
                          * freed with the last: the int before the list is how far from the
                          * block's start it is; the block's first int counts the lists in use,
                          * its second is its size in ints */
    FREE_SLOT = 255      /* the kind of an unused slot */
};

/* Python's int arithmetic is exact, a double's only below 2**53: a result is
 * an int (Store.dint) while its operands are and it is exact. */
#define EXACT_INTS 9007199254740992.0 /* 2**53: doubles hold every int up to it */

/* Whether an op's result x, computed from exact ints, is still exact: below
 * 2**53 the rounded result of + or * is the exact one. */
static inline uint8_t exact_int(double x)
{
    return x < EXACT_INTS && x > -EXACT_INTS;
}

typedef struct {
    Node *nodes;
    double *data;        /* per slot: the node's data */
    uint8_t *dint;       /* per slot: 1 while the data is an int */
    double *grad;        /* per slot: the node's grad */
    uint8_t *gint;       /* per slot: 1 while the grad is an int (every part added to it was) */
    uint16_t *mark;      /* per slot: == epoch once backward has found the node */
    int32_t *refs;       /* per slot: Python Values holding the node + parent nodes using it */
    int32_t *pos;        /* per slot: where the node is on the tape */
    int32_t capacity;    /* slots allocated */
    int32_t top;         /* slots [0, top) have been handed out at least once */
    int32_t free_head;   /* a slot ready for reuse, -1 if none */
    int32_t pending_head;/* a slot freed since the tape was last compacted, -1 if none */
    int32_t live;
    int64_t made;        /* nodes made so far */
    int64_t node_limit;  /* 0 = no limit */
    int64_t extra_bytes; /* bytes allocated beside the nodes: kid lists, Powers */
    uint16_t epoch;      /* bumped by every backward, so marks rarely need clearing */
    int64_t epochs;      /* how many epochs there have been (epoch wraps around) */
    /* The tape: every node's id, in the order the nodes were made. A node is
     * made after its children, so the tape read backwards is a topological
     * order, and backward is one pass down a contiguous array. A freed node's
     * entry stays (as a free slot) until the tape is compacted, and its slot is
     * not reused before that, so an entry never names a newer node. The leaf
     * a number operand makes is not on it (its pos is -1): it has no step, so
     * backward need not walk past it (see tape_drop). */
    int32_t *tape;
    int32_t tape_len;
    int32_t *todo;       /* worklist: nodes to free, or backward's nodes to visit */
    int32_t passes_open; /* backward passes stopped at a custom node (mg_pass): while any is,
                          * the tape is not compacted, so no slot a pass lists is reused */
    int64_t rekinded;    /* changes of a live node's kind in place (mg_set_leaf, mg_set_custom,
                          * mg_custom on a node): a reduced batch's list of captured nodes
                          * that have a backward is made again after one (replay.c) */
    int32_t traces_open; /* recordings being made (mg_trace_begin): a recording is the tape
                          * past a point, so neither is the tape compacted nor reordered */
} Store;

extern Store store;

void store_lock(void);
void store_unlock(void);

/* A new node of a kind with room for nkids children (and whatever else the op
 * table says it keeps), held once (by the Value the caller makes for it);
 * returns its id or MG_ENOMEM. The caller fills in the kids and calls
 * node_hold_kids, or put_back to give the slot back. */
int32_t node_new(int32_t kind, int32_t nkids);
void node_hold_kids(const Node *n);
/* Free the slot (reusable once the tape is compacted); the caller has dealt
 * with the children. */
void put_back(int32_t id);
/* Free node id, which nobody refers to now, and, in turn, the children only it
 * referred to (node_drop's work when a count reaches zero). */
void node_free(int32_t id);
/* Let go of the node's children and of what it keeps beside them: it is left
 * with no children, for the caller to give a kind. */
void node_unlink(int32_t id);
/* Drop the tape entries of freed nodes, keeping the order of the rest, and
 * make their slots reusable. */
void tape_compact(void);
/* Move the newest `count` nodes on the tape to just before node id (nodes
 * made for id's children after it, which backward must visit after it). */
void tape_move_before(int32_t id, int32_t count);
/* Take node id, the newest on the tape, off it (its pos is then -1): a leaf
 * held only by the parent it is made for (x * 2's 2) has no step, and backward
 * never visits it. tape_put_first puts such a node back, first (it has no
 * children: every node that can reach it comes after it), when it gets a step
 * (mg_set_custom). */
void tape_drop(int32_t id);
void tape_put_first(int32_t id);

/* Whether the tape must stay as it is: no compaction, no node moved on it (see Store). */
static inline int tape_pinned(void)
{
    return store.passes_open || store.traces_open;
}

/* Whether id is a node's (in the store, and not a free slot): every id a call is given is
 * checked, so this is inline. */
static inline int node_is_live(int32_t id)
{
    return id >= 0 && id < store.top && store.nodes[id].op != FREE_SLOT;
}

/* Whether every one of the n ids is a node's. */
static inline int all_live(const int32_t *ids, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!node_is_live(ids[i]))
            return 0;
    return 1;
}

/* Drop one reference; a node nobody refers to is freed, and so, in turn, are
 * children only it referred to. (Inline: most drops only count down.) */
static inline void node_drop(int32_t id)
{
    if (--store.refs[id] == 0)
        node_free(id);
}

static inline int32_t node_nkids(const Node *n)
{
    return n->nkids >= KIDS_IN_LIST ? n->first : n->nkids;
}

/* n's children as an array: its list, or (one or two children) a copy in two. For the
 * loops over a node's children: the count and the pointer stay in registers, where the
 * stores of a loop's body could change n's own fields as far as the compiler knows. */
static inline const int32_t *node_kids(const Node *n, int32_t two[2])
{
    if (n->nkids >= KIDS_IN_LIST)
        return n->u.list;
    two[0] = n->first;
    two[1] = n->u.second;
    return two;
}

/* Child j of n, 0 <= j < node_nkids(n). */
static inline int32_t node_kid(const Node *n, int32_t j)
{
    if (n->nkids >= KIDS_IN_LIST)
        return n->u.list[j];
    return j == 0 ? n->first : n->u.second;
}

#endif
