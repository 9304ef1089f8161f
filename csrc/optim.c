/* optim.c - optimizer steps over parameter nodes, with torch.optim's formulas,
 * and zero_grad.
 *
 * The optimizer's state (momentum buffers, Adam's moments) lives in arrays
 * the caller owns, one entry per parameter; here is only the loop, so a step
 * is one call and one lock however many parameters there are. The arithmetic
 * is written out operation by operation, in the order the pure-Python
 * reference optimizers use, so the two agree to the bit. */
#include <math.h>
#include "store.h"

int32_t mg_zero_grad(int32_t n, const int32_t *ids, int32_t is_int)
{
    if (n < 0)
        return MG_EINVAL;
    store_lock();
    int32_t err = all_live(ids, n) ? 0 : MG_ENODE;
    for (int32_t i = 0; i < n && !err; i++) {
        store.grad[ids[i]] = 0.0;
        store.gint[ids[i]] = is_int != 0;
    }
    store_unlock();
    return err;
}

int32_t mg_sgd_step(const mg_sgd *opt, int32_t n, const int32_t *ids, double *buf)
{
    if (n < 0)
        return MG_EINVAL;
    double lr = opt->lr, momentum = opt->momentum, weight_decay = opt->weight_decay;
    store_lock();
    int32_t err = all_live(ids, n) ? 0 : MG_ENODE; /* check all first: a step is all or nothing */
    for (int32_t i = 0; i < n && !err; i++) {
        double *data = &store.data[ids[i]];
        double d = store.grad[ids[i]];
        if (weight_decay != 0.0)
            d = d + weight_decay * *data;
        if (momentum != 0.0) {
            buf[i] = opt->first ? d : momentum * buf[i] + d;
            d = buf[i];
        }
        *data = *data - lr * d;
        store.dint[ids[i]] = 0; /* a float now, as in micrograd */
    }
    store_unlock();
    return err;
}

int32_t mg_adam_step(const mg_adam *opt, int32_t n, const int32_t *ids, double *m, double *v)
{
    if (n < 0 || opt->step < 1)
        return MG_EINVAL;
    double beta1 = opt->beta1, beta2 = opt->beta2, eps = opt->eps, weight_decay = opt->weight_decay;
    /* torch folds the bias corrections into the step size and the denominator. */
    double step_size = opt->lr / (1.0 - pow(beta1, (double)opt->step));
    double correction2_sqrt = sqrt(1.0 - pow(beta2, (double)opt->step));
    store_lock();
    int32_t err = all_live(ids, n) ? 0 : MG_ENODE;
    for (int32_t i = 0; i < n && !err; i++) {
        double *data = &store.data[ids[i]];
        double g = store.grad[ids[i]];
        if (weight_decay != 0.0)
            g = g + weight_decay * *data;
        m[i] = beta1 * m[i] + (1.0 - beta1) * g;
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
        *data = *data - step_size * (m[i] / (sqrt(v[i]) / correction2_sqrt + eps));
        store.dint[ids[i]] = 0;
    }
    store_unlock();
    return err;
}
