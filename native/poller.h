/*
 * The poller object and the interface every backend implements.
 *
 * The generic layer (poller.c) owns the registration list, so "register
 * twice", "modify before register", "unregister what is not registered" and
 * "interest 0 = no events" behave the same on every backend. A backend only
 * mirrors interest changes into its OS mechanism and waits.
 */
#ifndef TOFU_POLLER_H
#define TOFU_POLLER_H

#include <stdint.h>

#include "handles.h"
#include "platform.h"
#include "wake.h"

struct tofu_socket;

/* One registered socket. interest 0 = registered but outside the OS set. */
struct tofu_registration {
  struct tofu_socket *sock;
  tofu_fd fd;
  int32_t token;
  int32_t interest;
};

struct tofu_poller;

struct tofu_backend {
  int32_t id;
  /* Creates the OS state (the user wake channel is already open). */
  int32_t (*open)(struct tofu_poller *p);
  void (*close)(struct tofu_poller *p);
  /* Mirrors an interest change of fd into the OS set; called with p->lock
   * held. old_interest 0 = not in the OS set; new_interest 0 = remove. */
  int32_t (*update)(struct tofu_poller *p, tofu_fd fd, int32_t token, int32_t old_interest,
                    int32_t new_interest);
  /* tofu_poller_wait(_us) body (arguments already valid): the timeout is in
   * microseconds (-1 = forever, 0 = peek), as fine as the OS allows. */
  int32_t (*wait)(struct tofu_poller *p, int32_t *events, int32_t capacity, int64_t timeout_us);
  /* tofu_poller_park body (arguments already valid). */
  int32_t (*park)(struct tofu_poller *p, int32_t timeout_ms);
  /* Poll-style backends only (NULL where the OS set lets go of a descriptor
   * as soon as it is removed: epoll, kqueue). poll pins the open file of
   * every descriptor it watches until it returns, so a socket closed under a
   * park would not be released. `unsettled` returns a mark (> 0) when a park
   * in progress may still watch a descriptor removed so far, else 0;
   * `settle` returns once every park has rebuilt past mark (bounded), letting
   * go of p->lock meanwhile. Both are called with p->lock held. */
  uint64_t (*unsettled)(struct tofu_poller *p);
  void (*settle)(struct tofu_poller *p, uint64_t mark);
  /* Wakes a park or wait of p from any thread (tofu_poller_wake, destroy).
   * NULL: signal p->wake, which the backend watches like a socket. */
  void (*signal)(struct tofu_poller *p);
  /* The 8 raw-mask constants (see tofu_mask_bits). */
  void (*mask_bits)(int32_t out[8]);
  /* Optional: a descriptor of the poller itself that is readable while it
   * has something ready (epoll's own fd), so that a waiter can wait on it in
   * an epoll set of its own; NULL where there is none. */
  tofu_fd (*own_fd)(struct tofu_poller *p);
};

struct tofu_poller {
  struct tofu_object base;
  const struct tofu_backend *backend;
  struct tofu_wake wake; /* user wakes; consumed by wait, observed by park */
  atomic_int destroyed;  /* set by tofu_poller_destroy; parks then return */
  atomic_int parking;    /* parks in progress (see tofu_poller_consume_wake) */
  tofu_mutex lock;       /* guards the registrations (park reads them) */
  struct tofu_registration *regs;
  int32_t reg_count;
  int32_t reg_capacity;
  void *state; /* the backend's own data */
  struct tofu_waiter *waiter; /* set once by tofu_waiter_start, freed with the poller */
  struct tofu_ring *ring;     /* set once by tofu_ring_start, closed by tofu_poller_destroy */
};

/* Backends compiled into this library, by OS. */
#if defined(__linux__)
#define TOFU_HAVE_EPOLL 1
#endif
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) ||   \
    defined(__DragonFly__)
#define TOFU_HAVE_KQUEUE 1
#endif
#if defined(_WIN32)
#define TOFU_HAVE_WSAPOLL 1
#define TOFU_HAVE_AFD 1
#else
#define TOFU_HAVE_POLL 1
#endif

#ifdef TOFU_HAVE_EPOLL
extern const struct tofu_backend tofu_backend_epoll;
#endif
#ifdef TOFU_HAVE_KQUEUE
extern const struct tofu_backend tofu_backend_kqueue;
#endif
#ifdef TOFU_HAVE_POLL
extern const struct tofu_backend tofu_backend_poll;
#endif
#ifdef TOFU_HAVE_WSAPOLL
extern const struct tofu_backend tofu_backend_wsapoll;
#endif
#ifdef TOFU_HAVE_AFD
extern const struct tofu_backend tofu_backend_afd;
#endif

/* Called by a wait that saw the wake channel readable. While a park runs on
 * another thread the wake is left pending for it: draining it here could
 * leave the park asleep although it was woken. The first wait after the park
 * consumes it. */
static inline void tofu_poller_consume_wake(struct tofu_poller *p) {
  if (atomic_load(&p->parking) == 0) tofu_wake_drain(&p->wake);
}

/* Removes sock from its poller, if any, and returns once no park can still
 * watch its descriptor (used by tofu_close, which then closes it). */
void tofu_poller_detach(struct tofu_socket *sock);

#endif
