/* threads.h - running a batch's parts on the machine's cores (threads.c). Internal to csrc/. */
#ifndef MG_THREADS_H
#define MG_THREADS_H

#include <stdint.h>

enum { THREADS_MAX = 64 }; /* the most threads a batch runs on */

/* Run job(ctx, k, slot) for each part k in [0, parts) on at most `threads` threads (this one
 * and the pool's), each part once, on whichever thread is free first; slot, in [0, threads),
 * is the thread's (the same for every part one thread runs: its scratch). Returns the error
 * of the lowest part that returned one, else 0. */
typedef int32_t (*threads_job)(void *ctx, int32_t part, int32_t slot);
int32_t threads_run(threads_job job, void *ctx, int32_t parts, int32_t threads);

#ifndef _WIN32
/* For store.c's fork handlers: the pool's lock taken before fork, given back after (in the
 * child, with the pool emptied: it has none of the threads). */
void threads_before_fork(void);
void threads_after_fork(int child);
#endif

#endif
