/*
 * The exported poller API: backend dispatch, the registration list, wake,
 * park and destroy. Backends live in poller_<name>.c.
 */
#include "poller.h"

#include <stdlib.h>

#include "sock.h"
#include "tofu.h"
#include "ring_wake.h"
#include "waiter.h"

static const struct tofu_backend *find_backend(int32_t id) {
  switch (id) {
#ifdef TOFU_HAVE_EPOLL
  case TOFU_BACKEND_EPOLL:
    return &tofu_backend_epoll;
#endif
#ifdef TOFU_HAVE_KQUEUE
  case TOFU_BACKEND_KQUEUE:
    return &tofu_backend_kqueue;
#endif
#ifdef TOFU_HAVE_POLL
  case TOFU_BACKEND_POLL:
    return &tofu_backend_poll;
#endif
#ifdef TOFU_HAVE_WSAPOLL
  case TOFU_BACKEND_WSAPOLL:
    return &tofu_backend_wsapoll;
#endif
#ifdef TOFU_HAVE_AFD
  case TOFU_BACKEND_AFD:
    return &tofu_backend_afd;
#endif
  default:
    return NULL;
  }
}

TOFU_API int32_t tofu_default_backend(void) {
#if defined(TOFU_HAVE_EPOLL)
  return TOFU_BACKEND_EPOLL;
#elif defined(TOFU_HAVE_KQUEUE)
  return TOFU_BACKEND_KQUEUE;
#elif defined(TOFU_HAVE_AFD)
  return TOFU_BACKEND_AFD;
#elif defined(TOFU_HAVE_WSAPOLL)
  return TOFU_BACKEND_WSAPOLL;
#else
  return TOFU_BACKEND_POLL;
#endif
}

TOFU_API int32_t tofu_backends(void) {
  int32_t mask = 0;
  for (int32_t id = TOFU_BACKEND_EPOLL; id <= TOFU_BACKEND_LAST; id++) {
    if (find_backend(id) != NULL) mask |= 1 << id;
  }
  return mask;
}

/* Resolves a backend argument: TOFU_E_INVAL for unknown ids, TOFU_E_NOBACKEND
 * for known ids this OS lacks. */
static int32_t resolve_backend(int32_t id, const struct tofu_backend **out) {
  if (id == TOFU_BACKEND_DEFAULT) id = tofu_default_backend();
  if (id < TOFU_BACKEND_EPOLL || id > TOFU_BACKEND_LAST) return TOFU_E_INVAL;
  *out = find_backend(id);
  return *out == NULL ? TOFU_E_NOBACKEND : TOFU_OK;
}

/* Wakes whatever waits on p: through the backend's own channel if it has one. */
static void signal_poller(struct tofu_poller *p) {
  if (p->backend->signal != NULL) p->backend->signal(p);
  else tofu_wake_signal(&p->wake);
}

static void free_poller(struct tofu_object *obj) {
  struct tofu_poller *p = (struct tofu_poller *)obj;
  p->backend->close(p);
  tofu_waiter_free(p);
  tofu_wake_close(&p->wake);
  tofu_mutex_fini(&p->lock);
  free(p->regs);
  free(p);
}

static struct tofu_poller *acquire_poller(int32_t handle) {
  return (struct tofu_poller *)tofu_handle_acquire(handle, TOFU_KIND_POLLER);
}

/* Acquires a poller and a socket together: TOFU_OK, or TOFU_E_BADHANDLE with
 * nothing held if either handle is stale. */
static int32_t acquire_pair(int32_t poller, int32_t sock, struct tofu_poller **p,
                            struct tofu_socket **s) {
  *p = acquire_poller(poller);
  if (*p == NULL) return TOFU_E_BADHANDLE;
  *s = tofu_socket_acquire(sock);
  if (*s != NULL) return TOFU_OK;
  tofu_handle_release(&(*p)->base);
  return TOFU_E_BADHANDLE;
}

TOFU_API int32_t tofu_poller_create(int32_t backend_id) {
  const struct tofu_backend *backend;
  int32_t code = resolve_backend(backend_id, &backend);
  if (code < 0) return code;
  struct tofu_poller *p = calloc(1, sizeof *p);
  if (p == NULL) return TOFU_E_NOMEM;
  atomic_init(&p->base.refs, 1);
  p->base.kind = TOFU_KIND_POLLER;
  p->base.destroy = free_poller;
  p->backend = backend;
  atomic_init(&p->destroyed, 0);
  atomic_init(&p->parking, 0);
  tofu_mutex_init(&p->lock);
  code = tofu_wake_open(&p->wake);
  if (code < 0) {
    tofu_mutex_fini(&p->lock);
    free(p);
    return code;
  }
  code = backend->open(p);
  if (code < 0) {
    tofu_wake_close(&p->wake);
    tofu_mutex_fini(&p->lock);
    free(p);
    return code;
  }
  int32_t handle = tofu_handle_add(&p->base);
  if (handle < 0) free_poller(&p->base);
  return handle;
}

TOFU_API int32_t tofu_poller_backend(int32_t poller) {
  struct tofu_poller *p = acquire_poller(poller);
  if (p == NULL) return TOFU_E_BADHANDLE;
  int32_t id = p->backend->id;
  tofu_handle_release(&p->base);
  return id;
}

TOFU_API int32_t tofu_poller_destroy(int32_t poller) {
  struct tofu_poller *p = (struct tofu_poller *)tofu_handle_remove(poller, TOFU_KIND_POLLER);
  if (p == NULL) return TOFU_E_BADHANDLE;
  /* First: whatever wakes the waiter from here on must not look like readiness. */
  tofu_waiter_stop(p);
  tofu_ring_stop(p);
  tofu_mutex_lock(&p->lock);
  for (int32_t i = 0; i < p->reg_count; i++) {
    struct tofu_registration *r = &p->regs[i];
    if (r->interest != 0) p->backend->update(p, r->fd, r->token, r->interest, 0);
    r->sock->poller = NULL;
    r->sock->reg_index = -1;
  }
  p->reg_count = 0;
  /* The sockets stay open, but closing one next must release it at once. */
  uint64_t mark = p->backend->unsettled != NULL ? p->backend->unsettled(p) : 0;
  if (mark != 0) p->backend->settle(p, mark);
  tofu_mutex_unlock(&p->lock);
  /* A thread parked on p holds its own reference: wake it, and the last
   * reference frees the poller. */
  atomic_store(&p->destroyed, 1);
  signal_poller(p);
  tofu_handle_release(&p->base);
  return TOFU_OK;
}

static int32_t add_registration(struct tofu_poller *p, struct tofu_socket *s, int32_t token,
                                int32_t interest) {
  if (p->reg_count == p->reg_capacity) {
    int32_t wanted = p->reg_capacity == 0 ? 16 : p->reg_capacity * 2;
    struct tofu_registration *bigger = realloc(p->regs, (size_t)wanted * sizeof *bigger);
    if (bigger == NULL) return TOFU_E_NOMEM;
    p->regs = bigger;
    p->reg_capacity = wanted;
  }
  int32_t code = interest != 0 ? p->backend->update(p, s->fd, token, 0, interest) : TOFU_OK;
  if (code < 0) return code;
  struct tofu_registration *r = &p->regs[p->reg_count];
  r->sock = s;
  r->fd = s->fd;
  r->token = token;
  r->interest = interest;
  s->poller = p;
  s->reg_index = p->reg_count++;
  return TOFU_OK;
}

/* Register and modify are one operation: set (token, interest) for s on p. */
static int32_t set_interest(int32_t poller, int32_t sock, int32_t token, int32_t interest) {
  if ((interest & ~(TOFU_INTEREST_READ | TOFU_INTEREST_WRITE)) != 0) return TOFU_E_INVAL;
  struct tofu_poller *p;
  struct tofu_socket *s;
  if (acquire_pair(poller, sock, &p, &s) < 0) return TOFU_E_BADHANDLE;
  int32_t code;
  tofu_mutex_lock(&p->lock);
  if (s->poller == NULL) {
    code = add_registration(p, s, token, interest);
  } else if (s->poller != p) {
    code = TOFU_E_INVAL; /* a socket belongs to at most one poller */
  } else {
    struct tofu_registration *r = &p->regs[s->reg_index];
    code = TOFU_OK;
    if (r->interest != interest || (r->token != token && interest != 0)) {
      code = p->backend->update(p, r->fd, token, r->interest, interest);
    }
    if (code == TOFU_OK) {
      r->token = token;
      r->interest = interest;
    }
  }
  tofu_mutex_unlock(&p->lock);
  tofu_socket_release(s);
  tofu_handle_release(&p->base);
  return code;
}

TOFU_API int32_t tofu_poller_register(int32_t poller, int32_t sock, int32_t token,
                                      int32_t interest) {
  return set_interest(poller, sock, token, interest);
}

TOFU_API int32_t tofu_poller_modify(int32_t poller, int32_t sock, int32_t token,
                                    int32_t interest) {
  return set_interest(poller, sock, token, interest);
}

/* Notes that a park of p may still watch s's descriptor (see settle in
 * poller.h) for tofu_close; p->lock held. */
static void remember_unsettled(struct tofu_poller *p, struct tofu_socket *s, uint64_t mark) {
  if (s->unsettled == NULL) {
    atomic_fetch_add(&p->base.refs, 1); /* p lives until tofu_close settles it */
    s->unsettled = p;
  } else if (s->unsettled != p) {
    /* s already waits for another poller (it moved between two parked
     * pollers): settle p now rather than keep a list. */
    p->backend->settle(p, mark);
    return;
  }
  s->unsettled_mark = mark;
}

/* Removes s's registration from p; p->lock held. */
static void remove_registration(struct tofu_poller *p, struct tofu_socket *s) {
  int32_t index = s->reg_index;
  struct tofu_registration *r = &p->regs[index];
  if (r->interest != 0) p->backend->update(p, r->fd, r->token, r->interest, 0);
  int32_t last = p->reg_count - 1;
  if (index != last) {
    p->regs[index] = p->regs[last];
    p->regs[index].sock->reg_index = index;
  }
  p->reg_count = last;
  s->poller = NULL;
  s->reg_index = -1;
  uint64_t mark = p->backend->unsettled != NULL ? p->backend->unsettled(p) : 0;
  if (mark != 0) remember_unsettled(p, s, mark);
}

TOFU_API int32_t tofu_poller_unregister(int32_t poller, int32_t sock) {
  struct tofu_poller *p;
  struct tofu_socket *s;
  if (acquire_pair(poller, sock, &p, &s) < 0) return TOFU_E_BADHANDLE;
  tofu_mutex_lock(&p->lock);
  if (s->poller == p) remove_registration(p, s);
  tofu_mutex_unlock(&p->lock);
  tofu_socket_release(s);
  tofu_handle_release(&p->base);
  return TOFU_OK;
}

void tofu_poller_detach(struct tofu_socket *s) {
  struct tofu_poller *p = s->poller;
  if (p != NULL) {
    tofu_mutex_lock(&p->lock);
    if (s->poller == p) remove_registration(p, s);
    tofu_mutex_unlock(&p->lock);
  }
  /* Unregistered now or earlier (the engine unregisters before it closes):
   * wait until no park watches the descriptor any more. */
  struct tofu_poller *left = s->unsettled;
  if (left == NULL) return;
  tofu_mutex_lock(&left->lock);
  left->backend->settle(left, s->unsettled_mark);
  tofu_mutex_unlock(&left->lock);
  s->unsettled = NULL;
  tofu_handle_release(&left->base);
}

/* The body of both waits; timeout_us >= -1 (-1 = forever). */
static int32_t wait_events(int32_t poller, int32_t *events, int32_t capacity, int64_t timeout_us) {
  if (events == NULL || capacity <= 0) return TOFU_E_INVAL;
  struct tofu_poller *p = acquire_poller(poller);
  if (p == NULL) return TOFU_E_BADHANDLE;
  int32_t n = p->backend->wait(p, events, capacity, timeout_us);
  tofu_handle_release(&p->base);
  return n;
}

TOFU_API int32_t tofu_poller_wait(int32_t poller, int32_t *events, int32_t capacity,
                                  int32_t timeout_ms) {
  if (timeout_ms < -1) return TOFU_E_INVAL;
  return wait_events(poller, events, capacity, timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000);
}

TOFU_API int32_t tofu_poller_wait_us(int32_t poller, int32_t *events, int32_t capacity,
                                     int32_t timeout_us) {
  if (timeout_us < -1) return TOFU_E_INVAL;
  return wait_events(poller, events, capacity, timeout_us);
}

TOFU_API int32_t tofu_poller_park(int32_t poller, int32_t timeout_ms) {
  if (timeout_ms < -1) return TOFU_E_INVAL;
  struct tofu_poller *p = acquire_poller(poller);
  if (p == NULL) return TOFU_E_BADHANDLE;
  atomic_fetch_add(&p->parking, 1);
  int32_t result = p->backend->park(p, timeout_ms);
  atomic_fetch_sub(&p->parking, 1);
  tofu_handle_release(&p->base);
  return result;
}

TOFU_API int32_t tofu_poller_wake(int32_t poller) {
  struct tofu_poller *p = acquire_poller(poller);
  if (p == NULL) return TOFU_E_BADHANDLE;
  signal_poller(p);
  tofu_handle_release(&p->base);
  return TOFU_OK;
}

TOFU_API int32_t tofu_mask_bits(int32_t backend_id, int32_t *out, int32_t cap) {
  if (out == NULL || cap < 8) return TOFU_E_INVAL;
  const struct tofu_backend *backend;
  int32_t code = resolve_backend(backend_id, &backend);
  if (code < 0) return code;
  backend->mask_bits(out);
  return 8;
}
