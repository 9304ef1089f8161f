/* store.c - node storage: allocation, reference counts, slot reuse, the lock,
 * and the small accessors the facade calls.
 *
 * A node is referenced by the Python Values that stand for it and by the
 * parent nodes built from it. When the count reaches zero the slot goes back
 * on the free list, so a training loop runs in bounded memory. */
#if !defined(_WIN32) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* glibc under -std=c11: mmap's MAP_ANONYMOUS and MAP_NORESERVE */
#endif
#include <math.h>
#include <stdlib.h>
#include "ops.h"
#include "threads.h"

Store store = { .free_head = -1, .pending_head = -1, .epoch = 1 };

/* One lock for the whole store. cffi releases the GIL around every call, so
 * two Python threads can be in here at once; `__del__` may run on any thread. */
#ifdef _WIN32
#include <windows.h>
static SRWLOCK lock = SRWLOCK_INIT;
void store_lock(void) { AcquireSRWLockExclusive(&lock); }
void store_unlock(void) { ReleaseSRWLockExclusive(&lock); }
#else
#include <pthread.h>
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int fork_handlers; /* registered yet: read and set under the lock */

/* fork() copies only the thread that calls it: had another thread held the
 * lock then (say, inside mg_backward), the child's copy of the lock would stay
 * held forever and its first call would hang. So fork waits for the lock, and
 * both processes give it back after. (The C core never waits for Python while
 * holding the lock, so the forking thread's wait always ends.) The pool of
 * batch threads is readied for fork in the same handlers, after the store:
 * a reduced batch's backward takes the pool's lock while holding the store's. */
static void lock_before_fork(void)
{
    pthread_mutex_lock(&lock);
    threads_before_fork();
}
static void unlock_after_fork(void)
{
    threads_after_fork(0);
    pthread_mutex_unlock(&lock);
}
static void unlock_in_child(void)
{
    threads_after_fork(1);
    pthread_mutex_unlock(&lock);
}

void store_lock(void)
{
    pthread_mutex_lock(&lock);
    if (!fork_handlers) {
        pthread_atfork(lock_before_fork, unlock_after_fork, unlock_in_child);
        fork_handlers = 1;
    }
}
void store_unlock(void) { pthread_mutex_unlock(&lock); }
#endif

enum {
    SMALL_STORE = 8192,  /* slots below which the store grows by SMALL_STEP */
    SMALL_STEP = 1024,
    GROWTH_DIVISOR = 8   /* above it, by capacity / GROWTH_DIVISOR */
};

/* ---- memory that never moves ----
 * Python reads and writes data and grads in the store's arrays directly, with
 * no call and no lock (mg_get_views), while other threads may be making nodes:
 * so the arrays it reads (the nodes, the grads and their int flags) never move.
 * Address space for the most slots there can be is reserved once, and the store
 * grows by committing more of it. (Where that much cannot be reserved, less is,
 * and the store stops there.) The arrays only C reads grow by realloc. */
#define REGION_ALIGN ((size_t)1 << 16) /* Windows reserves in 64 KiB steps; no page is larger */

static size_t align_up(size_t bytes, size_t to)
{
    return (bytes + to - 1) / to * to;
}

/* The bytes of an array of n entries of size bytes each, in whole REGION_ALIGN steps (in 64
 * bits: on a 32-bit machine the most slots do not fit in the address space). */
static uint64_t region_bytes(uint64_t n, size_t size)
{
    return (n * size + REGION_ALIGN - 1) / REGION_ALIGN * REGION_ALIGN;
}

#ifdef _WIN32
static void *reserve(size_t bytes)
{
    return VirtualAlloc(NULL, bytes, MEM_RESERVE, PAGE_NOACCESS);
}

static int commit(void *base, size_t bytes)
{
    return VirtualAlloc(base, bytes, MEM_COMMIT, PAGE_READWRITE) != NULL;
}
#else
#include <sys/mman.h>
#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif
static void *reserve(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int commit(void *base, size_t bytes)
{
    return mprotect(base, bytes, PROT_READ | PROT_WRITE) == 0;
}
#endif

/* The arrays in reserved memory (data, dint, grad, gint): each slot's bytes in
 * each, and where each starts. */
enum { FIXED = 4 };
static const size_t FIXED_SIZES[FIXED] = { sizeof(double), sizeof(uint8_t), sizeof(double), sizeof(uint8_t) };
static char *fixed[FIXED];
static int32_t max_slots; /* what was reserved */

/* Reserve room for the most slots (below MG_NO_NODE, which is never a node's id):
 * the most there can be, or as many as the address space allows. */
static int reserve_fixed(void)
{
    for (uint64_t slots = (uint64_t)1 << 31; slots >= REGION_ALIGN; slots /= 4) {
        uint64_t n = slots - REGION_ALIGN, total = 0;
        for (int i = 0; i < FIXED; i++)
            total += region_bytes(n, FIXED_SIZES[i]);
        char *base = total <= SIZE_MAX ? reserve((size_t)total) : NULL;
        if (!base)
            continue;
        for (int i = 0; i < FIXED; i++) {
            fixed[i] = base;
            base += (size_t)region_bytes(n, FIXED_SIZES[i]);
        }
        max_slots = (int32_t)n;
        return 0;
    }
    return MG_ENOMEM;
}

/* More slots, and every per-slot array with them. */
static int grow(void)
{
    if (!max_slots && reserve_fixed() != 0)
        return MG_ENOMEM;
    if (store.capacity == max_slots)
        return MG_ENOMEM;
    /* By an eighth: the store then never holds more than 1/8 slack (realloc of
     * a large block moves pages, not bytes, so small steps are cheap); a small
     * store by a fixed step, so that it does not grow a few slots at a time. */
    int64_t cap = (int64_t)store.capacity
                + (store.capacity < SMALL_STORE ? SMALL_STEP : store.capacity / GROWTH_DIVISOR);
    if (cap > max_slots)
        cap = max_slots;
    /* Nodes last: a failure before them leaves the arrays larger than needed,
     * never smaller than the nodes. */
    int32_t **arrays[] = { &store.refs, &store.pos, &store.tape, &store.todo };
    for (int i = 0; i < 4; i++) {
        int32_t *a = realloc(*arrays[i], (size_t)cap * sizeof(int32_t));
        if (!a)
            return MG_ENOMEM;
        *arrays[i] = a;
    }
    uint16_t *mark = realloc(store.mark, (size_t)cap * sizeof(uint16_t));
    if (!mark)
        return MG_ENOMEM;
    store.mark = mark;
    for (int i = 0; i < FIXED; i++) /* (committing more never moves or changes what is there) */
        if (!commit(fixed[i], align_up((size_t)cap * FIXED_SIZES[i], REGION_ALIGN)))
            return MG_ENOMEM;
    store.data = (double *)fixed[0];
    store.dint = (uint8_t *)fixed[1];
    store.grad = (double *)fixed[2];
    store.gint = (uint8_t *)fixed[3];
    Node *nodes = realloc(store.nodes, (size_t)cap * sizeof(Node));
    if (!nodes)
        return MG_ENOMEM;
    store.nodes = nodes;
    store.capacity = (int32_t)cap;
    return 0;
}

void tape_compact(void)
{
    int32_t kept = 0;
    for (int32_t i = 0; i < store.tape_len; i++) {
        int32_t id = store.tape[i];
        if (store.nodes[id].op != FREE_SLOT) {
            store.pos[id] = kept;
            store.tape[kept++] = id;
        }
    }
    store.tape_len = kept;
    while (store.pending_head >= 0) {
        int32_t id = store.pending_head;
        store.pending_head = store.nodes[id].first;
        store.nodes[id].first = store.free_head;
        store.free_head = id;
    }
}

void tape_move_before(int32_t id, int32_t count)
{
    int32_t at = store.pos[id], end = store.tape_len - count;
    int32_t *moved = store.todo; /* scratch: nothing else uses it between calls */
    for (int32_t i = 0; i < count; i++)
        moved[i] = store.tape[end + i];
    for (int32_t i = end - 1; i >= at; i--) {
        store.tape[i + count] = store.tape[i];
        store.pos[store.tape[i + count]] = i + count;
    }
    for (int32_t i = 0; i < count; i++) {
        store.tape[at + i] = moved[i];
        store.pos[moved[i]] = at + i;
    }
}

void tape_drop(int32_t id)
{
    store.tape_len--; /* (the newest entry: id's) */
    store.pos[id] = -1;
}

void tape_put_first(int32_t id)
{
    store.pos[id] = store.tape_len; /* (room: the tape has an entry a slot, and id has none) */
    store.tape[store.tape_len++] = id;
    if (store.tape_len > 1)
        tape_move_before(store.tape[0], 1);
}

/* A slot for a new node: a reusable one, else an untouched one, else make
 * room. Every slot is in use or on a list exactly when the tape is full. */
static int32_t take_slot(void)
{
    if (store.free_head < 0 && store.top == store.capacity) {
        /* Compact, and grow unless that gave back an eighth of the slots or
         * more, so that compaction costs O(1) per node made, amortized. But
         * only grow while a stopped pass lists nodes: a slot it lists must not
         * be reused. */
        int compact = !tape_pinned();
        if (compact)
            tape_compact();
        if ((!compact || store.live >= store.capacity - store.capacity / GROWTH_DIVISOR)
            && grow() != 0 && store.free_head < 0)
            return MG_ENOMEM;
    }
    if (store.free_head >= 0) {
        int32_t id = store.free_head;
        store.free_head = store.nodes[id].first;
        return id;
    }
    return store.top++;
}

int32_t node_new(int32_t kind, int32_t nkids)
{
    if (store.node_limit && store.live >= store.node_limit)
        return MG_ENOMEM;
    const Op *op = &OPS[kind];
    size_t extra = (op->kids_in_list ? (size_t)nkids * sizeof(int32_t) : 0) + op->extra;
    void *block = NULL;
    if (extra) {
        block = malloc(extra); /* a kid list is filled in by the caller, extra storage by the op */
        if (!block)
            return MG_ENOMEM;
    }
    int32_t id = take_slot();
    if (id < 0) {
        free(block);
        return MG_ENOMEM;
    }
    Node *n = &store.nodes[id];
    n->u.arg = 0.0;
    n->first = -1;
    n->nkids = (uint8_t)nkids;
    n->arg_int = 0;
    n->layout = (uint8_t)kind;
    if (op->kids_in_list) {
        n->u.list = block;
        n->first = nkids;
        n->nkids = KIDS_IN_LIST;
    } else if (block) {
        n->u.extra = block;
    }
    store.extra_bytes += (int64_t)extra;
    n->op = (uint8_t)kind;
    store.data[id] = 0.0;
    store.dint[id] = 0;
    store.grad[id] = 0.0;
    store.gint[id] = 1; /* micrograd's grad starts as the int 0 */
    store.mark[id] = 0;
    store.refs[id] = 1;
    store.pos[id] = store.tape_len;
    store.tape[store.tape_len++] = id;
    store.live++;
    store.made++;
    return id;
}

void node_hold_kids(const Node *n)
{
    int32_t two[2], nkids = node_nkids(n);
    const int32_t *kids = node_kids(n, two);
    for (int32_t j = 0; j < nkids; j++)
        store.refs[kids[j]]++;
}

/* Free what the node keeps beside it (a kid list, extra storage), and let go of what it owns. */
static void free_extra(Node *n)
{
    if (OPS[n->layout].release)
        OPS[n->layout].release(n);
    if (n->nkids == KIDS_IN_LIST) { /* (with its op's extra bytes after the list) */
        store.extra_bytes -= (int64_t)n->first * (int64_t)sizeof(int32_t) + (int64_t)OPS[n->layout].extra;
        free(n->u.list);
    } else if (n->nkids == KIDS_IN_BLOCK) {
        int32_t *block = n->u.list - n->u.list[-1];
        if (--block[0] == 0) {
            store.extra_bytes -= (int64_t)block[1] * (int64_t)sizeof(int32_t);
            free(block);
        }
    } else if (OPS[n->layout].extra) {
        store.extra_bytes -= (int64_t)OPS[n->layout].extra;
        free(n->u.extra);
    }
}

void put_back(int32_t id)
{
    Node *n = &store.nodes[id];
    free_extra(n);
    n->op = FREE_SLOT;
    n->nkids = 0;
    store.refs[id] = 0;
    store.mark[id] = 0; /* a pass over a list of nodes may still name it: see FREE_SLOT */
    n->first = store.pending_head;
    store.pending_head = id;
    store.live--;
}

/* While node_free runs: how many nodes are on its worklist (-1: it is not running). */
static int32_t to_free = -1;

void node_free(int32_t id)
{
    /* Each node enters `todo` once, when its count reaches zero, so the
     * worklist fits in one entry per slot; no recursion, however deep. What a
     * node owns may hold nodes too (a reduced batch's recording holds the nodes
     * it captured): freed while this runs, they join its worklist. */
    store.todo[to_free < 0 ? 0 : to_free] = id;
    if (to_free >= 0) {
        to_free++;
        return;
    }
    to_free = 1;
    while (to_free > 0) {
        int32_t dead = store.todo[--to_free];
        const Node *n = &store.nodes[dead];
        int32_t two[2], nkids = node_nkids(n);
        const int32_t *kids = node_kids(n, two);
        for (int32_t j = 0; j < nkids; j++) {
            int32_t k = kids[j];
            if (--store.refs[k] == 0)
                store.todo[to_free++] = k;
        }
        put_back(dead);
    }
    to_free = -1;
}

void node_unlink(int32_t id)
{
    Node *n = &store.nodes[id];
    /* Dropping the children never frees this node, which the caller holds. A
     * list of kids is read before it is freed. */
    for (int32_t j = 0; j < node_nkids(n); j++)
        node_drop(node_kid(n, j));
    free_extra(n);
    n->nkids = 0;
    n->first = -1;
}

void mg_release(const int32_t *ids, int32_t n)
{
    store_lock();
    for (int32_t i = 0; i < n; i++)
        if (node_is_live(ids[i]))
            node_drop(ids[i]);
    store_unlock();
}

int32_t mg_holders(int32_t id)
{
    store_lock();
    int32_t count = node_is_live(id) ? store.refs[id] : MG_ENODE;
    store_unlock();
    return count;
}

int32_t mg_hold_kids(int32_t id, int32_t *out, int32_t cap)
{
    store_lock();
    int32_t count = node_is_live(id) ? MG_EINVAL : MG_ENODE;
    if (node_is_live(id) && node_nkids(&store.nodes[id]) <= cap) {
        const Node *n = &store.nodes[id];
        count = node_nkids(n);
        for (int32_t j = 0; j < count; j++) {
            out[j] = node_kid(n, j);
            store.refs[out[j]]++;
        }
    }
    store_unlock();
    return count;
}

void mg_get_stats(mg_stats *out)
{
    store_lock();
    out->live_nodes = store.live;
    out->capacity_nodes = store.capacity;
    out->node_limit = store.node_limit;
    out->bytes = (int64_t)store.capacity * (int64_t)(sizeof(Node) + 2 * sizeof(double) + 2 * sizeof(uint8_t)
                                                     + sizeof(uint16_t) + 4 * sizeof(int32_t))
               + store.extra_bytes;
    out->made = store.made;
    store_unlock();
}

void mg_get_views(mg_views *out)
{
    store_lock();
    if (store.capacity == 0)
        grow(); /* (if that fails there are no nodes to read) */
    out->data = store.data;
    out->data_int = store.dint;
    out->grad = store.grad;
    out->grad_int = store.gint;
    out->capacity = store.capacity;
    store_unlock();
}

void mg_set_node_limit(int64_t limit)
{
    store_lock();
    store.node_limit = limit > 0 ? limit : 0;
    store_unlock();
}
