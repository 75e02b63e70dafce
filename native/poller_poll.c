/*
 * The poll backend: POSIX poll(2) (TOFU_BACKEND_POLL) and, with the same
 * code, Windows WSAPoll (TOFU_BACKEND_WSAPOLL).
 *
 * poll keeps no OS-side set: every wait and park builds its descriptor array
 * from the registration list under p->lock. A park already blocked in poll
 * would miss interest changes made meanwhile, so while a park runs every
 * change signals a second, internal wake channel ("rebuild") that only the
 * park watches; the park then rebuilds its array and goes on waiting.
 *
 * poll also holds a reference to every open file it watches until it
 * returns, so a socket closed under a running park would live on (keeping
 * its port, delaying its reset) until the park wakes. Every change therefore
 * bumps a generation, each park records the generation its array was built
 * from, a socket removed while a park lags behind remembers the generation
 * (poller.c), and tofu_close waits (settle) on a condition variable until
 * every park has rebuilt past it. The park never waits for the closer, and
 * the wait is bounded in case a park cannot run.
 */
#include "poller.h"

#if defined(TOFU_HAVE_POLL) || defined(TOFU_HAVE_WSAPOLL)
#include <stdlib.h>

#include "errors.h"
#include "tofu.h"

#if defined(_WIN32)
typedef WSAPOLLFD os_pollfd;
#define os_poll(fds, n, timeout) WSAPoll((fds), (ULONG)(n), (timeout))
#define OS_POLL_FAILED SOCKET_ERROR
#define WANT_READ POLLRDNORM
#define WANT_WRITE POLLWRNORM
#define BACKEND_ID TOFU_BACKEND_WSAPOLL
#else
#include <poll.h>
typedef struct pollfd os_pollfd;
#define os_poll(fds, n, timeout) poll((fds), (nfds_t)(n), (timeout))
#define OS_POLL_FAILED (-1)
#if defined(POLLRDHUP)
#define WANT_READ (POLLIN | POLLRDHUP)
#else
#define WANT_READ POLLIN
#endif
#define WANT_WRITE POLLOUT
#define BACKEND_ID TOFU_BACKEND_POLL
#endif

/* os_poll with a timeout in microseconds (-1 = forever). Linux has ppoll,
 * which takes a timespec. Elsewhere a wait under a millisecond becomes a peek
 * (the caller spins instead of sleeping too long); longer ones round up. */
static int os_poll_us(os_pollfd *fds, int32_t n, int64_t timeout_us) {
#if defined(__linux__)
  if (timeout_us > 0 && timeout_us % 1000 != 0) {
    struct timespec ts = tofu_timespec_us(timeout_us);
    return ppoll(fds, (nfds_t)n, &ts, NULL);
  }
#else
  if (timeout_us > 0 && timeout_us < 1000) timeout_us = 0;
#endif
  return os_poll(fds, n, tofu_ms_rounded_up(timeout_us));
}

#if defined(_WIN32)
/* WSAPoll before Windows 10 2004 never reports a failed connect: the socket
 * gets neither POLLWRNORM nor POLLERR, and the wait goes on forever. select()
 * does report it, in its except set, without clearing SO_ERROR. So while a
 * socket waits for writability, waits are cut into slices of this length and
 * each empty slice ends with that check; a failure found is reported as
 * POLLERR | POLLHUP, as newer WSAPoll reports it. */
#define CONNECT_SLICE_MS 250

/* 1 when some entry from `first` on waits for writability. */
static int wants_write(const os_pollfd *fds, int32_t first, int32_t n) {
  for (int32_t i = first; i < n; i++) {
    if (fds[i].events & WANT_WRITE) return 1;
  }
  return 0;
}

/* The slice of a wait of timeout_ms (-1 = forever) to poll for next. */
static int32_t connect_slice(int32_t timeout_ms) {
  return timeout_ms < 0 || timeout_ms > CONNECT_SLICE_MS ? CONNECT_SLICE_MS : timeout_ms;
}

/* Marks the write-waiting entries from `first` on whose connect failed;
 * returns how many. select() takes FD_SETSIZE sockets per call. */
static int32_t mark_failed_connects(os_pollfd *fds, int32_t first, int32_t n) {
  int32_t found = 0;
  for (int32_t i = first; i < n;) {
    fd_set failed;
    FD_ZERO(&failed);
    int32_t from = i;
    for (; i < n && failed.fd_count < FD_SETSIZE; i++) {
      if ((fds[i].events & WANT_WRITE) && fds[i].revents == 0) FD_SET(fds[i].fd, &failed);
    }
    if (failed.fd_count == 0) continue;
    struct timeval now = {0, 0};
    if (select(0, NULL, NULL, &failed, &now) <= 0) continue;
    for (int32_t j = from; j < i; j++) {
      if ((fds[j].events & WANT_WRITE) && fds[j].revents == 0 && FD_ISSET(fds[j].fd, &failed)) {
        fds[j].revents = POLLERR | POLLHUP;
        found++;
      }
    }
  }
  return found;
}

/* os_poll_us, in slices with the failed-connect check while some entry from
 * `first` on waits for writability; returns the entries with revents. */
static int poll_checking_connects(os_pollfd *fds, int32_t first, int32_t n, int64_t timeout_us) {
  if (!wants_write(fds, first, n)) return os_poll_us(fds, n, timeout_us);
  /* As os_poll_us: a wait under a millisecond is a peek. */
  int32_t timeout_ms = timeout_us > 0 && timeout_us < 1000 ? 0 : tofu_ms_rounded_up(timeout_us);
  int64_t start = tofu_now_ms();
  for (;;) {
    int ready = os_poll(fds, n, connect_slice(tofu_remaining_ms(timeout_ms, start)));
    if (ready != 0) return ready; /* events, or a failure for the caller */
    ready = mark_failed_connects(fds, first, n);
    if (ready > 0 || tofu_remaining_ms(timeout_ms, start) == 0) return ready;
  }
}
#endif

/* How long a close waits for parks to rebuild before it goes on anyway. */
#define SETTLE_LIMIT_MS 200

/* A descriptor array with the token of each entry. */
struct poll_set {
  os_pollfd *fds;
  int32_t *tokens;
  int32_t capacity;
};

/* One park in progress (on its thread's stack); guarded by p->lock. */
struct park_record {
  uint64_t built; /* the generation its descriptor array was built from */
  struct park_record *next;
};

/* Fields above own_busy are guarded by p->lock. */
struct poll_state {
  struct tofu_wake rebuild;
  struct park_record *parks; /* parks in progress */
  uint64_t generation;       /* bumped by every interest change */
  tofu_cond rebuilt;         /* broadcast when a park rebuilds or ends */
  int32_t settling;          /* closers waiting on `rebuilt` */
  /* What the last park found ready, as (token, revents) pairs, handed to the
   * next peek so that one wake-up scans every descriptor once, not twice;
   * valid only while the registrations are those the park polled. */
  int32_t *found;
  int32_t found_count;
  int32_t found_capacity;
  uint64_t found_generation;
  atomic_int own_busy; /* 1 while a wait uses `own` */
  struct poll_set own; /* reused by wait so the hot path does not allocate */
};

static struct poll_state *state_of(struct tofu_poller *p) { return p->state; }

static int32_t poll_open(struct tofu_poller *p) {
  struct poll_state *st = calloc(1, sizeof *st);
  if (st == NULL) return TOFU_E_NOMEM;
  int32_t code = tofu_wake_open(&st->rebuild);
  if (code < 0) {
    free(st);
    return code;
  }
  if (tofu_cond_init(&st->rebuilt) != 0) {
    tofu_wake_close(&st->rebuild);
    free(st);
    return TOFU_E_NOMEM;
  }
  p->state = st;
  return TOFU_OK;
}

static void free_set(struct poll_set *set) {
  free(set->fds);
  free(set->tokens);
}

static void poll_close(struct tofu_poller *p) {
  struct poll_state *st = state_of(p);
  if (st == NULL) return;
  tofu_wake_close(&st->rebuild);
  tofu_cond_fini(&st->rebuilt);
  free_set(&st->own);
  free(st->found);
  free(st);
  p->state = NULL;
}

static int32_t poll_update(struct tofu_poller *p, tofu_fd fd, int32_t token, int32_t old_interest,
                           int32_t new_interest) {
  (void)fd;
  (void)token;
  (void)old_interest;
  (void)new_interest;
  struct poll_state *st = state_of(p);
  st->generation++;
  if (st->parks != NULL) tofu_wake_signal(&st->rebuild);
  return TOFU_OK;
}

/* 1 while some park's array predates generation `wanted`; p->lock held. */
static int park_behind(const struct poll_state *st, uint64_t wanted) {
  for (const struct park_record *r = st->parks; r != NULL; r = r->next) {
    if (r->built < wanted) return 1;
  }
  return 0;
}

static uint64_t poll_unsettled(struct tofu_poller *p) {
  struct poll_state *st = state_of(p);
  return park_behind(st, st->generation) ? st->generation : 0;
}

static void poll_settle(struct tofu_poller *p, uint64_t mark) {
  struct poll_state *st = state_of(p);
  int64_t start = tofu_now_ms();
  while (park_behind(st, mark)) {
    int32_t left = tofu_remaining_ms(SETTLE_LIMIT_MS, start);
    if (left == 0) break; /* a park that cannot run must not hang the closer */
    st->settling++;
    tofu_cond_wait_ms(&st->rebuilt, &p->lock, left);
    st->settling--;
  }
}

/* Tells waiting closers that a park rebuilt or ended; p->lock held. */
static void announce_rebuilt(struct poll_state *st) {
  if (st->settling > 0) tofu_cond_broadcast(&st->rebuilt);
}

static int grow_set(struct poll_set *set, int32_t wanted) {
  if (wanted <= set->capacity) return 1;
  os_pollfd *fds = realloc(set->fds, (size_t)wanted * sizeof *fds);
  if (fds == NULL) return 0;
  set->fds = fds;
  int32_t *tokens = realloc(set->tokens, (size_t)wanted * sizeof *tokens);
  if (tokens == NULL) return 0;
  set->tokens = tokens;
  set->capacity = wanted;
  return 1;
}

static int grow_found(struct poll_state *st, int32_t wanted) {
  if (wanted <= st->found_capacity) return 1;
  int32_t *found = realloc(st->found, (size_t)wanted * 2 * sizeof *found);
  if (found == NULL) return 0;
  st->found = found;
  st->found_capacity = wanted;
  return 1;
}

static void put_fd(struct poll_set *set, int32_t at, tofu_fd fd, short events, int32_t token) {
  set->fds[at].fd = fd;
  set->fds[at].events = events;
  set->fds[at].revents = 0;
  set->tokens[at] = token;
}

/* Fills set with the wake channel(s) first, then every registration with a
 * non-zero interest; p->lock held. Returns the entry count or TOFU_E_NOMEM. */
static int32_t build_set(struct tofu_poller *p, struct poll_set *set, int with_rebuild) {
  int32_t fixed = with_rebuild ? 2 : 1;
  if (!grow_set(set, fixed + p->reg_count)) return TOFU_E_NOMEM;
  int32_t n = 0;
  put_fd(set, n++, p->wake.read_fd, WANT_READ, 0);
  if (with_rebuild) put_fd(set, n++, state_of(p)->rebuild.read_fd, WANT_READ, 0);
  for (int32_t i = 0; i < p->reg_count; i++) {
    const struct tofu_registration *r = &p->regs[i];
    if (r->interest == 0) continue;
    short events = 0;
    if (r->interest & TOFU_INTEREST_READ) events |= WANT_READ;
    if (r->interest & TOFU_INTEREST_WRITE) events |= WANT_WRITE;
    put_fd(set, n++, r->fd, events, r->token);
  }
  return n;
}

/* A peek right after a park gets what the park found, if the registrations
 * have not changed since; p->lock held. Returns the pair count, or -1 when
 * there is nothing to hand over (then the caller polls). */
static int32_t take_found(struct poll_state *st, int32_t *events, int32_t capacity) {
  int32_t count = st->found_count;
  st->found_count = 0;
  if (count == 0 || st->found_generation != st->generation || count > capacity) return -1;
  for (int32_t i = 0; i < 2 * count; i++) events[i] = st->found[i];
  return count;
}

/* Records what a park's poll found ready (sockets only); p->lock held. */
static void keep_found(struct poll_state *st, const struct poll_set *set, int32_t n,
                       uint64_t generation) {
  st->found_count = 0;
  if (!grow_found(st, n)) return;
  int32_t count = 0;
  for (int32_t i = 2; i < n; i++) {
    if (set->fds[i].revents == 0) continue;
    st->found[2 * count] = set->tokens[i];
    st->found[2 * count + 1] = (int32_t)(unsigned short)set->fds[i].revents;
    count++;
  }
  st->found_count = count;
  st->found_generation = generation;
}

static int32_t wait_with(struct tofu_poller *p, struct poll_set *set, int32_t *events,
                         int32_t capacity, int64_t timeout_us) {
  tofu_mutex_lock(&p->lock);
  int32_t found = take_found(state_of(p), events, capacity);
  if (found >= 0 && timeout_us == 0) {
    tofu_mutex_unlock(&p->lock);
    return found;
  }
  int32_t n = build_set(p, set, 0);
  tofu_mutex_unlock(&p->lock);
  if (n < 0) return n;
#if defined(_WIN32)
  int ready = poll_checking_connects(set->fds, 1, n, timeout_us);
#else
  int ready = os_poll_us(set->fds, n, timeout_us);
#endif
  if (ready == OS_POLL_FAILED) {
    int32_t code = tofu_fail();
    return code == TOFU_E_AGAIN ? 0 : code; /* EINTR: a spurious empty wait */
  }
  if (set->fds[0].revents != 0) tofu_poller_consume_wake(p);
  int32_t count = 0;
  for (int32_t i = 1; i < n && count < capacity; i++) {
    if (set->fds[i].revents == 0) continue;
    events[2 * count] = set->tokens[i];
    events[2 * count + 1] = (int32_t)(unsigned short)set->fds[i].revents;
    count++;
  }
  return count;
}

static int32_t poll_wait_events(struct tofu_poller *p, int32_t *events, int32_t capacity,
                                int64_t timeout_us) {
  struct poll_state *st = state_of(p);
  if (atomic_exchange(&st->own_busy, 1) == 0) {
    int32_t count = wait_with(p, &st->own, events, capacity, timeout_us);
    atomic_store(&st->own_busy, 0);
    return count;
  }
  /* Another thread is waiting too (outside the contract): do not share. */
  struct poll_set local = {0};
  int32_t count = wait_with(p, &local, events, capacity, timeout_us);
  free_set(&local);
  return count;
}

/* Unlinks me from the parks in progress; p->lock held. */
static void forget_park(struct poll_state *st, struct park_record *me) {
  struct park_record **at = &st->parks;
  while (*at != me) at = &(*at)->next;
  *at = me->next;
}

static int32_t poll_park(struct tofu_poller *p, int32_t timeout_ms) {
  struct poll_state *st = state_of(p);
  struct poll_set set = {0}; /* parks are rare: a fresh array each time */
  struct park_record me = {0};
  int64_t start = tofu_now_ms();
  int32_t result;
  tofu_mutex_lock(&p->lock);
  me.built = st->generation; /* nothing removed before now can be in its arrays */
  st->found_count = 0;       /* only this park's findings may be handed on */
  me.next = st->parks;
  st->parks = &me;
  tofu_mutex_unlock(&p->lock);
  for (;;) {
    tofu_mutex_lock(&p->lock);
    int32_t n = build_set(p, &set, 1);
    me.built = st->generation; /* the previous array's poll has returned */
    announce_rebuilt(st);
    tofu_mutex_unlock(&p->lock);
    if (n < 0) {
      result = n;
      break;
    }
#if defined(_WIN32)
    int ready = poll_checking_connects(set.fds, 2, n,
                                       (int64_t)tofu_remaining_ms(timeout_ms, start) * 1000);
#else
    int ready = os_poll(set.fds, n, tofu_remaining_ms(timeout_ms, start));
#endif
    if (ready == OS_POLL_FAILED) {
      int32_t code = tofu_fail();
      result = code == TOFU_E_AGAIN ? 1 : code;
      break;
    }
    if (atomic_load(&p->destroyed)) {
      result = 1;
      break;
    }
    int rebuild = set.fds[1].revents != 0;
    if (ready > rebuild) { /* the wake or a socket: report, consume nothing */
      /* A wake is left for the next real poll to consume. */
      if (set.fds[0].revents == 0 && !rebuild) {
        tofu_mutex_lock(&p->lock);
        keep_found(st, &set, n, me.built);
        tofu_mutex_unlock(&p->lock);
      }
      result = 1;
      break;
    }
    if (!rebuild) {
      result = 0;
      break;
    }
    tofu_wake_drain(&st->rebuild);
  }
  tofu_mutex_lock(&p->lock);
  forget_park(st, &me);
  announce_rebuilt(st);
  tofu_mutex_unlock(&p->lock);
  free_set(&set);
  return result;
}

static void poll_mask_bits(int32_t out[8]) {
#if defined(_WIN32)
  out[0] = POLLRDNORM;
  out[1] = POLLWRNORM;
#else
  out[0] = POLLIN;
  out[1] = POLLOUT;
#endif
  out[2] = POLLERR;
  out[3] = POLLHUP;
  out[4] = POLLNVAL;
#if defined(POLLRDHUP) && !defined(_WIN32)
  out[5] = POLLRDHUP;
#else
  out[5] = 0;
#endif
  out[6] = 0;
  out[7] = 0;
}

#if defined(_WIN32)
const struct tofu_backend tofu_backend_wsapoll = {
#else
const struct tofu_backend tofu_backend_poll = {
#endif
    .id = BACKEND_ID,
    .open = poll_open,
    .close = poll_close,
    .update = poll_update,
    .wait = poll_wait_events,
    .park = poll_park,
    .unsettled = poll_unsettled,
    .settle = poll_settle,
    .mask_bits = poll_mask_bits,
};
#endif
