/*
 * The kernel wake of a poller (ABI 5, Linux): an io_uring that, once armed,
 * polls the poller's own descriptor and, when it turns readable, sends one
 * byte to a socket whose other end the runtime's event loop watches.
 *
 * Why: a waiter thread wakes twice per event (the kernel wakes the waiter,
 * the waiter wakes the JavaScript thread), and on a virtual machine each
 * wake of a sleeping CPU is expensive. Here the send is linked to the poll
 * inside the kernel and runs as task work of the thread that armed the ring:
 * the JavaScript thread is woken once, as it is for the runtime's own
 * sockets. No thread of ours runs, so nothing can call into a runtime that is
 * going away (a terminated Worker cancels its requests as its thread exits).
 *
 * Every ring function runs on the thread that drives the poller.
 */
#include "ring_wake.h"

#include <stdlib.h>

#include "errors.h"
#include "poller.h"
#include "sock.h"
#include "tofu.h"

#if defined(__linux__)
#include <errno.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* user_data of the two linked requests of one arm. */
enum { POLL_TAG = 1, SEND_TAG = 2 };
/* Room for one arm (two requests) and their completions, twice over. */
#define RING_ENTRIES 4

struct tofu_ring {
  int fd;
  struct tofu_socket *notify; /* held with a reference until the ring closes */
  int in_flight;              /* an arm's send has not completed yet */
  int32_t failed;             /* first error a completion reported (0 = none) */
  /* The submission and completion rings, mapped from the kernel. */
  void *sq_map, *cq_map;
  size_t sq_map_size, cq_map_size;
  struct io_uring_sqe *sqes;
  size_t sqes_size;
  _Atomic unsigned *sq_tail, *cq_head, *cq_tail;
  unsigned *sq_mask, *sq_array, *cq_mask;
  struct io_uring_cqe *cqes;
};

static const uint8_t wake_byte = 1;

static int ring_setup(struct io_uring_params *params) {
  return (int)syscall(__NR_io_uring_setup, RING_ENTRIES, params);
}

static int ring_enter(int fd, unsigned to_submit) {
  return (int)syscall(__NR_io_uring_enter, fd, to_submit, 0, 0, NULL, 0);
}

/* True when the kernel knows every operation an arm uses. */
static int ring_supports_ops(int fd) {
  size_t size = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
  struct io_uring_probe *probe = calloc(1, size);
  if (probe == NULL) return 0;
  int ok = syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, probe, 256) == 0;
  const int ops[] = {IORING_OP_POLL_ADD, IORING_OP_SEND};
  for (size_t i = 0; ok && i < sizeof ops / sizeof ops[0]; i++) {
    ok = ops[i] <= probe->last_op && (probe->ops[ops[i]].flags & IO_URING_OP_SUPPORTED);
  }
  free(probe);
  return ok;
}

static void ring_unmap(struct tofu_ring *r) {
  if (r->sqes != NULL) munmap(r->sqes, r->sqes_size);
  if (r->cq_map != NULL && r->cq_map != r->sq_map) munmap(r->cq_map, r->cq_map_size);
  if (r->sq_map != NULL) munmap(r->sq_map, r->sq_map_size);
}

static void *map_ring(int fd, size_t size, off_t offset) {
  void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
  return map == MAP_FAILED ? NULL : map;
}

/* Maps the rings of r->fd; 0 or -1 (with errno). */
static int ring_map(struct tofu_ring *r, const struct io_uring_params *p) {
  r->sq_map_size = p->sq_off.array + p->sq_entries * sizeof(unsigned);
  r->cq_map_size = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
  int single = (p->features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single) {
    if (r->cq_map_size > r->sq_map_size) r->sq_map_size = r->cq_map_size;
    r->cq_map_size = r->sq_map_size;
  }
  r->sq_map = map_ring(r->fd, r->sq_map_size, IORING_OFF_SQ_RING);
  if (r->sq_map == NULL) return -1;
  r->cq_map = single ? r->sq_map : map_ring(r->fd, r->cq_map_size, IORING_OFF_CQ_RING);
  if (r->cq_map == NULL) return -1;
  r->sqes_size = p->sq_entries * sizeof(struct io_uring_sqe);
  r->sqes = map_ring(r->fd, r->sqes_size, IORING_OFF_SQES);
  if (r->sqes == NULL) return -1;
  char *sq = r->sq_map, *cq = r->cq_map;
  r->sq_tail = (_Atomic unsigned *)(void *)(sq + p->sq_off.tail);
  r->sq_mask = (unsigned *)(void *)(sq + p->sq_off.ring_mask);
  r->sq_array = (unsigned *)(void *)(sq + p->sq_off.array);
  r->cq_head = (_Atomic unsigned *)(void *)(cq + p->cq_off.head);
  r->cq_tail = (_Atomic unsigned *)(void *)(cq + p->cq_off.tail);
  r->cq_mask = (unsigned *)(void *)(cq + p->cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(void *)(cq + p->cq_off.cqes);
  return 0;
}

static void ring_close(struct tofu_ring *r) {
  /* Closing the ring cancels an arm in flight. */
  ring_unmap(r);
  if (r->fd >= 0) close(r->fd);
  if (r->notify != NULL) tofu_socket_release(r->notify);
  free(r);
}

/* Takes the completions: an arm is over once its send completed. */
static void reap(struct tofu_ring *r) {
  unsigned head = atomic_load_explicit(r->cq_head, memory_order_relaxed);
  unsigned tail = atomic_load_explicit(r->cq_tail, memory_order_acquire);
  for (; head != tail; head++) {
    const struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];
    if (cqe->user_data == SEND_TAG) r->in_flight = 0;
    /* A send cancelled because its poll failed says nothing new. */
    int res = cqe->res;
    if (res < 0 && res != -ECANCELED && r->failed == 0) r->failed = -res;
  }
  atomic_store_explicit(r->cq_head, head, memory_order_release);
}

static struct io_uring_sqe *next_sqe(struct tofu_ring *r, unsigned tail) {
  unsigned index = tail & *r->sq_mask;
  r->sq_array[index] = index;
  struct io_uring_sqe *sqe = &r->sqes[index];
  memset(sqe, 0, sizeof *sqe);
  return sqe;
}

static int32_t ring_arm(struct tofu_ring *r, tofu_fd watched) {
  reap(r);
  if (r->failed != 0) return tofu_fail_with(r->failed);
  if (r->in_flight) return TOFU_OK;
  unsigned tail = atomic_load_explicit(r->sq_tail, memory_order_relaxed);
  struct io_uring_sqe *poll = next_sqe(r, tail);
  poll->opcode = IORING_OP_POLL_ADD;
  poll->fd = watched;
  poll->poll32_events = POLLIN;
  poll->flags = IOSQE_IO_LINK;
  poll->user_data = POLL_TAG;
  struct io_uring_sqe *send = next_sqe(r, tail + 1);
  send->opcode = IORING_OP_SEND;
  send->fd = r->notify->fd;
  send->addr = (uint64_t)(uintptr_t)&wake_byte;
  send->len = 1;
  send->msg_flags = MSG_NOSIGNAL | MSG_DONTWAIT;
  send->user_data = SEND_TAG;
  atomic_store_explicit(r->sq_tail, tail + 2, memory_order_release);
  int submitted;
  do {
    submitted = ring_enter(r->fd, 2);
  } while (submitted < 0 && errno == EINTR);
  if (submitted != 2) {
    /* Nothing half-submitted can stay behind: drop the ring's requests. */
    if (submitted >= 0) errno = EIO;
    return tofu_fail();
  }
  r->in_flight = 1;
  return TOFU_OK;
}

static int32_t ring_open(struct tofu_poller *p, struct tofu_socket *notify, struct tofu_ring **out) {
  if (p->backend->own_fd == NULL) return TOFU_E_UNSUPPORTED;
  struct tofu_ring *r = calloc(1, sizeof *r);
  if (r == NULL) return TOFU_E_NOMEM;
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  r->fd = ring_setup(&params);
  if (r->fd < 0) {
    /* No io_uring here (old kernel, disabled, or refused by a sandbox). */
    int32_t code = tofu_fail_as(errno, TOFU_E_UNSUPPORTED);
    free(r);
    return code;
  }
  if ((params.features & IORING_FEAT_FAST_POLL) == 0 || !ring_supports_ops(r->fd)) {
    ring_close(r);
    return TOFU_E_UNSUPPORTED;
  }
  if (ring_map(r, &params) != 0) {
    int32_t code = tofu_fail();
    ring_close(r);
    return code;
  }
  r->notify = notify;
  *out = r;
  return TOFU_OK;
}

TOFU_API int32_t tofu_ring_start(int32_t poller, int32_t notify) {
  struct tofu_poller *p = (struct tofu_poller *)tofu_handle_acquire(poller, TOFU_KIND_POLLER);
  if (p == NULL) return TOFU_E_BADHANDLE;
  struct tofu_socket *s = tofu_socket_acquire(notify);
  int32_t code = TOFU_E_BADHANDLE;
  if (s != NULL) {
    code = TOFU_E_INVAL;
    if (s->role == TOFU_ROLE_DATA && p->ring == NULL && p->waiter == NULL) {
      code = ring_open(p, s, &p->ring);
      s = code == TOFU_OK ? NULL : s; /* the ring keeps its reference */
    }
    if (s != NULL) tofu_socket_release(s);
  }
  tofu_handle_release(&p->base);
  return code;
}

TOFU_API int32_t tofu_ring_arm(int32_t poller) {
  struct tofu_poller *p = (struct tofu_poller *)tofu_handle_acquire(poller, TOFU_KIND_POLLER);
  if (p == NULL) return TOFU_E_BADHANDLE;
  int32_t code = p->ring == NULL ? TOFU_E_INVAL : ring_arm(p->ring, p->backend->own_fd(p));
  tofu_handle_release(&p->base);
  return code;
}

void tofu_ring_stop(struct tofu_poller *p) {
  struct tofu_ring *r = p->ring;
  if (r == NULL) return;
  p->ring = NULL;
  ring_close(r);
}

#else

TOFU_API int32_t tofu_ring_start(int32_t poller, int32_t notify) {
  (void)poller;
  (void)notify;
  return TOFU_E_UNSUPPORTED;
}

TOFU_API int32_t tofu_ring_arm(int32_t poller) {
  (void)poller;
  return TOFU_E_INVAL;
}

void tofu_ring_stop(struct tofu_poller *p) { (void)p; }

#endif
