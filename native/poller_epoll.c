/* The epoll backend (Linux), level-triggered. The wake eventfd sits in the
 * epoll set under a tag no int32 token can take.
 *
 * Waits shorter than whole milliseconds use epoll_pwait2 (Linux 5.11), which
 * takes a timespec; glibc 2.17 has no wrapper, so it is called by number.
 * Where the kernel lacks it they fall back to epoll_wait, rounded up to ms. */
#include "poller.h"

#ifdef TOFU_HAVE_EPOLL
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

#include "errors.h"
#include "tofu.h"

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441 /* the same on x86_64 and aarch64 */
#endif

#define WAKE_TAG (UINT64_C(1) << 32)
#define MAX_BATCH 1024

/* The kernel's struct __kernel_timespec: 64-bit fields on every arch. */
struct kernel_timespec {
  int64_t tv_sec;
  long long tv_nsec;
};

/* Set once epoll_pwait2 turned out to be missing, so no call asks again. */
static atomic_int pwait2_missing;

struct epoll_state {
  int epfd;
};

static int epfd_of(struct tofu_poller *p) { return ((struct epoll_state *)p->state)->epfd; }

static int32_t epoll_open(struct tofu_poller *p) {
  struct epoll_state *st = malloc(sizeof *st);
  if (st == NULL) return TOFU_E_NOMEM;
  st->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (st->epfd < 0) {
    int32_t code = tofu_fail();
    free(st);
    return code;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};
  if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, p->wake.read_fd, &ev) < 0) {
    int32_t code = tofu_fail();
    close(st->epfd);
    free(st);
    return code;
  }
  p->state = st;
  return TOFU_OK;
}

static void epoll_close(struct tofu_poller *p) {
  struct epoll_state *st = p->state;
  if (st == NULL) return;
  close(st->epfd);
  free(st);
  p->state = NULL;
}

static int32_t epoll_update(struct tofu_poller *p, tofu_fd fd, int32_t token, int32_t old_interest,
                            int32_t new_interest) {
  struct epoll_event ev = {0};
  if (new_interest & TOFU_INTEREST_READ) ev.events |= EPOLLIN | EPOLLRDHUP;
  if (new_interest & TOFU_INTEREST_WRITE) ev.events |= EPOLLOUT;
  ev.data.u64 = (uint32_t)token;
  int op;
  if (new_interest == 0) op = EPOLL_CTL_DEL;
  else op = old_interest == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(epfd_of(p), op, fd, &ev) == 0) return TOFU_OK;
  if (op == EPOLL_CTL_DEL) return TOFU_OK; /* already gone: nothing to stop */
  return tofu_fail();
}

/* epoll_wait with a timeout in microseconds (-1 = forever). */
static int epoll_wait_us(int epfd, struct epoll_event *ready, int max, int64_t timeout_us) {
  if (timeout_us > 0 && timeout_us % 1000 != 0 && !atomic_load(&pwait2_missing)) {
    struct kernel_timespec ts = {timeout_us / 1000000, (timeout_us % 1000000) * 1000};
    /* No signal mask: the kernel then ignores the mask size. */
    long n = syscall(SYS_epoll_pwait2, epfd, ready, max, &ts, NULL, 0);
    /* ENOSYS: an older kernel; EPERM: a seccomp filter that does not know it. */
    if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return (int)n;
    atomic_store(&pwait2_missing, 1);
  }
  return epoll_wait(epfd, ready, max, tofu_ms_rounded_up(timeout_us));
}

static int32_t epoll_wait_events(struct tofu_poller *p, int32_t *events, int32_t capacity,
                                 int64_t timeout_us) {
  struct epoll_event ready[MAX_BATCH + 1];
  int max = capacity < MAX_BATCH ? capacity : MAX_BATCH;
  /* One extra slot so a pending wake never costs a socket event. */
  int n = epoll_wait_us(epfd_of(p), ready, max + 1, timeout_us);
  if (n < 0) return errno == EINTR ? 0 : tofu_fail();
  int32_t count = 0;
  for (int i = 0; i < n; i++) {
    if (ready[i].data.u64 == WAKE_TAG) {
      tofu_poller_consume_wake(p);
    } else if (count < max) {
      events[2 * count] = (int32_t)(uint32_t)ready[i].data.u64;
      events[2 * count + 1] = (int32_t)ready[i].events;
      count++;
    }
  }
  return count;
}

static int32_t epoll_park(struct tofu_poller *p, int32_t timeout_ms) {
  struct epoll_event ready;
  /* Level-triggered: what this reports stays ready for the next wait. */
  int n = epoll_wait(epfd_of(p), &ready, 1, timeout_ms);
  if (n < 0) return errno == EINTR ? 1 : tofu_fail();
  return n > 0 ? 1 : 0;
}

static void epoll_mask_bits(int32_t out[8]) {
  out[0] = EPOLLIN;
  out[1] = EPOLLOUT;
  out[2] = EPOLLERR;
  out[3] = EPOLLHUP;
  out[4] = 0;
  out[5] = EPOLLRDHUP;
  out[6] = 0;
  out[7] = 0;
}

static tofu_fd epoll_own_fd(struct tofu_poller *p) { return epfd_of(p); }

const struct tofu_backend tofu_backend_epoll = {
    .id = TOFU_BACKEND_EPOLL,
    .open = epoll_open,
    .close = epoll_close,
    .update = epoll_update,
    .wait = epoll_wait_events,
    .park = epoll_park,
    .mask_bits = epoll_mask_bits,
    .own_fd = epoll_own_fd,
};
#endif
