/*
 * Measures tofu_poller_wait_us on Linux (a measurement, not a test):
 *   1. wake-up latency: one thread blocks in tofu_poller_wait_us(..., 100000)
 *      on a socket with read interest, another thread sends it one byte; the
 *      time from just before the send until the wait returns;
 *   2. empty waits: how long tofu_poller_wait_us(..., N µs) really takes with
 *      nothing ready (timer slack included).
 *
 *   wait_us_latency <library file> <epoll | poll> [rounds]
 *
 * Build: zig cc -std=c11 -O2 -D_GNU_SOURCE native/tests/wait_us_latency.c -ldl -lpthread
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tofu.h"

static __typeof__(tofu_poller_create) *poller_create;
static __typeof__(tofu_poller_destroy) *poller_destroy;
static __typeof__(tofu_poller_register) *poller_register;
static __typeof__(tofu_poller_wait_us) *poller_wait_us;
static __typeof__(tofu_tcp_listen) *tcp_listen;
static __typeof__(tofu_tcp_connect) *tcp_connect;
static __typeof__(tofu_local_port) *local_port;
static __typeof__(tofu_accept) *accept_sockets;
static __typeof__(tofu_send) *send_bytes;
static __typeof__(tofu_recv) *recv_bytes;
static __typeof__(tofu_close) *close_socket;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Prints median, p90 and p99 of n samples in µs. */
static void report(const char *what, int64_t *samples, int n) {
  qsort(samples, (size_t)n, sizeof samples[0], by_value);
  printf("%-44s median %7.1f µs  p90 %7.1f µs  p99 %7.1f µs  (n=%d)\n", what,
         (double)samples[n / 2] / 1000.0, (double)samples[n * 9 / 10] / 1000.0,
         (double)samples[n * 99 / 100] / 1000.0, n);
}

static int32_t poller, client, server;
static int rounds;
static atomic_llong sent_at;  /* ns, written by the sender just before each send */
static atomic_int round_done; /* the waiter finished round i: i + 1 */

static void *sender(void *unused) {
  (void)unused;
  for (int i = 0; i < rounds; i++) {
    usleep(500); /* long enough for the waiter to be asleep in the kernel */
    atomic_store(&sent_at, now_ns());
    send_bytes(client, (const uint8_t *)"x", 0, 1);
    while (atomic_load(&round_done) != i + 1) usleep(50);
  }
  return NULL;
}

#define LOAD(var, name)                                                                            \
  if ((var = (__typeof__(var))dlsym(lib, #name)) == NULL) {                                        \
    printf("missing %s\n", #name);                                                                 \
    return 1;                                                                                      \
  }

int main(int argc, char **argv) {
  if (argc < 3) {
    printf("usage: wait_us_latency <library> <epoll|poll> [rounds]\n");
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (lib == NULL) {
    printf("cannot load %s: %s\n", argv[1], dlerror());
    return 1;
  }
  LOAD(poller_create, tofu_poller_create)
  LOAD(poller_destroy, tofu_poller_destroy)
  LOAD(poller_register, tofu_poller_register)
  LOAD(poller_wait_us, tofu_poller_wait_us)
  LOAD(tcp_listen, tofu_tcp_listen)
  LOAD(tcp_connect, tofu_tcp_connect)
  LOAD(local_port, tofu_local_port)
  LOAD(accept_sockets, tofu_accept)
  LOAD(send_bytes, tofu_send)
  LOAD(recv_bytes, tofu_recv)
  LOAD(close_socket, tofu_close)
  int32_t backend = strcmp(argv[2], "poll") == 0 ? TOFU_BACKEND_POLL : TOFU_BACKEND_EPOLL;
  rounds = argc > 3 ? atoi(argv[3]) : 2000;
  if (rounds < 10) rounds = 10;

  int32_t listener = tcp_listen((const uint8_t *)"127.0.0.1", 9, 0, 4);
  client = tcp_connect((const uint8_t *)"127.0.0.1", 9, local_port(listener));
  int32_t accepted[1];
  for (int i = 0; i < 1000 && accept_sockets(listener, accepted, 1) != 1; i++) usleep(1000);
  server = accepted[0];
  close_socket(listener, 1);
  poller = poller_create(backend);
  if (poller < 0 || client < 0 || server <= 0) {
    printf("setup failed: poller %d client %d server %d\n", poller, client, server);
    return 1;
  }
  poller_register(poller, server, 1, TOFU_INTEREST_READ);
  printf("backend %s, %d rounds\n", argv[2], rounds);

  int64_t *samples = calloc((size_t)rounds, sizeof *samples);
  int32_t events[128];
  uint8_t buf[16];
  pthread_t thread;
  pthread_create(&thread, NULL, sender, NULL);
  int missed = 0;
  for (int i = 0; i < rounds; i++) {
    int32_t n = 0;
    while (n == 0) n = poller_wait_us(poller, events, 64, 100000);
    samples[i] = now_ns() - atomic_load(&sent_at);
    if (recv_bytes(server, buf, 0, sizeof buf) != 1) missed++;
    atomic_store(&round_done, i + 1);
  }
  pthread_join(thread, NULL);
  report("send -> blocked wait_us(100 ms) returns", samples, rounds);
  if (missed > 0) printf("(%d rounds read other than 1 byte)\n", missed);

  int32_t timeouts[] = {20, 50, 100, 1000};
  for (size_t t = 0; t < sizeof timeouts / sizeof timeouts[0]; t++) {
    for (int i = 0; i < rounds; i++) {
      int64_t start = now_ns();
      poller_wait_us(poller, events, 64, timeouts[t]);
      samples[i] = now_ns() - start;
    }
    char what[64];
    snprintf(what, sizeof what, "empty wait_us(%d µs) takes", (int)timeouts[t]);
    report(what, samples, rounds);
  }
  free(samples);
  close_socket(client, 1);
  close_socket(server, 1);
  poller_destroy(poller);
  return 0;
}
