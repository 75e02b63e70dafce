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
 * Where the backend has a descriptor that is readable while the poller has
 * something ready (epoll), the thread does without the condition variable:
 * it sleeps in an epoll set of its own that holds that descriptor one-shot,
 * and an arm re-enables it (one epoll_ctl on the JS thread, which wakes
 * nobody unless something is already ready). That saves two context switches
 * and two futex calls per wake-up.
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

#include "errors.h"
#include "poller.h"
#include "tofu.h"

#if defined(__linux__)
#include <sys/epoll.h>
#define TOFU_NESTED_WAIT 1
#endif

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
  int armed;           /* guarded by lock (condition path) */
  atomic_int stopping; /* set once, under lock */
  int nest;            /* the waiter's own epoll set; -1: the condition path */
  tofu_fd own;         /* the poller's descriptor watched in nest */
  tofu_ready_fn callback;
  int32_t handle; /* the poller's handle, passed to the callback */
  int32_t slot;   /* the waiter's number */
};

/* How long an idle waiter sleeps between checks of its flags (a broadcast
 * wakes it sooner); only a bound against a lost wake-up, never a poll. */
#define IDLE_CHECK_MS 60000

#if defined(TOFU_NESTED_WAIT)
/* Sets the events of the poller's descriptor in the waiter's set:
 * EPOLLIN | EPOLLONESHOT arms it once, EPOLLONESHOT alone keeps it silent. */
static int set_nested(struct tofu_waiter *w, int op, uint32_t events) {
  struct epoll_event ev;
  ev.events = events;
  ev.data.u64 = 0;
  return epoll_ctl(w->nest, op, (int)w->own, &ev);
}

static void open_nested(struct tofu_poller *p, struct tofu_waiter *w) {
  w->nest = -1;
  if (p->backend->own_fd == NULL) return;
  w->own = p->backend->own_fd(p);
  w->nest = epoll_create1(EPOLL_CLOEXEC);
  if (w->nest < 0) return;
  if (set_nested(w, EPOLL_CTL_ADD, EPOLLONESHOT) != 0) {
    close(w->nest);
    w->nest = -1;
  }
}

static void run_nested(struct tofu_waiter *w) {
  while (!atomic_load(&w->stopping)) {
    struct epoll_event ev;
    int n = epoll_wait(w->nest, &ev, 1, -1);
    if (atomic_load(&w->stopping)) break;
    if (n > 0) w->callback(w->handle, TOFU_WAITER_READY);
  }
}
#else
static void open_nested(struct tofu_poller *p, struct tofu_waiter *w) {
  (void)p;
  w->nest = -1;
}

static void run_nested(struct tofu_waiter *w) { (void)w; }
#endif

/* The condition path: sleep until armed, park, call back, again. */
static void run_armed_parks(struct tofu_poller *p, struct tofu_waiter *w) {
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
}

static void run_waiter(struct tofu_poller *p) {
  struct tofu_waiter *w = p->waiter;
  if (w->nest >= 0) {
    run_nested(w);
  } else {
    run_armed_parks(p, w);
  }
  /* The last call; after it the waiter touches neither the callback nor w
   * (the poller, and w with it, may be freed by the release). */
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
  if (p->waiter != NULL || p->ring != NULL) {
    code = TOFU_E_INVAL;
  } else {
    struct tofu_waiter *w = calloc(1, sizeof *w);
    if (w == NULL || tofu_cond_init(&w->cond) != 0) {
      free(w);
      code = TOFU_E_NOMEM;
    } else {
      tofu_mutex_init(&w->lock);
      open_nested(p, w);
      w->callback = callback;
      w->handle = poller;
      w->slot = take_slot();
      p->waiter = w;
      /* The thread's own reference, released when it exits. */
      atomic_fetch_add(&p->base.refs, 1);
      if (w->slot >= 0) code = w->slot;
      if (w->slot < 0 || start_thread(p) != 0) {
        if (w->slot >= 0) atomic_store(&slots[w->slot], SLOT_FREE);
        atomic_fetch_sub(&p->base.refs, 1);
        tofu_waiter_free(p);
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
#if defined(TOFU_NESTED_WAIT)
  if (w != NULL && w->nest >= 0) {
    code = set_nested(w, EPOLL_CTL_MOD, EPOLLIN | EPOLLONESHOT) == 0 ? TOFU_OK : tofu_fail();
    w = NULL;
  }
#endif
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
  atomic_store(&w->stopping, 1);
  tofu_cond_broadcast(&w->cond);
  tofu_mutex_unlock(&w->lock);
#if defined(TOFU_NESTED_WAIT)
  /* Enabled for good: the wake that tofu_poller_destroy sends next reaches it. */
  if (w->nest >= 0) (void)set_nested(w, EPOLL_CTL_MOD, EPOLLIN);
#endif
}

void tofu_waiter_free(struct tofu_poller *p) {
  struct tofu_waiter *w = p->waiter;
  if (w == NULL) return;
  p->waiter = NULL;
#if defined(TOFU_NESTED_WAIT)
  if (w->nest >= 0) close(w->nest);
#endif
  tofu_cond_fini(&w->cond);
  tofu_mutex_fini(&w->lock);
  free(w);
}
