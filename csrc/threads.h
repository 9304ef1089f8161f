/* threads.h - running a batch's parts on the machine's cores (threads.c). Internal to csrc/. */
#ifndef MG_THREADS_H
#define MG_THREADS_H

#include <stddef.h>
#include <stdint.h>

enum { THREADS_MAX = 64 }; /* the most parts a batch is split into */

/* Run job(parts + k * size) for each k in [0, count), each on one thread (this one or one of
 * the pool's), and return when all have returned. */
typedef void (*threads_job)(void *part);
void threads_run(threads_job job, void *parts, size_t size, int32_t count);

#endif
