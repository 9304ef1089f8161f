/* replay.c - recordings of graphs, made again from new inputs in one call
 * (micrograd_c.compile).
 *
 * A recording is the tape past a point: the nodes made while it was open, in
 * the order they were made, which the tape keeps while any recording is open
 * (see tape_pinned). Of those, the ones the outputs reach become steps; each
 * step names what it used by a reference:
 *   ref >= 0              an earlier step;
 *   ref = -2 - k, k < nin the k-th input (a leaf the caller makes anew for each replay);
 *   ref = -2 - nin - c    the c-th captured node: one made before the recording (a
 *                         model's parameter), held by the recording and read as it is.
 * A replay makes each step's node with the op table's own make (ops.c), so its
 * data is what the same ops give in eager mode, to the bit. A chain of products
 * and sums is one step (see fuse_chains).
 */
#include <stdint.h>
#include <stdlib.h>
#include "ops.h"
#include "threads.h"

/* A batch's numbers, in one buffer: the rows of n lanes (the inputs', then the steps', then, for
 * a batch kept for backward, each thread's scratch), each captured node's number, then the rows
 * of a chunk's lanes of the captured nodes that have one (see data_lanes); and the table of
 * where each reference's numbers are at lane 0 (kid_data), made for kid_n lanes in this buffer
 * (0: not made), which a later batch of as many lanes uses as it is (the table depends on the
 * recording and n alone). */
typedef struct {
    double *buf;
    size_t len;
    const double **kid_data;
    int32_t kid_n;
} Lanes;

struct mg_recording {
    int32_t nsteps, nin, ncaptured, nout;
    Step *steps;
    int32_t *kids_at; /* step i's references are refs[kids_at[i] .. kids_at[i] + nkids) */
    int32_t *refs;
    int32_t *captured;
    int32_t *outs;    /* the outputs' references */
    /* A batch: which captured nodes get a row of lanes (their number repeated), for the steps
     * that read them lane by lane (captured_row[c] >= 0, of nrows), and which steps read their
     * parameters as one number each (Step.params: see plan_batch). */
    int32_t *captured_row, nrows;
    int32_t nrefs, *ref_captured; /* each reference's captured node (captured_index), or -1 */
    /* A reduced batch's node's children: the captured nodes that have a backward of their own,
     * as they were at store.rekinded == rekinded_at (-1: not listed yet). */
    int32_t *with_backward, nwith;
    int64_t rekinded_at;
    /* A batch's numbers (Lanes), kept for the next batch (see take and give_back): a fresh
     * buffer would be fresh pages, and their faults cost more than the arithmetic (a batch of
     * 20,000 moons samples: 20 ms against 9.5 ms, and half the gain of a second thread), and its
     * table would be made again (an MNIST-sized layer's 40,000 references: a tenth of a batch of
     * 32). */
    Lanes spare;
    /* Held by the caller's handle (mg_recording_free) and by each batch kept (a reduced batch's
     * node may outlive the handle), freed by the last (recording_drop, lock held). */
    int32_t holders;
};

static void lanes_free(Lanes *lanes)
{
    free(lanes->buf);
    free(lanes->kid_data);
}

int32_t mg_trace_begin(void)
{
    store_lock();
    store.traces_open++;
    int32_t token = store.tape_len;
    store_unlock();
    return token;
}

/* Let go of a recording's steps and captured nodes (it has none after). */
static void forget_steps(mg_recording *rec)
{
    for (int32_t c = 0; c < rec->ncaptured; c++)
        node_drop(rec->captured[c]);
    free(rec->steps);
    free(rec->kids_at);
    free(rec->refs);
    free(rec->captured);
    free(rec->outs);
    rec->steps = NULL, rec->kids_at = NULL, rec->refs = NULL, rec->captured = NULL, rec->outs = NULL;
    rec->nsteps = rec->ncaptured = 0;
}

static void recording_drop(mg_recording *rec)
{
    if (!rec || --rec->holders > 0)
        return;
    forget_steps(rec);
    free(rec->captured_row);
    free(rec->ref_captured);
    free(rec->with_backward);
    lanes_free(&rec->spare);
    free(rec);
}

/* ref_of[id] while a node has no reference yet, and (where the nodes the outputs reach are
 * looked for: mark_reached) once the outputs are known to reach it. */
enum { UNSEEN = -1, REACHED = INT32_MAX };

/* The reference of node id, a child of a step or an output, once every step before has its
 * own (ref_of): a step's or an input's as it is (a step's counted in uses), else that of a new
 * captured node: one made before the recording (a model's parameter) or a number operand's
 * leaf, held by the recording from now on (captured has room for it; *ncaptured counts them,
 * a local of the caller's, so that it stays in a register through the loop). */
static ALWAYS_INLINE int32_t reference(int32_t *ref_of, int32_t *uses, int32_t *captured,
                                       int32_t *ncaptured, int32_t first_captured, int32_t id)
{
    int32_t ref = ref_of[id];
    if (ref == UNSEEN || ref == REACHED) {
        store.refs[id]++;
        captured[*ncaptured] = id;
        ref = ref_of[id] = first_captured - (*ncaptured)++;
    } else if (ref >= 0) {
        uses[ref]++;
    }
    return ref;
}

/* Which captured node ref is (its index in rec->captured), or -1: an input or a step. */
static ALWAYS_INLINE int32_t captured_index(const mg_recording *rec, int32_t ref)
{
    return ref < 0 && -2 - ref >= rec->nin ? -2 - ref - rec->nin : -1;
}

/* How a batch will lay out the captured nodes, planned by a recording's first batch (with
 * the store's lock held). A step whose children from step_first_param on are all captured (a
 * neuron of a layer's parameters: the usual case) reads each of them as one number (params);
 * every other read of a captured node, and a captured output, is of a row of lanes holding
 * its number, made only for the captured nodes that need one. */
static int32_t plan_batch(mg_recording *rec)
{
    int32_t *captured_row = malloc(((size_t)rec->ncaptured + 1) * sizeof(int32_t));
    rec->nrefs = rec->nsteps ? rec->kids_at[rec->nsteps - 1] + rec->steps[rec->nsteps - 1].nkids : 0;
    int32_t *ref_captured = malloc(((size_t)rec->nrefs + 1) * sizeof(int32_t));
    if (!captured_row || !ref_captured) {
        free(captured_row);
        free(ref_captured);
        return MG_ENOMEM;
    }
    for (int32_t r = 0; r < rec->nrefs; r++)
        ref_captured[r] = captured_index(rec, rec->refs[r]);
    rec->ref_captured = ref_captured;
    rec->captured_row = captured_row;
    for (int32_t c = 0; c < rec->ncaptured; c++)
        rec->captured_row[c] = -1;
    for (int32_t i = 0; i < rec->nsteps; i++) {
        Step *step = &rec->steps[i];
        const int32_t *refs = rec->refs + rec->kids_at[i];
        int32_t first = step_first_param(step);
        step->params = first < step->nkids;
        for (int32_t j = first; j < step->nkids; j++)
            step->params &= captured_index(rec, refs[j]) >= 0;
        for (int32_t j = 0; j < step->nkids; j++) {
            int32_t c = captured_index(rec, refs[j]);
            if (c >= 0 && !(step->params && j >= first) && rec->captured_row[c] < 0)
                rec->captured_row[c] = rec->nrows++;
        }
    }
    for (int32_t j = 0; j < rec->nout; j++) {
        int32_t c = captured_index(rec, rec->outs[j]);
        if (c >= 0 && rec->captured_row[c] < 0)
            rec->captured_row[c] = rec->nrows++;
    }
    return 0;
}

/* Mark REACHED (in ref_of) the nodes made at tape position >= start that the outputs reach: the
 * tape read backwards comes to each node after every node made from it, so whether it is
 * reached is known by then, and its children are marked next. */
static void mark_reached(int32_t start, int32_t *ref_of, const int32_t *outs, int32_t nout)
{
    for (int32_t j = 0; j < nout; j++)
        if (ref_of[outs[j]] == UNSEEN)
            ref_of[outs[j]] = REACHED;
    for (int32_t p = store.tape_len - 1; p >= start; p--) {
        int32_t id = store.tape[p];
        const Node *n = &store.nodes[id];
        if (n->op == FREE_SLOT || ref_of[id] != REACHED)
            continue;
        int32_t two[2], nkids = node_nkids(n);
        const int32_t *kids = node_kids(n, two);
        for (int32_t j = 0; j < nkids; j++)
            if (ref_of[kids[j]] == UNSEEN)
                ref_of[kids[j]] = REACHED;
    }
}

/* Whether node id, at tape position >= start, is to be a step: live, and marked REACHED unless
 * every live node is. */
static ALWAYS_INLINE int is_step(const int32_t *ref_of, int32_t id, int every)
{
    return store.nodes[id].op != FREE_SLOT && (every || ref_of[id] == REACHED);
}

/* Room in rec->captured (*room entries) for `more` after the first n: it doubles as needed. */
static int32_t captured_room(mg_recording *rec, int64_t *room, int32_t n, int32_t more)
{
    if (n + (int64_t)more <= *room)
        return 0;
    int64_t want = n + (int64_t)more > 2 * *room ? n + (int64_t)more : 2 * *room;
    int32_t *grown = realloc(rec->captured, (size_t)want * sizeof(int32_t));
    if (!grown)
        return MG_ENOMEM;
    rec->captured = grown;
    *room = want;
    return 0;
}

/* The recording's steps (the nodes made at tape position >= start that is_step takes, in tape
 * order), captured nodes and outputs (ref_of: the inputs' references, REACHED marks if not
 * every, UNSEEN elsewhere), and in *uses how many references (and outputs) each step's result
 * has (fuse_chains's). */
static int32_t take_steps(int32_t start, int every, const int32_t *outs, mg_recording *rec,
                          int32_t *ref_of, int32_t **uses)
{
    int32_t nsteps = 0, nrefs = 0;
    int64_t room = 1024; /* (captured's, made more as needed) */
    for (int32_t p = start; p < store.tape_len; p++)
        if (is_step(ref_of, store.tape[p], every)) {
            nsteps++;
            nrefs += node_nkids(&store.nodes[store.tape[p]]);
        }
    rec->steps = malloc(((size_t)nsteps + 1) * sizeof(Step));
    rec->kids_at = malloc(((size_t)nsteps + 1) * sizeof(int32_t));
    rec->refs = malloc(((size_t)nrefs + 1) * sizeof(int32_t));
    rec->outs = malloc(((size_t)rec->nout + 1) * sizeof(int32_t));
    rec->captured = malloc((size_t)room * sizeof(int32_t));
    int32_t *used = *uses = calloc((size_t)nsteps + 1, sizeof(int32_t));
    int32_t err = rec->steps && rec->kids_at && rec->refs && rec->outs && rec->captured && used
                  ? 0 : MG_ENOMEM;
    int32_t ncaptured = 0, first_captured = -2 - rec->nin; /* (captured c's reference: -2 - nin - c) */
    nrefs = 0;
    for (int32_t p = start; p < store.tape_len && !err; p++) {
        int32_t id = store.tape[p];
        if (!is_step(ref_of, id, every))
            continue;
        const Node *n = &store.nodes[id];
        Step *step = &rec->steps[rec->nsteps];
        int32_t nkids = node_as_step(id, step), two[2], *refs = rec->refs + nrefs;
        err = nkids < 0 ? nkids : captured_room(rec, &room, ncaptured, nkids);
        if (err)
            break;
        const int32_t *kids = node_kids(n, two);
        int32_t *captured = rec->captured;
        rec->kids_at[rec->nsteps] = nrefs;
        for (int32_t j = 0; j < nkids; j++) /* (its children come before it: known) */
            refs[j] = reference(ref_of, used, captured, &ncaptured, first_captured, kids[j]);
        nrefs += nkids;
        ref_of[id] = rec->nsteps++; /* its own reference, for the steps after it */
    }
    if (!err)
        err = captured_room(rec, &room, ncaptured, rec->nout);
    for (int32_t j = 0; j < rec->nout && !err; j++)
        rec->outs[j] = reference(ref_of, used, rec->captured, &ncaptured, first_captured, outs[j]);
    rec->ncaptured = ncaptured;
    return err;
}

/* ref_of as a recording starts from: UNSEEN for every node, the inputs' references. */
static void fresh_map(int32_t *ref_of, const int32_t *inputs, int32_t nin)
{
    for (int32_t i = 0, top = store.top; i < top; i++) /* (top read once: the loop is a memset) */
        ref_of[i] = UNSEEN;
    for (int32_t k = 0; k < nin; k++)
        ref_of[inputs[k]] = -2 - k;
}

/* The recording of the nodes made at tape position >= start that the outputs reach (ref_of:
 * scratch with a slot for every node), and *uses (take_steps's). First every live node made
 * since start is taken as a step: the usual case, where the outputs reach them all (the nodes
 * of the Values fn let go of are freed by then), and it needs no pass to find the ones reached.
 * Where a step turns out unused and is no output, or cannot be a step (a custom node), that was
 * not so: the steps are taken again, from the nodes the outputs reach. (Every step used by a
 * later one, or an output: then every step leads to an output.) */
static int32_t record(int32_t start, const int32_t *inputs, const int32_t *outs,
                      mg_recording *rec, int32_t *ref_of, int32_t **uses)
{
    fresh_map(ref_of, inputs, rec->nin);
    int32_t err = take_steps(start, 1, outs, rec, ref_of, uses), unused = 0;
    for (int32_t i = 0; i < rec->nsteps && !err; i++)
        unused |= (*uses)[i] == 0;
    if (err == MG_ENOMEM || (!err && !unused))
        return err;
    forget_steps(rec);
    free(*uses);
    *uses = NULL;
    fresh_map(ref_of, inputs, rec->nin);
    mark_reached(start, ref_of, outs, rec->nout);
    return take_steps(start, 0, outs, rec, ref_of, uses);
}

/* ---- a recording's sums of products, fused ----
 * `sum(p * p for p in params)` records a product and a sum a term: M1 = p0*p0, S1 = M1 + 0,
 * M2 = p1*p1, S2 = S1 + M2, ... Such a chain, each of its nodes but the last used by the next
 * alone and made right after it, becomes one step of ops.c's fused chain (its data, grads and
 * order of adding into grads are those nodes', and asking for its children makes them). */

/* Step i's references. */
static const int32_t *step_refs(const mg_recording *rec, int32_t i)
{
    return rec->refs + rec->kids_at[i];
}

/* Whether steps i, i + 1 are a link of a chain: a product used by the sum after it alone, the
 * sum's other term `prev` (the last link's sum: then used by this sum alone), or for the first
 * link (prev < 0) any reference or a number. */
static int is_link(const mg_recording *rec, const int32_t *uses, int32_t i, int32_t prev)
{
    if (i + 1 >= rec->nsteps || uses[i] != 1 || step_shape(&rec->steps[i]) != STEP_PRODUCT
        || step_shape(&rec->steps[i + 1]) != STEP_SUM)
        return 0;
    const Step *sum = &rec->steps[i + 1];
    const int32_t *r = step_refs(rec, i + 1);
    if (prev < 0)
        return sum->constant ? r[0] == i : (r[0] == i) != (r[1] == i);
    return !sum->constant && uses[prev] == 1 && ((r[0] == i && r[1] == prev) || (r[0] == prev && r[1] == i));
}

/* How many links the chain from step i has (0 or 1: no chain worth fusing). */
static int32_t chain_links(const mg_recording *rec, const int32_t *uses, int32_t i)
{
    int32_t links = 0;
    for (int32_t j = i; is_link(rec, uses, j, links ? j - 1 : -1); j += 2)
        links++;
    return links;
}

/* The first link's other term, a reference (where it is not a number: see Step.constant). */
static int32_t chain_start(const mg_recording *rec, int32_t i)
{
    const int32_t *r = step_refs(rec, i + 1);
    return r[0] == i ? r[1] : r[0];
}

static int32_t fuse_chains(mg_recording *rec, const int32_t *uses)
{
    int32_t n = rec->nsteps;
    int32_t *links = malloc(((size_t)n + 1) * sizeof(int32_t));
    int32_t *new_of = malloc(((size_t)n + 1) * sizeof(int32_t));
    if (!links || !new_of) {
        free(links), free(new_of);
        return MG_ENOMEM;
    }
    int32_t steps = 0, refs = 0, chains = 0;
    for (int32_t i = 0; i < n;) { /* what the fused recording will hold */
        links[i] = chain_links(rec, uses, i);
        if (links[i] < 2) {
            links[i] = 0;
            refs += rec->steps[i].nkids;
            steps++, i++;
            continue;
        }
        steps += rec->steps[i + 1].constant ? 2 : 1; /* (a number: a leaf step before the chain) */
        refs += 2 * links[i] + 1;
        chains++;
        i += 2 * links[i];
    }
    Step *new_steps = chains ? malloc((size_t)steps * sizeof(Step)) : NULL;
    int32_t *kids_at = chains ? malloc((size_t)steps * sizeof(int32_t)) : NULL;
    int32_t *new_refs = chains ? malloc(((size_t)refs + 1) * sizeof(int32_t)) : NULL;
    int32_t err = chains && !(new_steps && kids_at && new_refs) ? MG_ENOMEM : 0;
    if (chains && !err) {
        int32_t at = 0, made = 0; /* (references, steps of the fused recording so far) */
        for (int32_t i = 0; i < n;) {
            const int32_t *r = step_refs(rec, i);
            if (!links[i]) { /* a step as it is, its references to steps renumbered */
                new_steps[made] = rec->steps[i];
                kids_at[made] = at;
                for (int32_t j = 0; j < rec->steps[i].nkids; j++)
                    new_refs[at++] = r[j] >= 0 ? new_of[r[j]] : r[j];
                new_of[i++] = made++;
                continue;
            }
            int32_t m = links[i], start;
            if (rec->steps[i + 1].constant) { /* S1 = M1 + c: c a leaf's */
                new_steps[made] = leaf_step(rec->steps[i + 1].arg, rec->steps[i + 1].arg_int);
                kids_at[made] = at;
                start = made++;
            } else {
                start = chain_start(rec, i);
                start = start >= 0 ? new_of[start] : start;
            }
            new_steps[made] = chain_step(m);
            kids_at[made] = at;
            for (int32_t k = 0; k < m; k++) { /* product k = w * x: x[k] its second factor */
                const int32_t *factors = step_refs(rec, i + 2 * k);
                new_refs[at + k] = factors[1] >= 0 ? new_of[factors[1]] : factors[1];
                new_refs[at + m + k] = factors[0] >= 0 ? new_of[factors[0]] : factors[0];
            }
            new_refs[at + 2 * m] = start;
            at += 2 * m + 1;
            i += 2 * m;
            new_of[i - 1] = made++; /* (the last sum's; no step uses the others) */
        }
        for (int32_t j = 0; j < rec->nout; j++)
            if (rec->outs[j] >= 0)
                rec->outs[j] = new_of[rec->outs[j]];
        free(rec->steps), free(rec->kids_at), free(rec->refs);
        rec->steps = new_steps, rec->kids_at = kids_at, rec->refs = new_refs;
        rec->nsteps = steps;
    } else {
        free(new_steps), free(kids_at), free(new_refs);
    }
    free(links), free(new_of);
    return err;
}

int32_t mg_trace_end(int32_t token, int32_t nin, const int32_t *inputs, int32_t nout,
                     const int32_t *outs, mg_recording **out)
{
    store_lock();
    store.traces_open--;
    int32_t err = 0;
    *out = NULL;
    if (nout == 0 || nin < 0 || nout < 0 || token < 0 || token > store.tape_len) {
        store_unlock();
        return nout == 0 ? 0 : MG_EINVAL;
    }
    for (int32_t k = 0; k < nin && !err; k++)
        err = node_is_live(inputs[k]) ? 0 : MG_ENODE;
    for (int32_t j = 0; j < nout && !err; j++)
        err = node_is_live(outs[j]) ? 0 : MG_ENODE;
    mg_recording *rec = err ? NULL : calloc(1, sizeof *rec);
    if (rec) {
        rec->holders = 1;
        rec->rekinded_at = -1;
    }
    /* The map of references is store.todo, scratch with a slot for every node: a map
     * allocated at each recording came in fresh pages, whose faults were a seventh of an
     * MNIST image's first call in some processes. */
    int32_t *ref_of = store.todo, *uses = NULL;
    if (!err && !rec)
        err = MG_ENOMEM;
    if (!err) {
        rec->nin = nin;
        rec->nout = nout;
        err = record(token, inputs, outs, rec, ref_of, &uses);
    }
    if (!err)
        err = fuse_chains(rec, uses);
    free(uses);
    if (err)
        recording_drop(rec);
    else
        *out = rec;
    store_unlock();
    return err;
}

/* The node a reference names at a replay (made[] holds the steps' new nodes). */
static int32_t resolve(const mg_recording *rec, const int32_t *made, const int32_t *inputs, int32_t ref)
{
    if (ref >= 0)
        return made[ref];
    int32_t k = -2 - ref;
    return k < rec->nin ? inputs[k] : rec->captured[k - rec->nin];
}

int32_t mg_replay(const mg_recording *rec, int32_t nin, const int32_t *inputs, int32_t *out)
{
    if (!rec || nin != rec->nin)
        return MG_EINVAL;
    store_lock();
    int32_t err = 0, done = 0;
    for (int32_t k = 0; k < nin && !err; k++)
        err = node_is_live(inputs[k]) ? 0 : MG_ENODE;
    int32_t widest = 0;
    for (int32_t i = 0; i < rec->nsteps; i++)
        if (rec->steps[i].nkids > widest)
            widest = rec->steps[i].nkids;
    int32_t *made = err ? NULL : malloc(((size_t)rec->nsteps + 1) * sizeof(int32_t));
    int32_t *kids = err ? NULL : malloc(((size_t)widest + 1) * sizeof(int32_t));
    if (!err && !(made && kids))
        err = MG_ENOMEM;
    for (; done < rec->nsteps && !err; done++) {
        const Step *step = &rec->steps[done];
        for (int32_t j = 0; j < step->nkids; j++)
            kids[j] = resolve(rec, made, inputs, rec->refs[rec->kids_at[done] + j]);
        int32_t id = node_from_step(step, kids);
        if (id < 0) {
            err = id;
            break;
        }
        made[done] = id;
    }
    if (!err)
        for (int32_t j = 0; j < rec->nout; j++) {
            out[j] = resolve(rec, made, inputs, rec->outs[j]);
            store.refs[out[j]]++; /* for the caller's Value */
        }
    for (int32_t i = 0; i < done; i++) /* held by their parents, or out, now */
        node_drop(made[i]);
    free(made);
    free(kids);
    store_unlock();
    return err;
}

void mg_recording_describe(const mg_recording *rec, mg_recording_info *out)
{
    out->steps = rec->nsteps;
    out->captured = rec->ncaptured;
    out->inputs = rec->nin;
    out->outputs = rec->nout;
}

void mg_recording_free(mg_recording *rec)
{
    store_lock();
    recording_drop(rec);
    store_unlock();
}

/* ---- a recording run on lanes: a batch of samples in one call ----
 * Every reference has a row of lanes (lane s: sample s): the inputs' from the caller's
 * matrix and each step's, computed by its op's forward_lanes, n lanes long; a captured
 * node's, its data repeated, one chunk long (the same for every chunk). A reduced batch
 * (mg_batch_reduce) keeps the rows for its backward (batch_backward), which runs each op's
 * backward_lanes from the last step to the first and adds each captured node's lanes into its
 * grad. A big batch's chunks are run on the machine's cores (threads.c: each chunk runs every
 * step on its lanes, needing nothing from the others). A captured node's lanes are summed a
 * chunk of LANE_CHUNK at a time, then the chunks' sums in order: the same sums however many
 * threads ran. */
enum {
    LANE_CHUNK = LANES_MAX, /* lanes summed together, and a thread's part */
    LANES_PER_THREAD = 4096, /* fewer than this a thread: not worth another */
    LINE_DOUBLES = 8 /* doubles in a cache line (64 bytes) */
};

struct mg_batch {
    mg_recording *rec;       /* held (recording_drop) */
    int32_t n;
    int32_t threads;         /* how many threads it runs on (fixed at the forward: their scratch) */
    int32_t widest;          /* the most children a step has (widest_step) */
    size_t lists_each;       /* from a thread's lists of a step's children to the next's (see
                              * batch_run) */
    Lanes mem;               /* its numbers, and the table of where they are: */
    double *lanes;           /* rows of n lanes: the inputs', then the steps' (in mem's buffer,
                              * from a cache line's start) */
    size_t stride;           /* from a row to the next: n, rounded up to whole cache lines, so
                              * that two threads' chunks never write into one line */
    double *params;          /* each captured node's number */
    double *captured;        /* rows of a chunk's lanes: the captured nodes' that have one
                              * (rec->captured_row), their number repeated */
    const double **kid_data; /* each reference's numbers at lane 0 (see kid_lanes) */
    /* A kept batch's backward: each chunk's sums of the captured nodes' gradients, and each
     * thread's grad rows and scratch rows (work_each doubles a thread), in mem's buffer; and
     * each thread's lists of a step's children (lists_each apart). */
    double *chunk_sums, *work;
    size_t work_each;
    const double **kids;
    double **kid_grads, **kid_sums;
    /* The forward's inputs (nargs arrays of widths[a] numbers a sample) and outputs, a sample
     * a row: the caller's, read and written by each part for its lanes. */
    const double *const *args;
    const int32_t *widths;
    int32_t nargs;
    double *out;
};

/* n doubles rounded up to whole cache lines. */
static size_t whole_lines(size_t n)
{
    return (n + LINE_DOUBLES - 1) / LINE_DOUBLES * LINE_DOUBLES;
}

/* A chunk's lanes: LANE_CHUNK, or n if fewer (a captured node's row is one chunk long). */
static int32_t chunk_width(int32_t n)
{
    return n < LANE_CHUNK ? n : LANE_CHUNK;
}

static int32_t chunk_count(int32_t n)
{
    return (n + LANE_CHUNK - 1) / LANE_CHUNK;
}

/* How many of n lanes the chunk from lane lo has. */
static int32_t chunk_lanes(int32_t n, int32_t lo)
{
    return n - lo < LANE_CHUNK ? n - lo : LANE_CHUNK;
}

/* Where reference ref's numbers are, from lane lo: an input's or a step's row (of n lanes),
 * a captured node's row (one chunk long, the same for every chunk: lo is a chunk's first
 * lane), or, for a captured node with no row, its one number. */
static ALWAYS_INLINE double *data_lanes(const mg_batch *b, int32_t ref, int32_t lo)
{
    const mg_recording *rec = b->rec;
    if (ref >= 0)
        return b->lanes + ((size_t)rec->nin + ref) * b->stride + lo;
    int32_t k = -2 - ref;
    if (k < rec->nin)
        return b->lanes + (size_t)k * b->stride + lo;
    int32_t row = rec->captured_row[k - rec->nin];
    return row < 0 ? &b->params[k - rec->nin] : b->captured + (size_t)row * (size_t)chunk_width(b->n);
}

/* Step i's grad lanes for the chunk a thread works on, in its grads (a row of a chunk's lanes a
 * step: a chunk's grads are wanted only while its backward runs, so they stay in the cache). */
static ALWAYS_INLINE double *grad_lanes(double *grads, int32_t i, size_t width)
{
    return grads + (size_t)i * width;
}

/* Step i's children's numbers from lane lo: the batch's table itself at lane 0 (the usual case:
 * a batch of one chunk), else in kids, each row of lanes lo further on (a captured node's row
 * or number is the same for every chunk). */
static ALWAYS_INLINE const double *const *kid_lanes(const mg_batch *b, int32_t i, int32_t lo,
                                                    const double **kids)
{
    const double *const *at = b->kid_data + b->rec->kids_at[i];
    if (lo == 0)
        return at;
    const int32_t *captured = b->rec->ref_captured + b->rec->kids_at[i];
    for (int32_t j = 0; j < b->rec->steps[i].nkids; j++)
        kids[j] = captured[j] < 0 ? at[j] + lo : at[j];
    return kids;
}

static int32_t widest_step(const mg_recording *rec)
{
    int32_t widest = 1;
    for (int32_t i = 0; i < rec->nsteps; i++)
        if (rec->steps[i].nkids > widest)
            widest = rec->steps[i].nkids;
    return widest;
}

/* A chunk of lanes through every step (threads_run's part: a big batch's chunks go to the
 * machine's cores), so that the chunk's rows stay in the cache; slot: the thread's. */
static int32_t forward_chunk(void *ctx, int32_t part, int32_t slot)
{
    const mg_batch *b = ctx;
    const mg_recording *rec = b->rec;
    int32_t lo = part * LANE_CHUNK, len = chunk_lanes(b->n, lo);
    const double **kids = b->kids + (size_t)slot * b->lists_each;
    int32_t err = 0;
    for (int32_t a = 0, k = 0; a < b->nargs; a++) { /* the inputs' lanes, from the rows */
        const double *arg = b->args[a];
        int32_t width = b->widths[a];
        for (int32_t c = 0; c < width; c++, k++) {
            double *row = data_lanes(b, -2 - k, lo);
            for (int32_t s = 0; s < len; s++)
                row[s] = arg[(size_t)(lo + s) * (size_t)width + c];
        }
    }
    for (int32_t i = 0; i < rec->nsteps && !err; i++)
        err = OPS[rec->steps[i].op].forward_lanes(&rec->steps[i], kid_lanes(b, i, lo, kids),
                                                  data_lanes(b, i, lo), len);
    for (int32_t j = 0; j < rec->nout && !err && b->out; j++) { /* (a row, or a captured node's) */
        const double *row = data_lanes(b, rec->outs[j], lo);
        for (int32_t s = 0; s < len; s++)
            b->out[(size_t)(lo + s) * rec->nout + j] = row[s];
    }
    return err;
}

/* A chunk's backward, every sample's seed the batch's: from the last step to the first, each
 * op's backward_lanes into the steps' grad rows. The inputs' grads are not wanted (they are
 * the caller's numbers). A captured node (a parameter) has no grad lanes: it gets the sum of
 * its lanes' gradients, added into the chunk's sums, by the op itself for a step's params, else
 * from a scratch row the op adds into. */
typedef struct {
    const mg_batch *batch;
    double seed;
} Backward;

static int32_t backward_chunk(void *ctx, int32_t part, int32_t slot)
{
    const Backward *run = ctx;
    const mg_batch *b = run->batch;
    const mg_recording *rec = b->rec;
    size_t lists = (size_t)slot * b->lists_each, width = (size_t)chunk_width(b->n);
    int32_t lo = part * LANE_CHUNK, len = chunk_lanes(b->n, lo);
    const double **kids = b->kids + lists;
    double **kid_grads = b->kid_grads + lists, **kid_sums = b->kid_sums + lists;
    double *grads = b->work + (size_t)slot * b->work_each;
    double *scratch = grads + ((size_t)rec->nsteps + 1) * width;
    double *sums = b->chunk_sums + (size_t)part * rec->ncaptured;
    for (int32_t c = 0; c < rec->ncaptured; c++)
        sums[c] = 0.0;
    for (int32_t i = 0; i < rec->nsteps; i++) { /* this chunk's grad lanes, from 0 */
        double *g = grad_lanes(grads, i, width);
        for (int32_t s = 0; s < len; s++)
            g[s] = 0.0;
    }
    int32_t out = rec->outs[0], c = captured_index(rec, out); /* (a reduced batch's one output) */
    if (c >= 0) {
        for (int32_t s = 0; s < len; s++)
            sums[c] += run->seed;
    } else if (out >= 0) { /* (an input returned as it is: no grad wanted) */
        double *g = grad_lanes(grads, out, width);
        for (int32_t s = 0; s < len; s++)
            g[s] += run->seed;
    }
    for (int32_t i = rec->nsteps - 1; i >= 0; i--) { /* parents before children */
        const Step *step = &rec->steps[i];
        const int32_t *refs = rec->refs + rec->kids_at[i], *captured = rec->ref_captured + rec->kids_at[i];
        int32_t j = 0, first = step->params ? step_first_param(step) : step->nkids;
        for (; j < first; j++) {
            int32_t ref = refs[j];
            kid_sums[j] = NULL;
            kid_grads[j] = ref >= 0 ? grad_lanes(grads, ref, width) : NULL;
            if (captured[j] >= 0) { /* a captured node's lanes' grads, summed below */
                kid_grads[j] = scratch + (size_t)j * width;
                for (int32_t s = 0; s < len; s++)
                    kid_grads[j][s] = 0.0;
            }
        }
        for (; j < step->nkids; j++) { /* parameters: one number each, one sum each */
            kid_sums[j] = &sums[captured[j]];
            kid_grads[j] = NULL;
        }
        OPS[step->op].backward_lanes(step, kid_lanes(b, i, lo, kids), data_lanes(b, i, lo),
                                     grad_lanes(grads, i, width), kid_grads, kid_sums, len);
        for (j = 0; j < first; j++) {
            if (captured[j] < 0)
                continue;
            double sum = 0.0; /* (in lane order) */
            for (int32_t s = 0; s < len; s++)
                sum += kid_grads[j][s];
            sums[captured[j]] += sum;
        }
    }
    return 0;
}

/* How many threads a batch of n lanes runs on: at most mg_get_threads(), and LANES_PER_THREAD
 * lanes or more each. */
static int32_t threads_for(int32_t n)
{
    int32_t most = n / LANES_PER_THREAD;
    if (most < 2) /* (one: no asking for the cores, which glibc reads from /sys each time) */
        return 1;
    int32_t have = mg_get_threads();
    return most < have ? most : have;
}

/* Lanes with a buffer of at least len doubles and a table of nrefs entries: the recording's
 * spare ones if the buffer is big enough, else new ones (buf or kid_data NULL: out of memory).
 * give_back (lock held) keeps lanes as the spare (the bigger buffer of it and the one kept),
 * or frees them. */
static Lanes take(mg_recording *rec, size_t len, int32_t nrefs)
{
    Lanes lanes = { NULL, len, NULL, 0 };
    store_lock(); /* (another thread may run a batch of the same recording) */
    if (rec->spare.buf && rec->spare.len >= len) {
        lanes = rec->spare;
        rec->spare.buf = NULL;
        rec->spare.kid_data = NULL;
    }
    store_unlock();
    if (!lanes.buf)
        lanes.buf = malloc(len * sizeof(double));
    if (!lanes.kid_data)
        lanes.kid_data = malloc(((size_t)nrefs + 1) * sizeof(double *));
    return lanes;
}

static void give_back(mg_recording *rec, Lanes lanes)
{
    if (lanes.buf && lanes.kid_data && (!rec->spare.buf || lanes.len > rec->spare.len)) {
        Lanes old = rec->spare;
        rec->spare = lanes;
        lanes = old;
    }
    lanes_free(&lanes);
}

void batch_drop(mg_batch *batch)
{
    if (!batch)
        return;
    give_back(batch->rec, batch->mem);
    recording_drop(batch->rec);
    free(batch->kids);
    free(batch->kid_grads);
    free(batch->kid_sums);
    free(batch);
}

/* The rec's forward on n samples (args, widths: see mg_batch_forward), its outputs into out
 * (unless NULL); the batch, with what its backward needs, in *keep (unless NULL: then freed). */
static int32_t batch_run(mg_recording *rec, int32_t n, int32_t nargs, const double *const *args,
                         const int32_t *widths, double *out, mg_batch **keep)
{
    int64_t inputs = 0;
    for (int32_t a = 0; a < nargs; a++) {
        if (widths[a] < 0)
            return MG_EINVAL;
        inputs += widths[a];
    }
    if (!rec || n < 1 || nargs < 0 || inputs != rec->nin)
        return MG_EINVAL;
    store_lock();
    int32_t err = rec->captured_row ? 0 : plan_batch(rec);
    if (!err)
        rec->holders++; /* (by the batch) */
    store_unlock();
    if (err)
        return err;
    mg_batch *batch = calloc(1, sizeof *batch);
    if (!batch) {
        store_lock();
        recording_drop(rec);
        store_unlock();
        return MG_ENOMEM;
    }
    batch->rec = rec;
    batch->n = n;
    batch->threads = threads_for(n);
    batch->widest = widest_step(rec);
    size_t widest = (size_t)batch->widest, threads = (size_t)batch->threads, width = (size_t)chunk_width(n);
    /* Each thread writes its lists of a step's children at every step: a cache line apart at
     * least, or the line between two threads' lists goes back and forth between their cores
     * (moons: a tenth of a chunk's forward on two threads). */
    size_t line = LINE_DOUBLES * sizeof(double) / sizeof(double *);
    batch->lists_each = (widest + 2 * line - 1) / line * line;
    /* (each part of the buffer from a cache line's start: rows of lanes that straddle lines
     * split vector loads, and two threads' parts would share a line) */
    batch->stride = whole_lines((size_t)n);
    size_t params_at = ((size_t)rec->nin + (size_t)rec->nsteps) * batch->stride;
    size_t captured_at = params_at + whole_lines((size_t)rec->ncaptured);
    size_t sums_at = captured_at + whole_lines((size_t)rec->nrows * width);
    size_t work_at = sums_at + whole_lines((size_t)chunk_count(n) * (size_t)rec->ncaptured);
    batch->work_each = whole_lines(((size_t)rec->nsteps + 1 + widest + 1) * width);
    size_t len = keep ? work_at + threads * batch->work_each : sums_at;
    batch->mem = take(rec, len + LINE_DOUBLES, rec->nrefs);
    batch->kids = malloc(threads * batch->lists_each * sizeof(double *));
    if (keep) {
        batch->kid_grads = malloc(threads * batch->lists_each * sizeof(double *));
        batch->kid_sums = malloc(threads * batch->lists_each * sizeof(double *));
    }
    err = batch->mem.buf && batch->mem.kid_data && batch->kids &&
          (!keep || (batch->kid_grads && batch->kid_sums)) ? 0 : MG_ENOMEM;
    if (!err) {
        uintptr_t at = (uintptr_t)batch->mem.buf, line = LINE_DOUBLES * sizeof(double);
        batch->lanes = batch->mem.buf + (line - at % line) % line / sizeof(double);
        batch->params = batch->lanes + params_at;
        batch->captured = batch->lanes + captured_at;
        batch->kid_data = batch->mem.kid_data;
        if (keep) {
            batch->chunk_sums = batch->lanes + sums_at;
            batch->work = batch->lanes + work_at;
        }
    }
    for (int32_t i = 0; i < rec->nsteps && !err && batch->mem.kid_n != n; i++) { /* the table */
        const Step *step = &rec->steps[i];
        int32_t at = rec->kids_at[i], first = step->params ? step_first_param(step) : step->nkids;
        for (int32_t j = 0; j < step->nkids; j++) {
            int32_t ref = rec->refs[at + j], c = rec->ref_captured[at + j];
            /* (a parameter: one number; another captured node: its row, one chunk for all) */
            batch->mem.kid_data[at + j] = j >= first ? &batch->params[c] : data_lanes(batch, ref, 0);
        }
    }
    if (!err) {
        batch->mem.kid_n = n;
        batch->args = args;
        batch->widths = widths;
        batch->nargs = nargs;
        batch->out = out;
        store_lock();
        for (int32_t c = 0; c < rec->ncaptured; c++) {
            double x = batch->params[c] = store.data[rec->captured[c]];
            double *row = rec->captured_row[c] < 0 ? NULL : batch->captured + (size_t)rec->captured_row[c] * width;
            for (size_t s = 0; row && s < width; s++)
                row[s] = x;
        }
        store_unlock();
        err = threads_run(forward_chunk, batch, chunk_count(n), batch->threads);
        batch->args = NULL, batch->widths = NULL, batch->out = NULL; /* (the caller's, for this call) */
    }
    if (err || !keep) {
        store_lock();
        batch_drop(batch);
        store_unlock();
        return err;
    }
    *keep = batch;
    return 0;
}

int32_t mg_batch_forward(mg_recording *rec, int32_t n, int32_t nargs, const double *const *args,
                         const int32_t *widths, double *out)
{
    return batch_run(rec, n, nargs, args, widths, out, NULL);
}

void batch_backward(const mg_batch *batch, double seed)
{
    const mg_recording *rec = batch->rec;
    Backward run = { batch, seed };
    int32_t chunks = chunk_count(batch->n);
    threads_run(backward_chunk, &run, chunks, batch->threads);
    for (int32_t c = 0; c < rec->ncaptured; c++) { /* the chunks' sums, in order */
        double sum = 0.0 + batch->chunk_sums[c]; /* (a sum from 0.0, as ever: -0.0 becomes 0.0) */
        for (int32_t k = 1; k < chunks; k++)
            sum += batch->chunk_sums[(size_t)k * rec->ncaptured + c];
        int32_t id = rec->captured[c];
        store.grad[id] += sum;
        store.gint[id] = 0;
    }
}

int batch_needs(const mg_batch *batch, const uint8_t *need)
{
    for (int32_t c = 0; c < batch->rec->ncaptured; c++)
        if (need[batch->rec->captured[c]])
            return 1;
    return 0;
}

int32_t mg_batch_reduce(mg_recording *rec, int32_t n, int32_t nargs, const double *const *args,
                        const int32_t *widths, int32_t mean)
{
    if (!rec || rec->nout != 1)
        return MG_EINVAL;
    mg_batch *batch = NULL;
    int32_t err = batch_run(rec, n, nargs, args, widths, NULL, &batch);
    if (err)
        return err;
    double total = 0.0; /* (the outputs added in order, as sum() adds them) */
    for (int32_t lo = 0; lo < n; lo += LANE_CHUNK) {
        const double *row = data_lanes(batch, rec->outs[0], lo); /* (see forward_chunk) */
        for (int32_t s = 0, len = chunk_lanes(n, lo); s < len; s++)
            total += row[s];
    }
    store_lock();
    if (rec->rekinded_at != store.rekinded) { /* (a model's 40,000 parameters: once) */
        free(rec->with_backward);
        rec->with_backward = malloc(((size_t)rec->ncaptured + 1) * sizeof(int32_t));
        rec->nwith = 0;
        for (int32_t c = 0; rec->with_backward && c < rec->ncaptured; c++)
            if (node_has_backward(&store.nodes[rec->captured[c]]))
                rec->with_backward[rec->nwith++] = rec->captured[c];
        rec->rekinded_at = rec->with_backward ? store.rekinded : -1;
    }
    int32_t id = rec->with_backward ? reduced_node(batch, rec->with_backward, rec->nwith, total, mean != 0, n)
                                    : MG_ENOMEM;
    if (id < 0)
        batch_drop(batch);
    store_unlock();
    return id;
}
