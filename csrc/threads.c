/* threads.c - a pool of threads that run the parts of a big batch (portable: POSIX threads or
 * Windows threads; no OpenMP runtime, which the wheels could not count on).
 *
 * A thread started for each part of each batch cost more than it should: glibc gives a
 * finished thread's stack pages back (madvise), so every new thread faulted them in again,
 * and the start itself took tens of microseconds, twice a training step (forward and
 * backward). So a worker, once started, waits for the next batch's parts until the process
 * ends. A batch is cut into more parts than threads, which each thread takes one at a time
 * until none is left, the caller too (a thread that runs slower, or a worker that could not be
 * started, takes fewer), and the caller then waits for the workers' last. One caller has the
 * pool at a time; another batch at the same time (another Python thread's) runs its parts on
 * its own thread, one after another. */
#if !defined(_WIN32) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* glibc under -std=c11: sysconf, pthread_sigmask */
#endif
#include "threads.h"
#include "store.h"
#ifdef _WIN32
#include <windows.h>
#include <process.h>
typedef SRWLOCK Lock;
typedef CONDITION_VARIABLE Cond;
#define LOCK_INIT SRWLOCK_INIT
#define COND_INIT CONDITION_VARIABLE_INIT
static void take_lock(Lock *l) { AcquireSRWLockExclusive(l); }
static void let_go(Lock *l) { ReleaseSRWLockExclusive(l); }
static void wait_on(Cond *c, Lock *l) { SleepConditionVariableSRW(c, l, INFINITE, 0); }
static void wake_all(Cond *c) { WakeAllConditionVariable(c); }
static void wake_one(Cond *c) { WakeConditionVariable(c); }
typedef volatile LONG Counter;
static int32_t peek(Counter *c) { return (int32_t)InterlockedCompareExchange(c, 0, 0); }
static void bump(Counter *c) { InterlockedIncrement(c); }
static int64_t microseconds(void)
{
    LARGE_INTEGER t, f;
    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return f.QuadPart >= 1000000 ? t.QuadPart / (f.QuadPart / 1000000) : t.QuadPart * 1000000 / f.QuadPart;
}
#else
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
typedef pthread_mutex_t Lock;
typedef pthread_cond_t Cond;
#define LOCK_INIT PTHREAD_MUTEX_INITIALIZER
#define COND_INIT PTHREAD_COND_INITIALIZER
static void take_lock(Lock *l) { pthread_mutex_lock(l); }
static void let_go(Lock *l) { pthread_mutex_unlock(l); }
static void wait_on(Cond *c, Lock *l) { pthread_cond_wait(c, l); }
static void wake_all(Cond *c) { pthread_cond_broadcast(c); }
static void wake_one(Cond *c) { pthread_cond_signal(c); }
typedef atomic_int Counter;
static int32_t peek(Counter *c) { return atomic_load_explicit(c, memory_order_acquire); }
static void bump(Counter *c) { atomic_fetch_add_explicit(c, 1, memory_order_release); }
static int64_t microseconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}
#endif

/* How long a thread that waits for parts (or for the others' last) checks for them before it
 * sleeps: a sleeping thread takes tens of microseconds to wake on a virtual machine, and a
 * training step's batches come about that close together (a forward, Python, the backward).
 * It checks `changes`, which the pool bumps (lock held) as it gives out parts and as each
 * returns, without the lock: a thread that took the lock at each check (as this pool did)
 * kept the caller that wanted it asleep in the lock's wait, so the batch started late. */
enum { SPIN_MICROSECONDS = 200 };
static Counter changes;

static struct {
    Lock lock;
    Cond work;          /* the workers wait here for parts */
    Cond done;          /* the caller waits here for the last part */
    int32_t workers;    /* started: each waits for work until the process ends */
    int busy;           /* a caller's parts are being run */
    threads_job job;    /* the parts being run: */
    void *ctx;
    int32_t next, end;  /* the parts not taken yet: [next, end) (the caller takes from the
                         * front, the workers from the back: threads on neighbouring parts,
                         * a batch's neighbouring lanes, slowed each other down) */
    int32_t left;       /* how many have not returned */
    int32_t slots;      /* threads that have taken a part (the caller is slot 0) */
    int32_t threads;    /* the most threads that may */
    int32_t err, err_part; /* the lowest part's error */
} pool = { LOCK_INIT, COND_INIT, COND_INIT, 0, 0, NULL, NULL, 0, 0, 0, 0, 0, 0, 0 };

/* With the pool's lock held: run the parts not yet taken, as slot, the lock let go while each
 * runs. */
static void run_untaken(int32_t slot)
{
    while (pool.next < pool.end) {
        int32_t k = slot == 0 ? pool.next++ : --pool.end;
        threads_job job = pool.job;
        void *ctx = pool.ctx;
        let_go(&pool.lock);
        int32_t err = job(ctx, k, slot);
        take_lock(&pool.lock);
        if (err && (!pool.err || k < pool.err_part)) {
            pool.err = err;
            pool.err_part = k;
        }
        bump(&changes);
        if (--pool.left == 0)
            wake_one(&pool.done);
    }
}

/* With the pool's lock held: wait while idle() says so, first checking for a change (lock let
 * go) for up to SPIN_MICROSECONDS since the last one, then asleep on cond. */
static void wait_while(int (*idle)(void), Cond *cond)
{
    while (idle()) {
        int32_t seen = peek(&changes), changed = 0;
        let_go(&pool.lock);
        for (int64_t until = microseconds() + SPIN_MICROSECONDS; !changed && microseconds() < until;)
            for (int32_t i = 0; i < 256 && !changed; i++) /* (the clock read once in 256 checks) */
                changed = peek(&changes) != seen;
        take_lock(&pool.lock);
        if (!changed)
            break;
    }
    while (idle())
        wait_on(cond, &pool.lock);
}

static int no_part_for_a_worker(void) { return pool.next >= pool.end || pool.slots >= pool.threads; }
static int parts_running(void) { return pool.left > 0; }

static void serve(void)
{
    take_lock(&pool.lock);
    for (;;) {
        wait_while(no_part_for_a_worker, &pool.work);
        run_untaken(pool.slots++);
    }
}

#ifdef _WIN32
static unsigned __stdcall worker(void *arg)
{
    (void)arg;
    serve();
    return 0;
}

static int start_worker(void)
{
    HANDLE thread = (HANDLE)_beginthreadex(NULL, 0, worker, NULL, 0, NULL);
    if (!thread)
        return 0;
    CloseHandle(thread); /* (it runs on: nobody waits for its end) */
    return 1;
}
#else
static void *worker(void *arg)
{
    (void)arg;
    serve();
    return NULL;
}

/* fork() copies only the thread that calls it: a child has none of the workers, and a batch
 * another thread was running is not running there. So fork waits for the pool's lock (held
 * only between parts), and the child starts with an empty pool and new condition variables
 * (the copies may count waiters that are not in the child). (store.c's fork handlers call
 * these, after taking the store's lock.) */
void threads_before_fork(void) { pthread_mutex_lock(&pool.lock); }
void threads_after_fork(int child)
{
    if (child) {
        Cond fresh = COND_INIT, fresh_done = COND_INIT;
        pool.work = fresh;
        pool.done = fresh_done;
        pool.workers = 0;
        pool.busy = 0;
        pool.next = pool.end = pool.left = pool.slots = 0;
    }
    pthread_mutex_unlock(&pool.lock);
}

/* A worker blocks every signal: they are for Python's main thread, which handles them. */
static int start_worker(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_t thread;
    int ok = pthread_attr_init(&attr) == 0;
    if (ok) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        ok = pthread_create(&thread, &attr, worker, NULL) == 0;
        pthread_attr_destroy(&attr);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}
#endif

int32_t threads_run(threads_job job, void *ctx, int32_t parts, int32_t threads)
{
    take_lock(&pool.lock);
    if (pool.busy || threads < 2 || parts < 2) { /* (another caller has the pool: run them here) */
        let_go(&pool.lock);
        int32_t err = 0;
        for (int32_t k = 0; k < parts; k++) {
            int32_t e = job(ctx, k, 0);
            err = err ? err : e;
        }
        return err;
    }
    pool.busy = 1;
    if (threads > parts)
        threads = parts;
    while (pool.workers < threads - 1 && start_worker())
        pool.workers++;
    pool.job = job;
    pool.ctx = ctx;
    pool.end = pool.left = parts;
    pool.next = pool.err = pool.err_part = 0;
    pool.slots = 1;
    pool.threads = threads;
    bump(&changes);
    wake_all(&pool.work);
    run_untaken(0);
    wait_while(parts_running, &pool.done);
    int32_t err = pool.err;
    pool.next = pool.end = 0;
    pool.busy = 0;
    let_go(&pool.lock);
    return err;
}

static int32_t cores(void)
{
#ifdef _WIN32
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    return (int32_t)info.dwNumberOfProcessors;
#else
    long count = sysconf(_SC_NPROCESSORS_ONLN);
    return count > 0 ? (int32_t)count : 1;
#endif
}

static int32_t thread_limit; /* mg_set_threads's: 0, one a core */

int32_t mg_set_threads(int32_t n)
{
    if (n < 0)
        return MG_EINVAL;
    store_lock(); /* (another thread's batch may be reading it) */
    thread_limit = n;
    store_unlock();
    return 0;
}

int32_t mg_get_threads(void)
{
    store_lock();
    int32_t have = thread_limit ? thread_limit : cores();
    store_unlock();
    return have < THREADS_MAX ? have : THREADS_MAX;
}
