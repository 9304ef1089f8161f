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
 * data is what the same ops give in eager mode, to the bit.
 */
#include <stdint.h>
#include <stdlib.h>
#include "ops.h"

struct mg_recording {
    int32_t nsteps, nin, ncaptured, nout;
    Step *steps;
    int32_t *kids_at; /* step i's references are refs[kids_at[i] .. kids_at[i] + nkids) */
    int32_t *refs;
    int32_t *captured;
    int32_t *outs;    /* the outputs' references */
};

int32_t mg_trace_begin(void)
{
    store_lock();
    store.traces_open++;
    int32_t token = store.tape_len;
    store_unlock();
    return token;
}

static void recording_free(mg_recording *rec)
{
    if (!rec)
        return;
    for (int32_t c = 0; c < rec->ncaptured; c++)
        node_drop(rec->captured[c]);
    free(rec->steps);
    free(rec->kids_at);
    free(rec->refs);
    free(rec->captured);
    free(rec->outs);
    free(rec);
}

/* ref_of[id] while a node has no reference yet, and once the outputs are known to reach it. */
enum { UNSEEN = -1, REACHED = INT32_MAX };

/* The reference node id has, in *ref: an input's or a step's (set in ref_of already), else a
 * new captured node's (a node made before the recording). Returns 0 or MG_ENOMEM. */
static int32_t reference(mg_recording *rec, int32_t *ref_of, int32_t id, int32_t *cap, int32_t *ref)
{
    if (ref_of[id] != UNSEEN) {
        *ref = ref_of[id];
        return 0;
    }
    if (rec->ncaptured == *cap) {
        *cap = 2 * *cap + 8;
        int32_t *more = realloc(rec->captured, (size_t)*cap * sizeof(int32_t));
        if (!more)
            return MG_ENOMEM;
        rec->captured = more;
    }
    store.refs[id]++; /* held by the recording */
    rec->captured[rec->ncaptured] = id;
    *ref = ref_of[id] = -2 - rec->nin - rec->ncaptured++;
    return 0;
}

/* Mark (in ref_of, as REACHED) the recording's nodes the outputs reach: those made at tape
 * position >= start, walked from the outputs down to the inputs and the nodes made before. */
static int32_t mark_reached(int32_t *ref_of, const int32_t *outs, int32_t nout, int32_t start)
{
    int32_t *todo = malloc(((size_t)(store.tape_len - start) + 1) * sizeof(int32_t)), count = 0;
    if (!todo)
        return MG_ENOMEM;
    for (int32_t j = 0; j < nout; j++)
        if (ref_of[outs[j]] == UNSEEN && store.pos[outs[j]] >= start) {
            ref_of[outs[j]] = REACHED;
            todo[count++] = outs[j];
        }
    while (count > 0) {
        const Node *n = &store.nodes[todo[--count]];
        for (int32_t j = 0; j < node_nkids(n); j++) {
            int32_t k = node_kid(n, j);
            if (ref_of[k] == UNSEEN && store.pos[k] >= start) {
                ref_of[k] = REACHED;
                todo[count++] = k;
            }
        }
    }
    free(todo);
    return 0;
}

static int32_t record(int32_t start, int32_t nin, const int32_t *inputs, int32_t nout,
                      const int32_t *outs, mg_recording *rec, int32_t *ref_of)
{
    for (int32_t k = 0; k < nin; k++)
        ref_of[inputs[k]] = -2 - k;
    int32_t err = mark_reached(ref_of, outs, nout, start);
    int32_t nsteps = 0, nrefs = 0, cap = 0;
    for (int32_t p = start; p < store.tape_len && !err; p++) { /* count steps and references */
        int32_t id = store.tape[p];
        if (store.nodes[id].op != FREE_SLOT && ref_of[id] == REACHED) {
            nsteps++;
            nrefs += node_nkids(&store.nodes[id]);
        }
    }
    rec->steps = malloc(((size_t)nsteps + 1) * sizeof(Step));
    rec->kids_at = malloc(((size_t)nsteps + 1) * sizeof(int32_t));
    rec->refs = malloc(((size_t)nrefs + 1) * sizeof(int32_t));
    rec->outs = malloc(((size_t)nout + 1) * sizeof(int32_t));
    if (!err && !(rec->steps && rec->kids_at && rec->refs && rec->outs))
        err = MG_ENOMEM;
    nrefs = 0;
    for (int32_t p = start; p < store.tape_len && !err; p++) {
        int32_t id = store.tape[p];
        if (store.nodes[id].op == FREE_SLOT || ref_of[id] != REACHED)
            continue;
        Step *step = &rec->steps[rec->nsteps];
        int32_t nkids = node_as_step(id, step, rec->refs + nrefs); /* (kid ids, made refs below) */
        if (nkids < 0) {
            err = nkids;
            break;
        }
        rec->kids_at[rec->nsteps] = nrefs;
        for (int32_t j = 0; j < nkids && !err; j++) /* (its children come before it: known) */
            err = reference(rec, ref_of, rec->refs[nrefs + j], &cap, &rec->refs[nrefs + j]);
        nrefs += nkids;
        ref_of[id] = rec->nsteps++; /* its own reference, for the steps after it */
    }
    for (int32_t j = 0; j < nout && !err; j++)
        err = reference(rec, ref_of, outs[j], &cap, &rec->outs[j]);
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
    int32_t *ref_of = err ? NULL : malloc((size_t)store.top * sizeof(int32_t));
    if (!err && !(rec && ref_of))
        err = MG_ENOMEM;
    if (!err) {
        for (int32_t i = 0; i < store.top; i++)
            ref_of[i] = UNSEEN;
        rec->nin = nin;
        rec->nout = nout;
        err = record(token, nin, inputs, nout, outs, rec, ref_of);
    }
    free(ref_of);
    if (err)
        recording_free(rec);
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
    recording_free(rec);
    store_unlock();
}

/* ---- a recording run on lanes: a batch of samples in one call ----
 * Every reference has a row of n lanes (lane s: sample s): the inputs' from the caller's
 * matrix, each captured node's its data (the same in every lane), each step's computed by
 * its op's forward_lanes. The rows are kept for mg_batch_backward, which runs each op's
 * backward_lanes from the last step to the first and adds each captured node's lanes, in
 * lane order, into its grad. */
struct mg_batch {
    const mg_recording *rec; /* (the caller keeps it while the batch lives) */
    int32_t n;
    double *lanes;           /* rows: the inputs, the captured nodes, the steps */
};

/* The row of reference ref in a block of rows. */
static double *row(const mg_recording *rec, double *rows, int32_t n, int32_t ref)
{
    int32_t index = ref >= 0 ? rec->nin + rec->ncaptured + ref : -2 - ref;
    return rows + (size_t)index * (size_t)n;
}

static int32_t widest_step(const mg_recording *rec)
{
    int32_t widest = 1;
    for (int32_t i = 0; i < rec->nsteps; i++)
        if (rec->steps[i].nkids > widest)
            widest = rec->steps[i].nkids;
    return widest;
}

int32_t mg_batch_forward(const mg_recording *rec, int32_t n, const double *x, double *out,
                         mg_batch **keep)
{
    if (!rec || n < 1)
        return MG_EINVAL;
    size_t rows = (size_t)rec->nin + (size_t)rec->ncaptured + (size_t)rec->nsteps;
    double *lanes = malloc((rows + 1) * (size_t)n * sizeof(double));
    const double **kids = malloc((size_t)widest_step(rec) * sizeof(double *));
    mg_batch *batch = keep ? malloc(sizeof *batch) : NULL;
    int32_t err = lanes && kids && (batch || !keep) ? 0 : MG_ENOMEM;
    store_lock();
    for (int32_t k = 0; k < rec->nin && !err; k++) /* (x is a sample a row: turned into rows) */
        for (int32_t s = 0; s < n; s++)
            lanes[(size_t)k * n + s] = x[(size_t)s * rec->nin + k];
    for (int32_t c = 0; c < rec->ncaptured && !err; c++)
        for (int32_t s = 0; s < n; s++)
            lanes[((size_t)rec->nin + c) * n + s] = store.data[rec->captured[c]];
    store_unlock();
    for (int32_t i = 0; i < rec->nsteps && !err; i++) {
        const Step *step = &rec->steps[i];
        for (int32_t j = 0; j < step->nkids; j++)
            kids[j] = row(rec, lanes, n, rec->refs[rec->kids_at[i] + j]);
        err = OPS[step->op].forward_lanes(step, kids, row(rec, lanes, n, i), n);
    }
    for (int32_t j = 0; j < rec->nout && !err; j++) {
        const double *r = row(rec, lanes, n, rec->outs[j]);
        for (int32_t s = 0; s < n; s++)
            out[(size_t)s * rec->nout + j] = r[s];
    }
    free(kids);
    if (err || !keep) {
        free(lanes);
        free(batch);
        return err;
    }
    batch->rec = rec;
    batch->n = n;
    batch->lanes = lanes;
    *keep = batch;
    return 0;
}

int32_t mg_batch_backward(const mg_batch *batch, const double *seeds)
{
    const mg_recording *rec = batch->rec;
    int32_t n = batch->n;
    size_t rows = (size_t)rec->nin + (size_t)rec->ncaptured + (size_t)rec->nsteps;
    double *grads = calloc(rows + 1, (size_t)n * sizeof(double));
    const double **kids = malloc((size_t)widest_step(rec) * sizeof(double *));
    double **kid_grads = malloc((size_t)widest_step(rec) * sizeof(double *));
    int32_t err = grads && kids && kid_grads ? 0 : MG_ENOMEM;
    for (int32_t j = 0; j < rec->nout && !err; j++) {
        double *g = row(rec, grads, n, rec->outs[j]);
        for (int32_t s = 0; s < n; s++)
            g[s] += seeds[(size_t)s * rec->nout + j];
    }
    for (int32_t i = rec->nsteps - 1; i >= 0 && !err; i--) { /* parents before children */
        const Step *step = &rec->steps[i];
        for (int32_t j = 0; j < step->nkids; j++) {
            int32_t ref = rec->refs[rec->kids_at[i] + j];
            kids[j] = row(rec, batch->lanes, n, ref);
            kid_grads[j] = row(rec, grads, n, ref);
        }
        OPS[step->op].backward_lanes(step, kids, row(rec, batch->lanes, n, i),
                                     row(rec, grads, n, i), kid_grads, n);
    }
    if (!err) {
        store_lock();
        for (int32_t c = 0; c < rec->ncaptured; c++) { /* each sample's part, in turn */
            const double *g = grads + ((size_t)rec->nin + c) * n;
            double sum = 0.0;
            for (int32_t s = 0; s < n; s++)
                sum += g[s];
            int32_t id = rec->captured[c];
            store.grad[id] += sum;
            store.gint[id] = 0;
        }
        store_unlock();
    }
    free(grads);
    free(kids);
    free(kid_grads);
    return err;
}

int32_t mg_batch_captured(const mg_batch *batch, int32_t *out)
{
    const mg_recording *rec = batch->rec;
    store_lock();
    for (int32_t c = 0; c < rec->ncaptured; c++) {
        out[c] = rec->captured[c];
        store.refs[out[c]]++; /* for the caller's Value */
    }
    store_unlock();
    return rec->ncaptured;
}

void mg_batch_free(mg_batch *batch)
{
    if (batch)
        free(batch->lanes);
    free(batch);
}
