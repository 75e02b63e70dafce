/*
 * The AFD backend (Windows, TOFU_BACKEND_AFD): epoll-like readiness on top of
 * an I/O completion port, the way the AFD socket driver lets every Windows
 * socket be watched without scanning them all on every wait.
 *
 * Each watched socket has one entry. An armed entry has one IOCTL_AFD_POLL in
 * flight, issued through a handle on the AFD device (opened once per poller
 * and tied to its completion port) and naming the socket's base handle
 * (SIO_BASE_HANDLE). The poll completes, through the port, when one of the
 * events asked for is true, at once if it already is. A completion is
 * recorded in its entry ("ready") by whichever thread dequeues it, under
 * p->lock; a wait reports ready entries and re-arms them on its next call,
 * which is what makes the reports level-triggered: a socket still readable
 * is reported again as soon as its new poll completes.
 *
 * park blocks on the port like a wait but consumes nothing: what it dequeues
 * stays recorded for the next wait. Interest changes re-arm or cancel the
 * poll in flight at once, so a park in progress sees them. A cancelled or
 * finished poll still owns its entry's buffers until its completion packet is
 * dequeued, so an entry removed meanwhile is only unlinked from the lookup
 * table and freed when that packet arrives (or when the poller closes).
 *
 * Wakes are completion packets posted to the port (PostQueuedCompletionStatus),
 * at most one outstanding; a wait consumes it, a park leaves it recorded.
 *
 * Raw masks use epoll's bit values (IN, OUT, ERR, HUP, RDHUP), so the
 * TypeScript side translates them with the epoll-like family it already has.
 */
#include "poller.h"

#ifdef TOFU_HAVE_AFD
#include <mswsock.h>
#include <stdlib.h>
#include <winternl.h>

#include "errors.h"
#include "net.h"
#include "tofu.h"

/* The AFD driver's poll request (afd.sys; the layout every AFD poller uses). */
#define AFD_IOCTL_POLL 0x00012024
#define AFD_RECEIVE 0x0001
#define AFD_SEND 0x0004
#define AFD_DISCONNECT 0x0008
#define AFD_ABORT 0x0010
#define AFD_LOCAL_CLOSE 0x0020
#define AFD_ACCEPT 0x0080
#define AFD_CONNECT_FAIL 0x0100

struct afd_poll_handle {
  HANDLE handle;
  ULONG events;
  NTSTATUS status;
};

struct afd_poll_info {
  LARGE_INTEGER timeout;
  ULONG handle_count;
  ULONG exclusive;
  struct afd_poll_handle handles[1];
};

#ifndef STATUS_SUCCESS
#define STATUS_SUCCESS ((NTSTATUS)0x00000000L)
#endif
#ifndef STATUS_PENDING
#define STATUS_PENDING ((NTSTATUS)0x00000103L)
#endif
#ifndef STATUS_CANCELLED
#define STATUS_CANCELLED ((NTSTATUS)0xC0000120L)
#endif

/* ntdll exports these; the MinGW headers do not declare the last one. */
NTSTATUS NTAPI NtCancelIoFileEx(HANDLE file, PIO_STATUS_BLOCK request, PIO_STATUS_BLOCK status);

/* The raw mask bits reported (epoll's values). */
#define RAW_IN 0x001
#define RAW_OUT 0x004
#define RAW_ERR 0x008
#define RAW_HUP 0x010
#define RAW_RDHUP 0x2000

#define WAKE_KEY ((ULONG_PTR)1) /* socket polls complete with key 0 */
#define MAX_BATCH 256
/* How long closing a poller waits for its cancelled polls to come back. */
#define CLOSE_DRAIN_MS 2000

struct afd_entry {
  IO_STATUS_BLOCK iosb; /* first: a completion's lpOverlapped points here */
  struct afd_poll_info info;
  tofu_fd fd;
  HANDLE base;         /* the socket's base handle, what AFD polls */
  int32_t token;
  int32_t interest;    /* TOFU_INTEREST_* bits; 0 once removed */
  ULONG armed;         /* AFD events of the poll in flight (0: none in flight) */
  int32_t ready;       /* raw mask recorded, not reported yet (0: none) */
  int linked;          /* 1 while in the lookup table */
  struct afd_entry *next_in_bucket;
  struct afd_entry *next_ready;            /* in ready or rearm list */
  struct afd_entry *all_prev, *all_next;   /* every entry, for close */
};

/* Everything below is guarded by p->lock, except wake_posted. */
struct afd_state {
  HANDLE port;
  HANDLE device;             /* \Device\Afd handle the polls go through */
  struct afd_entry **buckets; /* lookup by fd */
  uint32_t bucket_count;     /* a power of two */
  uint32_t linked_count;
  struct afd_entry *all;     /* every entry, linked or awaiting its packet */
  struct afd_entry *ready_head, *ready_tail; /* recorded, to report in order */
  struct afd_entry *rearm;   /* reported, to arm again on the next wait or park */
  int32_t in_flight;         /* polls whose packet has not been dequeued */
  int wake_recorded;         /* a park dequeued the wake packet: the next wait consumes it */
  atomic_int wake_posted;    /* a wake packet is queued or recorded */
};

static struct afd_state *state_of(struct tofu_poller *p) { return p->state; }

/* ---- lookup table --------------------------------------------------------- */

static uint32_t bucket_of(const struct afd_state *st, tofu_fd fd) {
  uint64_t h = (uint64_t)fd * UINT64_C(0x9E3779B97F4A7C15);
  return (uint32_t)(h >> 32) & (st->bucket_count - 1);
}

static struct afd_entry *find_entry(struct afd_state *st, tofu_fd fd) {
  for (struct afd_entry *e = st->buckets[bucket_of(st, fd)]; e != NULL; e = e->next_in_bucket) {
    if (e->fd == fd) return e;
  }
  return NULL;
}

static int grow_table(struct afd_state *st) {
  uint32_t count = st->bucket_count * 2;
  struct afd_entry **buckets = calloc(count, sizeof *buckets);
  if (buckets == NULL) return 0;
  struct afd_entry **old = st->buckets;
  uint32_t old_count = st->bucket_count;
  st->buckets = buckets;
  st->bucket_count = count;
  for (uint32_t i = 0; i < old_count; i++) {
    for (struct afd_entry *e = old[i], *next; e != NULL; e = next) {
      next = e->next_in_bucket;
      uint32_t b = bucket_of(st, e->fd);
      e->next_in_bucket = buckets[b];
      buckets[b] = e;
    }
  }
  free(old);
  return 1;
}

static void unlink_entry(struct afd_state *st, struct afd_entry *e) {
  struct afd_entry **at = &st->buckets[bucket_of(st, e->fd)];
  while (*at != e) at = &(*at)->next_in_bucket;
  *at = e->next_in_bucket;
  e->linked = 0;
  st->linked_count--;
}

static void free_entry(struct afd_state *st, struct afd_entry *e) {
  if (e->all_prev != NULL) e->all_prev->all_next = e->all_next;
  else st->all = e->all_next;
  if (e->all_next != NULL) e->all_next->all_prev = e->all_prev;
  free(e);
}

/* ---- ready and re-arm lists ------------------------------------------------ */

static void remove_from_list(struct afd_entry **head, struct afd_entry **tail, struct afd_entry *e) {
  struct afd_entry *prev = NULL;
  for (struct afd_entry *at = *head; at != NULL; prev = at, at = at->next_ready) {
    if (at != e) continue;
    if (prev != NULL) prev->next_ready = e->next_ready;
    else *head = e->next_ready;
    if (tail != NULL && *tail == e) *tail = prev;
    e->next_ready = NULL;
    return;
  }
}

static void push_ready(struct afd_state *st, struct afd_entry *e) {
  e->next_ready = NULL;
  if (st->ready_tail != NULL) st->ready_tail->next_ready = e;
  else st->ready_head = e;
  st->ready_tail = e;
}

/* ---- polls ----------------------------------------------------------------- */

/* The AFD events that stand for an interest (failures always count). */
static ULONG afd_events_for(int32_t interest) {
  if (interest == 0) return 0;
  ULONG events = AFD_ABORT | AFD_CONNECT_FAIL | AFD_LOCAL_CLOSE;
  if (interest & TOFU_INTEREST_READ) events |= AFD_RECEIVE | AFD_ACCEPT | AFD_DISCONNECT;
  if (interest & TOFU_INTEREST_WRITE) events |= AFD_SEND;
  return events;
}

/* The raw mask of what a completed poll found. */
static int32_t raw_mask_of(ULONG events) {
  int32_t raw = 0;
  if (events & (AFD_RECEIVE | AFD_ACCEPT)) raw |= RAW_IN;
  if (events & AFD_DISCONNECT) raw |= RAW_IN | RAW_RDHUP;
  if (events & AFD_SEND) raw |= RAW_OUT;
  /* A reset reads as readable plus failure, as epoll reports it, so the
   * receiver meets the reset in recv; a refused connect as writable plus
   * failure, so the connect check reads the error. */
  if (events & AFD_ABORT) raw |= RAW_IN | RAW_ERR | RAW_HUP;
  if (events & AFD_CONNECT_FAIL) raw |= RAW_OUT | RAW_ERR | RAW_HUP;
  if (events & AFD_LOCAL_CLOSE) raw |= RAW_ERR | RAW_HUP;
  return raw;
}

/* Issues a poll for e's interest; p->lock held, none in flight. On failure
 * the entry reports an error instead of waiting forever. */
static void arm(struct afd_state *st, struct afd_entry *e) {
  ULONG events = afd_events_for(e->interest);
  e->info.timeout.QuadPart = INT64_MAX;
  e->info.handle_count = 1;
  e->info.exclusive = FALSE;
  e->info.handles[0].handle = e->base;
  e->info.handles[0].events = events;
  e->info.handles[0].status = 0;
  e->iosb.Status = STATUS_PENDING;
  NTSTATUS status = NtDeviceIoControlFile(st->device, NULL, NULL, &e->iosb, &e->iosb,
                                          AFD_IOCTL_POLL, &e->info, sizeof e->info, &e->info,
                                          sizeof e->info);
  if (status == STATUS_SUCCESS || status == STATUS_PENDING) {
    e->armed = events; /* the packet comes through the port either way */
    st->in_flight++;
    return;
  }
  e->ready |= RAW_ERR | RAW_HUP; /* e.g. the socket is gone: say so */
  push_ready(st, e);
}

/* Asks AFD to finish e's poll in flight now (its packet still comes). */
static void cancel(struct afd_state *st, struct afd_entry *e) {
  IO_STATUS_BLOCK ignored;
  (void)NtCancelIoFileEx(st->device, &e->iosb, &ignored); /* NOT_FOUND: already done */
}

/* Arms the entries reported by the previous wait; p->lock held. */
static void rearm_reported(struct afd_state *st) {
  while (st->rearm != NULL) {
    struct afd_entry *e = st->rearm;
    st->rearm = e->next_ready;
    e->next_ready = NULL;
    if (e->interest != 0 && e->armed == 0 && e->ready == 0) arm(st, e);
  }
}

/* Records dequeued packets into their entries; p->lock held. Returns how
 * many made something ready or carried the wake. */
static int32_t record(struct tofu_poller *p, const OVERLAPPED_ENTRY *packets, ULONG n, int parking) {
  struct afd_state *st = state_of(p);
  int32_t news = 0;
  for (ULONG i = 0; i < n; i++) {
    if (packets[i].lpCompletionKey == WAKE_KEY) {
      if (parking) st->wake_recorded = 1; /* the park reports it; the next wait consumes it */
      else if (atomic_load(&p->parking) == 0) atomic_store(&st->wake_posted, 0);
      else (void)PostQueuedCompletionStatus(st->port, 0, WAKE_KEY, NULL); /* for the park */
      news++;
      continue;
    }
    struct afd_entry *e = (struct afd_entry *)packets[i].lpOverlapped;
    if (e == NULL) continue;
    st->in_flight--;
    e->armed = 0;
    if (!e->linked) { /* removed while its poll was in flight */
      free_entry(st, e);
      continue;
    }
    int32_t raw = 0;
    if (e->iosb.Status == STATUS_SUCCESS && e->info.handle_count == 1) {
      raw = raw_mask_of(e->info.handles[0].events & afd_events_for(e->interest));
    }
    if (raw == 0) { /* cancelled for an interest change, or nothing we still want */
      if (e->interest != 0) arm(st, e);
      continue;
    }
    if (e->ready == 0) push_ready(st, e);
    e->ready |= raw;
    news++;
  }
  return news;
}

/* ---- backend interface ----------------------------------------------------- */

static int32_t afd_open(struct tofu_poller *p) {
  if (tofu_net_startup() < 0) return tofu_fail(); /* WSAIoctl needs Winsock */
  struct afd_state *st = calloc(1, sizeof *st);
  if (st == NULL) return TOFU_E_NOMEM;
  st->bucket_count = 64;
  st->buckets = calloc(st->bucket_count, sizeof *st->buckets);
  if (st->buckets == NULL) {
    free(st);
    return TOFU_E_NOMEM;
  }
  atomic_init(&st->wake_posted, 0);
  st->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
  if (st->port == NULL) {
    int32_t code = tofu_fail_with((int)GetLastError());
    free(st->buckets);
    free(st);
    return code;
  }
  /* Any name under \Device\Afd opens the driver without making a socket. */
  UNICODE_STRING name;
  RtlInitUnicodeString(&name, L"\\Device\\Afd\\tofu");
  OBJECT_ATTRIBUTES attributes;
  InitializeObjectAttributes(&attributes, &name, 0, NULL, NULL);
  IO_STATUS_BLOCK iosb;
  NTSTATUS status = NtCreateFile(&st->device, SYNCHRONIZE, &attributes, &iosb, NULL, 0,
                                 FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN, 0, NULL, 0);
  int32_t code = TOFU_OK;
  if (status != STATUS_SUCCESS) {
    st->device = NULL;
    code = tofu_fail_with((int)RtlNtStatusToDosError(status));
  } else if (CreateIoCompletionPort(st->device, st->port, 0, 0) == NULL) {
    code = tofu_fail_with((int)GetLastError());
  }
  if (code != TOFU_OK) {
    if (st->device != NULL) CloseHandle(st->device);
    CloseHandle(st->port);
    free(st->buckets);
    free(st);
    return code;
  }
  p->state = st;
  return TOFU_OK;
}

static void afd_close(struct tofu_poller *p) {
  struct afd_state *st = state_of(p);
  if (st == NULL) return;
  /* Every poll in flight writes its buffers until its packet arrives: cancel
   * them all and wait for the packets before freeing anything. */
  IO_STATUS_BLOCK ignored;
  if (st->in_flight > 0) (void)NtCancelIoFileEx(st->device, NULL, &ignored);
  int64_t start = tofu_now_ms();
  while (st->in_flight > 0) {
    OVERLAPPED_ENTRY packets[MAX_BATCH];
    ULONG n = 0;
    int32_t left = tofu_remaining_ms(CLOSE_DRAIN_MS, start);
    if (!GetQueuedCompletionStatusEx(st->port, packets, MAX_BATCH, &n, (DWORD)left, FALSE)) break;
    for (ULONG i = 0; i < n; i++) {
      if (packets[i].lpCompletionKey != WAKE_KEY && packets[i].lpOverlapped != NULL) st->in_flight--;
    }
  }
  CloseHandle(st->device);
  CloseHandle(st->port);
  /* Polls that never came back (a stuck driver) keep their entries: leaked
   * rather than written after free. */
  if (st->in_flight == 0) {
    while (st->all != NULL) free_entry(st, st->all);
  }
  free(st->buckets);
  free(st);
  p->state = NULL;
}

static struct afd_entry *new_entry(struct afd_state *st, tofu_fd fd, int32_t *code) {
  HANDLE base = NULL;
  DWORD bytes = 0;
  if (WSAIoctl(fd, SIO_BASE_HANDLE, NULL, 0, &base, sizeof base, &bytes, NULL, NULL) != 0) {
    *code = tofu_fail();
    return NULL;
  }
  if (st->linked_count + 1 > st->bucket_count && !grow_table(st)) {
    *code = TOFU_E_NOMEM;
    return NULL;
  }
  struct afd_entry *e = calloc(1, sizeof *e);
  if (e == NULL) {
    *code = TOFU_E_NOMEM;
    return NULL;
  }
  e->fd = fd;
  e->base = base;
  uint32_t b = bucket_of(st, fd);
  e->next_in_bucket = st->buckets[b];
  st->buckets[b] = e;
  e->linked = 1;
  st->linked_count++;
  e->all_next = st->all;
  if (st->all != NULL) st->all->all_prev = e;
  st->all = e;
  return e;
}

static int32_t afd_update(struct tofu_poller *p, tofu_fd fd, int32_t token, int32_t old_interest,
                          int32_t new_interest) {
  (void)old_interest;
  struct afd_state *st = state_of(p);
  struct afd_entry *e = find_entry(st, fd);
  if (new_interest == 0) {
    if (e == NULL) return TOFU_OK;
    remove_from_list(&st->ready_head, &st->ready_tail, e);
    remove_from_list(&st->rearm, NULL, e);
    e->interest = 0;
    e->ready = 0;
    unlink_entry(st, e);
    if (e->armed != 0) cancel(st, e); /* freed when its packet comes */
    else free_entry(st, e);
    return TOFU_OK;
  }
  if (e == NULL) {
    int32_t code = TOFU_OK;
    e = new_entry(st, fd, &code);
    if (e == NULL) return code;
  }
  e->token = token;
  e->interest = new_interest;
  /* Something recorded stays reported: TypeScript reads it against what it expects now. */
  if (e->armed != 0) {
    if (e->armed != afd_events_for(new_interest)) cancel(st, e); /* re-armed when it returns */
  } else if (e->ready == 0) {
    remove_from_list(&st->rearm, NULL, e);
    arm(st, e); /* now, so that a park in progress watches it */
  }
  return TOFU_OK;
}

/* Dequeues packets for up to timeout_ms and records them; p->lock not held. */
static int32_t dequeue(struct tofu_poller *p, int32_t timeout_ms, int parking, int32_t *news) {
  struct afd_state *st = state_of(p);
  OVERLAPPED_ENTRY packets[MAX_BATCH];
  ULONG n = 0;
  *news = 0;
  DWORD wait = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
  if (!GetQueuedCompletionStatusEx(st->port, packets, MAX_BATCH, &n, wait, FALSE)) {
    DWORD error = GetLastError();
    return error == WAIT_TIMEOUT ? TOFU_OK : tofu_fail_with((int)error);
  }
  tofu_mutex_lock(&p->lock);
  *news = record(p, packets, n, parking);
  tofu_mutex_unlock(&p->lock);
  return TOFU_OK;
}

static int32_t afd_wait(struct tofu_poller *p, int32_t *events, int32_t capacity,
                        int64_t timeout_us) {
  struct afd_state *st = state_of(p);
  int32_t timeout_ms = tofu_ms_rounded_up(timeout_us);
  int64_t start = tofu_now_ms();
  tofu_mutex_lock(&p->lock);
  rearm_reported(st);
  int pending = st->ready_head != NULL || st->wake_recorded;
  tofu_mutex_unlock(&p->lock);
  for (;;) {
    int32_t news;
    /* Ready already: only collect what else has completed meanwhile. */
    int32_t code = dequeue(p, pending ? 0 : tofu_remaining_ms(timeout_ms, start), 0, &news);
    if (code < 0) return code;
    if (pending || news > 0 || tofu_remaining_ms(timeout_ms, start) == 0) break;
    /* Only cancelled polls came back (and were re-armed): the wait goes on. */
  }
  tofu_mutex_lock(&p->lock);
  if (st->wake_recorded && atomic_load(&p->parking) == 0) {
    st->wake_recorded = 0; /* the wake a park saw: consumed here */
    atomic_store(&st->wake_posted, 0);
  }
  int32_t count = 0;
  while (count < capacity && st->ready_head != NULL) {
    struct afd_entry *e = st->ready_head;
    st->ready_head = e->next_ready;
    if (st->ready_head == NULL) st->ready_tail = NULL;
    events[2 * count] = e->token;
    events[2 * count + 1] = e->ready;
    count++;
    e->ready = 0;
    e->next_ready = st->rearm;
    st->rearm = e;
  }
  tofu_mutex_unlock(&p->lock);
  return count;
}

static int32_t afd_park(struct tofu_poller *p, int32_t timeout_ms) {
  struct afd_state *st = state_of(p);
  int64_t start = tofu_now_ms();
  for (;;) {
    tofu_mutex_lock(&p->lock);
    rearm_reported(st);
    int pending = st->ready_head != NULL || st->wake_recorded;
    tofu_mutex_unlock(&p->lock);
    if (pending || atomic_load(&p->destroyed)) return 1;
    int32_t news;
    int32_t code = dequeue(p, tofu_remaining_ms(timeout_ms, start), 1, &news);
    if (code < 0) return code;
    if (news > 0 || atomic_load(&p->destroyed)) return 1;
    if (tofu_remaining_ms(timeout_ms, start) == 0) return 0;
    /* Only cancelled polls came back (and were re-armed): keep waiting. */
  }
}

static void afd_signal(struct tofu_poller *p) {
  struct afd_state *st = state_of(p);
  if (atomic_exchange(&st->wake_posted, 1) == 0) {
    (void)PostQueuedCompletionStatus(st->port, 0, WAKE_KEY, NULL);
  }
}

static void afd_mask_bits(int32_t out[8]) {
  out[0] = RAW_IN;
  out[1] = RAW_OUT;
  out[2] = RAW_ERR;
  out[3] = RAW_HUP;
  out[4] = 0;
  out[5] = RAW_RDHUP;
  out[6] = 0;
  out[7] = 0;
}

const struct tofu_backend tofu_backend_afd = {
    .id = TOFU_BACKEND_AFD,
    .open = afd_open,
    .close = afd_close,
    .update = afd_update,
    .wait = afd_wait,
    .park = afd_park,
    .signal = afd_signal,
    .mask_bits = afd_mask_bits,
};
#endif
