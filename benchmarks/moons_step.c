/* moons_step.c - the moons demo's training step written by hand in C: the limit line.
 *
 * MLP(2, [16, 16, 1]) (ReLU on the hidden layers), svm max-margin loss over the samples plus
 * an L2 penalty, its gradient by hand, one SGD step: what benchmarks/moons.py's numpy step
 * computes, one sample at a time, with no graph at all. The parameters are the numpy step's
 * arrays (W[j][i] is neuron j's weight i, row-major; b[j] its bias), updated in place.
 */
#include <stdlib.h>

enum { NIN = 2, H1 = 16, H2 = 16 };

typedef struct {
    double *W1, *b1, *W2, *b2, *W3, *b3; /* (16, 2), (16,), (16, 16), (16,), (1, 16), (1,) */
} Layers;

/* One step over n samples (X row-major (n, 2), y in {-1, 1}); returns the loss (data + L2)
 * and writes the accuracy. */
double moons_step(Layers *m, const double *X, const double *y, int n, double alpha, double lr,
                  double *accuracy)
{
    double gW1[H1 * NIN] = {0}, gb1[H1] = {0}, gW2[H2 * H1] = {0}, gb2[H2] = {0};
    double gW3[H2] = {0}, gb3 = 0.0, data_loss = 0.0;
    int right = 0;
    for (int s = 0; s < n; s++) {
        const double *x = X + s * NIN;
        double h1[H1], h2[H2], score = m->b3[0];
        for (int j = 0; j < H1; j++) {
            double a = m->b1[j];
            for (int i = 0; i < NIN; i++)
                a += m->W1[j * NIN + i] * x[i];
            h1[j] = a > 0.0 ? a : 0.0;
        }
        for (int j = 0; j < H2; j++) {
            double a = m->b2[j];
            for (int i = 0; i < H1; i++)
                a += m->W2[j * H1 + i] * h1[i];
            h2[j] = a > 0.0 ? a : 0.0;
        }
        for (int i = 0; i < H2; i++)
            score += m->W3[i] * h2[i];
        double margin = 1.0 - y[s] * score;
        right += (y[s] > 0.0) == (score > 0.0);
        if (margin <= 0.0)
            continue; /* relu(margin) is 0 here, and so is its gradient */
        data_loss += margin;
        /* d loss / d score, with the mean's 1/n */
        double g = -y[s] / n, g2[H2], g1[H1];
        gb3 += g;
        for (int i = 0; i < H2; i++) {
            gW3[i] += g * h2[i];
            g2[i] = h2[i] > 0.0 ? g * m->W3[i] : 0.0;
        }
        for (int i = 0; i < H1; i++)
            g1[i] = 0.0;
        for (int j = 0; j < H2; j++) {
            if (g2[j] == 0.0)
                continue;
            gb2[j] += g2[j];
            for (int i = 0; i < H1; i++) {
                gW2[j * H1 + i] += g2[j] * h1[i];
                g1[i] += g2[j] * m->W2[j * H1 + i];
            }
        }
        for (int j = 0; j < H1; j++) {
            if (h1[j] <= 0.0)
                continue;
            gb1[j] += g1[j];
            for (int i = 0; i < NIN; i++)
                gW1[j * NIN + i] += g1[j] * x[i];
        }
    }
    /* the L2 penalty and the update, parameter by parameter */
    double *params[6] = { m->W1, m->b1, m->W2, m->b2, m->W3, m->b3 };
    double *grads[6] = { gW1, gb1, gW2, gb2, gW3, &gb3 };
    const int sizes[6] = { H1 * NIN, H1, H2 * H1, H2, H2, 1 };
    double reg = 0.0;
    for (int t = 0; t < 6; t++)
        for (int i = 0; i < sizes[t]; i++) {
            double p = params[t][i];
            reg += p * p;
            params[t][i] = p - lr * (grads[t][i] + 2.0 * alpha * p);
        }
    *accuracy = (double)right / n;
    return data_loss / n + alpha * reg;
}
