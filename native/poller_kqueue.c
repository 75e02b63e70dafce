/*
 * The kqueue backend (macOS, BSD): EVFILT_READ / EVFILT_WRITE, level-triggered
 * (no EV_CLEAR). The wake pipe's read end is watched under EVFILT_READ and
 * told apart by its descriptor. A raw mask is (-filter & 0xffff) | (flags << 16).
 */
#include "poller.h"

#ifdef TOFU_HAVE_KQUEUE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/event.h>
#include <sys/time.h>

#include "errors.h"
#include "tofu.h"

#define MAX_BATCH 1024

struct kqueue_state {
  int kq;
};

static int kq_of(struct tofu_poller *p) { return ((struct kqueue_state *)p->state)->kq; }

/* kevent() timeout for timeout_us (-1 = forever: NULL). */
static struct timespec *to_timespec(int64_t timeout_us, struct timespec *ts) {
  if (timeout_us < 0) return NULL;
  *ts = tofu_timespec_us(timeout_us);
  return ts;
}

/* Applies one change; TOFU_OK or a TOFU_E_* code. */
static int32_t change(int kq, int fd, int16_t filter, uint16_t flags, int32_t token) {
  struct kevent ev;
  EV_SET(&ev, (uintptr_t)fd, filter, flags, 0, 0, (void *)(intptr_t)token);
  if (kevent(kq, &ev, 1, NULL, 0, NULL) == 0) return TOFU_OK;
  if ((flags & EV_DELETE) && errno == ENOENT) return TOFU_OK;
  return tofu_fail();
}

static int32_t kqueue_open(struct tofu_poller *p) {
  struct kqueue_state *st = malloc(sizeof *st);
  if (st == NULL) return TOFU_E_NOMEM;
  st->kq = kqueue();
  if (st->kq < 0) {
    int32_t code = tofu_fail();
    free(st);
    return code;
  }
  int32_t code = TOFU_OK;
  if (fcntl(st->kq, F_SETFD, FD_CLOEXEC) < 0) code = tofu_fail();
  if (code == TOFU_OK) code = change(st->kq, p->wake.read_fd, EVFILT_READ, EV_ADD, 0);
  if (code < 0) {
    close(st->kq);
    free(st);
    return code;
  }
  p->state = st;
  return TOFU_OK;
}

static void kqueue_close(struct tofu_poller *p) {
  struct kqueue_state *st = p->state;
  if (st == NULL) return;
  close(st->kq);
  free(st);
  p->state = NULL;
}

/* Adds (or retags) one filter when wanted, removes it when it was on. */
static int32_t set_filter(int kq, int fd, int16_t filter, int was_on, int on, int32_t token) {
  if (on) return change(kq, fd, filter, EV_ADD | EV_ENABLE, token);
  if (was_on) return change(kq, fd, filter, EV_DELETE, token);
  return TOFU_OK;
}

static int32_t kqueue_update(struct tofu_poller *p, tofu_fd fd, int32_t token, int32_t old_interest,
                             int32_t new_interest) {
  int kq = kq_of(p);
  int32_t code = set_filter(kq, fd, EVFILT_READ, old_interest & TOFU_INTEREST_READ,
                            new_interest & TOFU_INTEREST_READ, token);
  if (code < 0) return code;
  code = set_filter(kq, fd, EVFILT_WRITE, old_interest & TOFU_INTEREST_WRITE,
                    new_interest & TOFU_INTEREST_WRITE, token);
  if (code < 0 && (new_interest & TOFU_INTEREST_READ) && !(old_interest & TOFU_INTEREST_READ)) {
    (void)change(kq, fd, EVFILT_READ, EV_DELETE, token); /* undo the half-applied change */
  }
  return code;
}

static int32_t kqueue_wait(struct tofu_poller *p, int32_t *events, int32_t capacity,
                           int64_t timeout_us) {
  struct kevent ready[MAX_BATCH + 1];
  int max = capacity < MAX_BATCH ? capacity : MAX_BATCH;
  struct timespec ts;
  /* One extra slot so a pending wake never costs a socket event. */
  int n = kevent(kq_of(p), NULL, 0, ready, max + 1, to_timespec(timeout_us, &ts));
  if (n < 0) return errno == EINTR ? 0 : tofu_fail();
  int32_t count = 0;
  for (int i = 0; i < n; i++) {
    if ((int)ready[i].ident == p->wake.read_fd && ready[i].filter == EVFILT_READ) {
      tofu_poller_consume_wake(p);
    } else if (count < max) {
      events[2 * count] = (int32_t)(intptr_t)ready[i].udata;
      uint32_t mask = ((uint32_t)(-ready[i].filter) & 0xffffu) | ((uint32_t)ready[i].flags << 16);
      events[2 * count + 1] = (int32_t)mask;
      count++;
    }
  }
  return count;
}

static int32_t kqueue_park(struct tofu_poller *p, int32_t timeout_ms) {
  struct kevent ready;
  struct timespec ts;
  /* Level-triggered filters stay active after being reported. */
  int64_t timeout_us = timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000;
  int n = kevent(kq_of(p), NULL, 0, &ready, 1, to_timespec(timeout_us, &ts));
  if (n < 0) return errno == EINTR ? 1 : tofu_fail();
  return n > 0 ? 1 : 0;
}

static void kqueue_mask_bits(int32_t out[8]) {
  out[0] = 1; /* -EVFILT_READ */
  out[1] = 2; /* -EVFILT_WRITE */
  out[2] = 0;
  out[3] = 0;
  out[4] = 0;
  out[5] = 0;
  out[6] = (int32_t)((uint32_t)EV_EOF << 16);
  out[7] = (int32_t)((uint32_t)EV_ERROR << 16);
}

const struct tofu_backend tofu_backend_kqueue = {
    .id = TOFU_BACKEND_KQUEUE,
    .open = kqueue_open,
    .close = kqueue_close,
    .update = kqueue_update,
    .wait = kqueue_wait,
    .park = kqueue_park,
    .mask_bits = kqueue_mask_bits,
};
#endif
