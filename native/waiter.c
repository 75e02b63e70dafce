/*
 * One waiter thread per poller, started on demand by tofu_waiter_start.
 *
 * The thread sleeps until armed, then parks on the poller (the backend's
 * blocking wait, which consumes nothing) and calls the callback with
 * TOFU_WAITER_READY; the JavaScript side then collects the events with a
 * zero-timeout tofu_poller_wait and arms again when it has nothing left to do.
 * The armed flag is cleared before the park, so an arm made while the
 * callback runs (or blocks, as Deno's thread-safe callbacks do until the
 * JavaScript thread has run them) is never lost.
 *
 * Stopping: tofu_poller_destroy sets `stopping`, wakes the park and the
 * condition; the thread then calls back one last time with
 * TOFU_WAITER_STOPPED and exits, so the JavaScript side knows when it may free
 * its callback. Nothing ever joins the thread: a join on the JavaScript thread
 * could deadlock with a callback that waits for that very thread. The thread
 * holds a reference to the poller, so the poller outlives it.
 */
#include "waiter.h"

#include <stdlib.h>

#include "poller.h"
#include "tofu.h"

/* Slot states of the waiters' numbers: a slot is taken by a start, marked
 * gone by its thread once it has returned from its last callback, and freed
 * when tofu_waiter_gone reports that. */
enum { SLOT_FREE, SLOT_RUNNING, SLOT_GONE };
#define MAX_WAITERS 4096
static atomic_int slots[MAX_WAITERS];

static int32_t take_slot(void) {
  for (int32_t i = 0; i < MAX_WAITERS; i++) {
    int expected = SLOT_FREE;
    if (atomic_compare_exchange_strong(&slots[i], &expected, SLOT_RUNNING)) return i;
  }
  return -1;
}

struct tofu_waiter {
  tofu_mutex lock;
  tofu_cond cond;
  int armed;    /* guarded by lock */
  int stopping; /* guarded by lock */
  tofu_ready_fn callback;
  int32_t handle; /* the poller's handle, passed to the callback */
  int32_t slot;   /* the waiter's number */
};

/* How long an idle waiter sleeps between checks of its flags (a broadcast
 * wakes it sooner); only a bound against a lost wake-up, never a poll. */
#define IDLE_CHECK_MS 60000

static void run_waiter(struct tofu_poller *p) {
  struct tofu_waiter *w = p->waiter;
  tofu_mutex_lock(&w->lock);
  for (;;) {
    while (!w->armed && !w->stopping) tofu_cond_wait_ms(&w->cond, &w->lock, IDLE_CHECK_MS);
    if (w->stopping) break;
    w->armed = 0;
    tofu_mutex_unlock(&w->lock);
    atomic_fetch_add(&p->parking, 1);
    if (!atomic_load(&p->destroyed)) (void)p->backend->park(p, -1);
    atomic_fetch_sub(&p->parking, 1);
    tofu_mutex_lock(&w->lock);
    if (w->stopping) break;
    tofu_mutex_unlock(&w->lock);
    w->callback(w->handle, TOFU_WAITER_READY);
    tofu_mutex_lock(&w->lock);
  }
  tofu_mutex_unlock(&w->lock);
  int32_t slot = w->slot;
  w->callback(w->handle, TOFU_WAITER_STOPPED);
  tofu_handle_release(&p->base);
  atomic_store(&slots[slot], SLOT_GONE);
}

#if defined(_WIN32)
static DWORD WINAPI waiter_main(LPVOID arg) {
  run_waiter((struct tofu_poller *)arg);
  return 0;
}

static int start_thread(struct tofu_poller *p) {
  HANDLE thread = CreateThread(NULL, 64 * 1024, waiter_main, p, 0, NULL);
  if (thread == NULL) return -1;
  CloseHandle(thread);
  return 0;
}
#else
static void *waiter_main(void *arg) {
  run_waiter((struct tofu_poller *)arg);
  return NULL;
}

static int start_thread(struct tofu_poller *p) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return -1;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t thread;
  int code = pthread_create(&thread, &attr, waiter_main, p);
  pthread_attr_destroy(&attr);
  return code == 0 ? 0 : -1;
}
#endif

TOFU_API int32_t tofu_waiter_start(int32_t poller, tofu_ready_fn callback) {
  if (callback == NULL) return TOFU_E_INVAL;
  struct tofu_poller *p = (struct tofu_poller *)tofu_handle_acquire(poller, TOFU_KIND_POLLER);
  if (p == NULL) return TOFU_E_BADHANDLE;
  tofu_mutex_lock(&p->lock);
  int32_t code = TOFU_OK;
  if (p->waiter != NULL) {
    code = TOFU_E_INVAL;
  } else {
    struct tofu_waiter *w = calloc(1, sizeof *w);
    if (w == NULL || tofu_cond_init(&w->cond) != 0) {
      free(w);
      code = TOFU_E_NOMEM;
    } else {
      tofu_mutex_init(&w->lock);
      w->callback = callback;
      w->handle = poller;
      w->slot = take_slot();
      p->waiter = w;
      /* The thread's own reference, released when it exits. */
      atomic_fetch_add(&p->base.refs, 1);
      if (w->slot >= 0) code = w->slot;
      if (w->slot < 0 || start_thread(p) != 0) {
        if (w->slot >= 0) atomic_store(&slots[w->slot], SLOT_FREE);
        p->waiter = NULL;
        atomic_fetch_sub(&p->base.refs, 1);
        tofu_cond_fini(&w->cond);
        tofu_mutex_fini(&w->lock);
        free(w);
        code = TOFU_E_NOMEM;
      }
    }
  }
  tofu_mutex_unlock(&p->lock);
  tofu_handle_release(&p->base);
  return code;
}

TOFU_API int32_t tofu_waiter_arm(int32_t poller) {
  struct tofu_poller *p = (struct tofu_poller *)tofu_handle_acquire(poller, TOFU_KIND_POLLER);
  if (p == NULL) return TOFU_E_BADHANDLE;
  struct tofu_waiter *w = p->waiter;
  int32_t code = TOFU_E_INVAL;
  if (w != NULL) {
    tofu_mutex_lock(&w->lock);
    if (!w->armed) {
      w->armed = 1;
      tofu_cond_broadcast(&w->cond);
    }
    tofu_mutex_unlock(&w->lock);
    code = TOFU_OK;
  }
  tofu_handle_release(&p->base);
  return code;
}

TOFU_API int32_t tofu_waiter_gone(int32_t waiter) {
  if (waiter < 0 || waiter >= MAX_WAITERS) return TOFU_E_INVAL;
  int expected = SLOT_GONE;
  if (atomic_compare_exchange_strong(&slots[waiter], &expected, SLOT_FREE)) return 1;
  return expected == SLOT_RUNNING ? 0 : TOFU_E_INVAL;
}

void tofu_waiter_stop(struct tofu_poller *p) {
  struct tofu_waiter *w = p->waiter;
  if (w == NULL) return;
  tofu_mutex_lock(&w->lock);
  w->stopping = 1;
  tofu_cond_broadcast(&w->cond);
  tofu_mutex_unlock(&w->lock);
}

void tofu_waiter_free(struct tofu_poller *p) {
  struct tofu_waiter *w = p->waiter;
  if (w == NULL) return;
  p->waiter = NULL;
  tofu_cond_fini(&w->cond);
  tofu_mutex_fini(&w->lock);
  free(w);
}
