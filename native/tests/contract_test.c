/*
 * Contract test of the native library: the poller contract (S-113 a-j and
 * the rules of tofu.h), the socket contracts (S-112, N13, N17, N18) and bad
 * input. It loads the real library file at run time, so it tests exactly
 * the artefact that ships:
 *
 *   contract_test <library file> <backend: epoll | poll | wsapoll | afd | kqueue>
 *
 * Prints one line per case and closes with "N passed, M failed".
 */
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <afunix.h>
#else
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#endif

#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tofu.h"

/* sun_path size: paths need one byte less (their NUL). */
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
#define TOFU_UDS_MAX_TEST 104
#else
#define TOFU_UDS_MAX_TEST 108
#endif

/* ---- the library, resolved at run time ---------------------------------- */

/* Each call goes through a pointer typed from tofu.h's own prototype. */
#define TOFU_FUNCTIONS(X)                                                                          \
  X(tofu_abi_version)                                                                              \
  X(tofu_source_hash)                                                                              \
  X(tofu_backends)                                                                                 \
  X(tofu_default_backend)                                                                          \
  X(tofu_last_os_error)                                                                            \
  X(tofu_handle_count)                                                                             \
  X(tofu_poller_create)                                                                            \
  X(tofu_poller_backend)                                                                           \
  X(tofu_poller_destroy)                                                                           \
  X(tofu_poller_register)                                                                          \
  X(tofu_poller_modify)                                                                            \
  X(tofu_poller_unregister)                                                                        \
  X(tofu_poller_wait)                                                                              \
  X(tofu_poller_wait_us)                                                                           \
  X(tofu_poller_park)                                                                              \
  X(tofu_poller_wake)                                                                              \
  X(tofu_mask_bits)                                                                                \
  X(tofu_waiter_start)                                                                             \
  X(tofu_waiter_arm)                                                                               \
  X(tofu_waiter_gone)                                                                              \
  X(tofu_tcp_listen)                                                                               \
  X(tofu_tcp_connect)                                                                              \
  X(tofu_uds_listen)                                                                               \
  X(tofu_uds_connect)                                                                              \
  X(tofu_uds_path)                                                                                 \
  X(tofu_connect_check)                                                                            \
  X(tofu_accept)                                                                                   \
  X(tofu_send)                                                                                     \
  X(tofu_recv)                                                                                     \
  X(tofu_shutdown)                                                                                 \
  X(tofu_close)                                                                                    \
  X(tofu_local_port)                                                                               \
  X(tofu_sendv)                                                                                    \
  X(tofu_ring_start)                                                                               \
  X(tofu_ring_arm)

#define DECLARE_POINTER(name) static __typeof__(name) *p_##name;
TOFU_FUNCTIONS(DECLARE_POINTER)

/* From here on, tofu_x(...) calls the loaded library. */
#define tofu_abi_version (*p_tofu_abi_version)
#define tofu_source_hash (*p_tofu_source_hash)
#define tofu_backends (*p_tofu_backends)
#define tofu_default_backend (*p_tofu_default_backend)
#define tofu_last_os_error (*p_tofu_last_os_error)
#define tofu_handle_count (*p_tofu_handle_count)
#define tofu_poller_create (*p_tofu_poller_create)
#define tofu_poller_backend (*p_tofu_poller_backend)
#define tofu_poller_destroy (*p_tofu_poller_destroy)
#define tofu_poller_register (*p_tofu_poller_register)
#define tofu_poller_modify (*p_tofu_poller_modify)
#define tofu_poller_unregister (*p_tofu_poller_unregister)
#define tofu_poller_wait (*p_tofu_poller_wait)
#define tofu_poller_wait_us (*p_tofu_poller_wait_us)
#define tofu_poller_park (*p_tofu_poller_park)
#define tofu_poller_wake (*p_tofu_poller_wake)
#define tofu_mask_bits (*p_tofu_mask_bits)
#define tofu_waiter_start (*p_tofu_waiter_start)
#define tofu_waiter_arm (*p_tofu_waiter_arm)
#define tofu_waiter_gone (*p_tofu_waiter_gone)
#define tofu_tcp_listen (*p_tofu_tcp_listen)
#define tofu_tcp_connect (*p_tofu_tcp_connect)
#define tofu_uds_listen (*p_tofu_uds_listen)
#define tofu_uds_connect (*p_tofu_uds_connect)
#define tofu_uds_path (*p_tofu_uds_path)
#define tofu_connect_check (*p_tofu_connect_check)
#define tofu_accept (*p_tofu_accept)
#define tofu_send (*p_tofu_send)
#define tofu_recv (*p_tofu_recv)
#define tofu_shutdown (*p_tofu_shutdown)
#define tofu_close (*p_tofu_close)
#define tofu_local_port (*p_tofu_local_port)
#define tofu_sendv (*p_tofu_sendv)
#define tofu_ring_start (*p_tofu_ring_start)
#define tofu_ring_arm (*p_tofu_ring_arm)

static int load_library(const char *path) {
#if defined(_WIN32)
  HMODULE lib = LoadLibraryA(path);
  if (lib == NULL) {
    printf("cannot load %s (error %lu)\n", path, (unsigned long)GetLastError());
    return 0;
  }
#define RESOLVE(name) p_##name = (__typeof__(p_##name))(void *)GetProcAddress(lib, #name);
#else
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    printf("cannot load %s: %s\n", path, dlerror());
    return 0;
  }
#define RESOLVE(name) p_##name = (__typeof__(p_##name))dlsym(lib, #name);
#endif
  TOFU_FUNCTIONS(RESOLVE)
  int ok = 1;
#define REQUIRE(name)                                                                              \
  if (p_##name == NULL) {                                                                          \
    printf("missing export %s\n", #name);                                                          \
    ok = 0;                                                                                        \
  }
  TOFU_FUNCTIONS(REQUIRE)
  return ok;
}

/* ---- a tiny test runner -------------------------------------------------- */

static int case_failed;
static int passed, failed, skipped;
static const char *skip_reason;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      printf("    line %d: expected %s\n", __LINE__, #cond);                                       \
      case_failed = 1;                                                                             \
    }                                                                                              \
  } while (0)

#define CHECK_EQ(actual, expected)                                                                 \
  do {                                                                                             \
    long long actual_ = (long long)(actual), expected_ = (long long)(expected);                    \
    if (actual_ != expected_) {                                                                    \
      printf("    line %d: %s is %lld, expected %s = %lld\n", __LINE__, #actual, actual_,          \
             #expected, expected_);                                                                \
      case_failed = 1;                                                                             \
    }                                                                                              \
  } while (0)

/* Stops the case when a precondition fails (later checks would only cascade). */
#define REQUIRE_OK(value)                                                                          \
  do {                                                                                             \
    long long value_ = (long long)(value);                                                         \
    if (value_ < 0) {                                                                              \
      printf("    line %d: %s failed with %lld\n", __LINE__, #value, value_);                      \
      case_failed = 1;                                                                             \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

#define SKIP(reason)                                                                               \
  do {                                                                                             \
    skip_reason = (reason);                                                                        \
    return;                                                                                        \
  } while (0)

static void close_owned(void);

static void run_case(const char *name, void (*body)(void)) {
  case_failed = 0;
  skip_reason = NULL;
  body();
  close_owned();
  if (skip_reason != NULL && !case_failed) {
    skipped++;
    printf("skip %s: %s\n", name, skip_reason);
  } else if (case_failed) {
    failed++;
    printf("FAIL %s\n", name);
  } else {
    passed++;
    printf("ok   %s\n", name);
  }
  fflush(stdout);
}

/* ---- platform helpers ------------------------------------------------------ */

static void sleep_ms(int ms) {
#if defined(_WIN32)
  Sleep((DWORD)ms);
#else
  usleep((useconds_t)ms * 1000u);
#endif
}

/* Monotonic clock in microseconds. */
static int64_t now_us(void) {
#if defined(_WIN32)
  LARGE_INTEGER freq, count;
  QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&count);
  return count.QuadPart / freq.QuadPart * 1000000 +
         count.QuadPart % freq.QuadPart * 1000000 / freq.QuadPart;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
#endif
}

static unsigned process_id(void) {
#if defined(_WIN32)
  return (unsigned)GetCurrentProcessId();
#else
  return (unsigned)getpid();
#endif
}

/* A path for a UDS test that does not exist yet; returns its length. */
static int32_t test_path(char *out, size_t cap, const char *tag) {
  static unsigned counter;
#if defined(_WIN32)
  char dir[MAX_PATH + 1];
  DWORD len = GetTempPathA(sizeof dir, dir);
  if (len == 0) strcpy(dir, "C:\\");
  int n = snprintf(out, cap, "%stofu_ct_%u_%s_%u.sock", dir, process_id(), tag, counter++);
  DeleteFileA(out);
#else
  int n = snprintf(out, cap, "/tmp/tofu_ct_%u_%s_%u.sock", process_id(), tag, counter++);
  unlink(out);
#endif
  return (int32_t)n;
}

static int path_exists(const char *path) {
#if defined(_WIN32)
  return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES;
#else
  struct stat st;
  return lstat(path, &st) == 0;
#endif
}

static void remove_path(const char *path) {
#if defined(_WIN32)
  DeleteFileA(path);
#else
  unlink(path);
#endif
}

/* Leaves a socket file nobody listens on at path (a dead server's leftover). */
static int make_stale_socket(const char *path) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
#if defined(_WIN32)
  SOCKET s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (s == INVALID_SOCKET) return 0;
  int ok = bind(s, (struct sockaddr *)&addr, sizeof addr) == 0;
  closesocket(s);
#else
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (s < 0) return 0;
  int ok = bind(s, (struct sockaddr *)&addr, sizeof addr) == 0;
  close(s);
#endif
  return ok && path_exists(path);
}

/* Runs fn(arg) on a new thread; join_thread waits for it. */
#if defined(_WIN32)
typedef HANDLE thread_t;
struct thread_start {
  void (*fn)(void *);
  void *arg;
};
static DWORD WINAPI thread_main(LPVOID raw) {
  struct thread_start *start = raw;
  start->fn(start->arg);
  free(start);
  return 0;
}
static int start_thread(thread_t *t, void (*fn)(void *), void *arg) {
  struct thread_start *start = malloc(sizeof *start);
  start->fn = fn;
  start->arg = arg;
  *t = CreateThread(NULL, 0, thread_main, start, 0, NULL);
  return *t != NULL;
}
static void join_thread(thread_t t) {
  WaitForSingleObject(t, INFINITE);
  CloseHandle(t);
}
#else
typedef pthread_t thread_t;
struct thread_start {
  void (*fn)(void *);
  void *arg;
};
static void *thread_main(void *raw) {
  struct thread_start *start = raw;
  start->fn(start->arg);
  free(start);
  return NULL;
}
static int start_thread(thread_t *t, void (*fn)(void *), void *arg) {
  struct thread_start *start = malloc(sizeof *start);
  start->fn = fn;
  start->arg = arg;
  return pthread_create(t, NULL, thread_main, start) == 0;
}
static void join_thread(thread_t t) { pthread_join(t, NULL); }
#endif

/* ---- library helpers --------------------------------------------------------- */

static int32_t backend; /* the backend under test */
static int32_t bits[8]; /* its raw mask constants */
#define READ_BIT bits[0]
#define WRITE_BIT bits[1]
static int uds_supported = 1;
static const char *uds_skip_reason = "";

static const uint8_t *text(const char *s) { return (const uint8_t *)s; }
static int32_t len_of(const char *s) { return (int32_t)strlen(s); }

/* Waits up to timeout_ms for an event of token with any bit of want; returns
 * the OR of that token's masks seen (0 if none came). */
static int32_t wait_for(int32_t poller, int32_t token, int32_t want, int32_t timeout_ms) {
  int32_t events[64];
  int32_t seen = 0;
  for (int32_t waited = 0; waited <= timeout_ms; waited += 10) {
    int32_t n = tofu_poller_wait(poller, events, 32, 10);
    for (int32_t i = 0; i < n; i++) {
      if (events[2 * i] == token) seen |= events[2 * i + 1];
    }
    if (seen & want) return seen;
  }
  return seen;
}

/* Collects one wait's events: OR of masks per token in masks[token] (tokens
 * 0..15); returns the number of events. */
static int32_t wait_once(int32_t poller, int32_t masks[16], int32_t timeout_ms) {
  int32_t events[64];
  memset(masks, 0, 16 * sizeof masks[0]);
  int32_t n = tofu_poller_wait(poller, events, 32, timeout_ms);
  for (int32_t i = 0; i < n; i++) {
    int32_t token = events[2 * i];
    if (token >= 0 && token < 16) masks[token] |= events[2 * i + 1];
  }
  return n;
}

/* Finishes a connect: waits for writability and asks connect_check. */
static int32_t finish_connect(int32_t client) {
  int32_t p = tofu_poller_create(backend);
  if (p < 0) return p;
  tofu_poller_register(p, client, 99, TOFU_INTEREST_WRITE);
  int32_t result = TOFU_E_AGAIN;
  for (int i = 0; i < 300 && result == TOFU_E_AGAIN; i++) {
    wait_for(p, 99, -1, 10);
    result = tofu_connect_check(client);
  }
  tofu_poller_destroy(p);
  return result;
}

/* Accepts exactly one connection from listener (waiting up to 3 s). */
static int32_t accept_one(int32_t listener) {
  int32_t out[4];
  for (int i = 0; i < 300; i++) {
    int32_t n = tofu_accept(listener, out, 1);
    if (n == 1) return out[0];
    if (n < 0) return n;
    sleep_ms(10);
  }
  return TOFU_E_TIMEDOUT;
}

/* A connected loopback TCP pair; the listener is closed again. */
static int tcp_pair(int32_t *client, int32_t *server) {
  int32_t listener = tofu_tcp_listen(text("127.0.0.1"), 9, 0, 16);
  if (listener < 0) return 0;
  *client = tofu_tcp_connect(text("127.0.0.1"), 9, tofu_local_port(listener));
  int ok = *client > 0 && finish_connect(*client) == 0;
  *server = ok ? accept_one(listener) : -1;
  tofu_close(listener, 1);
  return ok && *server > 0;
}

/* Sends all len bytes (waiting for writability as needed). */
static int send_all(int32_t sock, const uint8_t *buf, int32_t len) {
  int32_t sent = 0;
  for (int spins = 0; sent < len && spins < 1000; spins++) {
    int32_t n = tofu_send(sock, buf, sent, len - sent);
    if (n > 0) sent += n;
    else if (n == TOFU_E_AGAIN) sleep_ms(1);
    else return 0;
  }
  return sent == len;
}

/* Receives exactly len bytes. */
static int recv_all(int32_t sock, uint8_t *buf, int32_t len) {
  int32_t got = 0;
  for (int spins = 0; got < len && spins < 3000; spins++) {
    int32_t n = tofu_recv(sock, buf, got, len - got);
    if (n > 0) got += n;
    else if (n == TOFU_E_AGAIN) sleep_ms(1);
    else return 0;
  }
  return got == len;
}

/* Receives until something other than "would block" (up to 3 s). */
static int32_t recv_result(int32_t sock, uint8_t *buf, int32_t len) {
  int32_t n = TOFU_E_AGAIN;
  for (int i = 0; i < 300 && n == TOFU_E_AGAIN; i++) {
    n = tofu_recv(sock, buf, 0, len);
    if (n == TOFU_E_AGAIN) sleep_ms(10);
  }
  return n;
}

/* ---- what a case opens, closed after it --------------------------------------- */
/* A case takes its poller from new_poller() and its TCP pairs from TCP_PAIR();
 * run_case closes whatever is still open after the case, also when a check
 * stopped it early. Closing what the case already closed is harmless: a
 * closed handle is never reused soon (tofu.h), it only gives TOFU_E_BADHANDLE. */
#define OWNED_MAX 32
static int32_t owned_pollers[OWNED_MAX], owned_sockets[OWNED_MAX];
static int owned_poller_count, owned_socket_count;

/* A new poller of the backend under test, destroyed after the case. */
static int32_t new_poller(void) {
  int32_t p = tofu_poller_create(backend);
  if (p > 0 && owned_poller_count < OWNED_MAX) owned_pollers[owned_poller_count++] = p;
  return p;
}

/* Keeps sock for closing after the case. */
static void own_socket(int32_t sock) {
  if (sock > 0 && owned_socket_count < OWNED_MAX) owned_sockets[owned_socket_count++] = sock;
}

/* A connected loopback TCP pair, closed after the case (see tcp_pair). */
static int owned_tcp_pair(int32_t *client, int32_t *server) {
  int ok = tcp_pair(client, server);
  own_socket(*client);
  own_socket(*server);
  return ok;
}

/* Sets c and s to a new connected loopback TCP pair, closed after the case;
 * a pair that cannot be made fails the case and stops it. */
#define NEW_TCP_PAIR(c, s)                                                                         \
  do {                                                                                             \
    if (!owned_tcp_pair(&(c), &(s))) {                                                             \
      CHECK(!"tcp pair");                                                                          \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

/* Declares c and s as a new pair (NEW_TCP_PAIR). */
#define TCP_PAIR(c, s)                                                                             \
  int32_t c, s;                                                                                    \
  NEW_TCP_PAIR(c, s)

/* Closes the sockets (abortively), then destroys the pollers, a case left open. */
static void close_owned(void) {
  while (owned_socket_count > 0) tofu_close(owned_sockets[--owned_socket_count], 1);
  while (owned_poller_count > 0) tofu_poller_destroy(owned_pollers[--owned_poller_count]);
}

/* ---- identity --------------------------------------------------------------------- */

static void test_identity(void) {
  CHECK_EQ(tofu_abi_version(), TOFU_ABI_VERSION);
  uint8_t hash[80];
  CHECK_EQ(tofu_source_hash(hash, 80), 64);
  int hex = 1;
  for (int i = 0; i < 64; i++) {
    if (!((hash[i] >= '0' && hash[i] <= '9') || (hash[i] >= 'a' && hash[i] <= 'f'))) hex = 0;
  }
  CHECK(hex);
  CHECK_EQ(tofu_source_hash(hash, 63), TOFU_E_INVAL);
  CHECK_EQ(tofu_source_hash(NULL, 64), TOFU_E_INVAL);
  int32_t mask = tofu_backends();
  CHECK(mask & (1 << backend));
  CHECK(mask & (1 << tofu_default_backend()));
  CHECK((mask & 1) == 0); /* DEFAULT is not a backend of its own */
}

static void test_mask_bits(void) {
  int32_t out[8];
  CHECK_EQ(tofu_mask_bits(backend, out, 8), 8);
  CHECK(out[0] != 0 && out[1] != 0 && out[0] != out[1]);
  CHECK_EQ(tofu_mask_bits(TOFU_BACKEND_DEFAULT, out, 8), 8);
  CHECK_EQ(tofu_mask_bits(backend, out, 7), TOFU_E_INVAL);
  CHECK_EQ(tofu_mask_bits(backend, NULL, 8), TOFU_E_INVAL);
  CHECK_EQ(tofu_mask_bits(99, out, 8), TOFU_E_INVAL);
  CHECK_EQ(tofu_mask_bits(-1, out, 8), TOFU_E_INVAL);
  for (int32_t id = TOFU_BACKEND_EPOLL; id <= TOFU_BACKEND_LAST; id++) {
    int32_t expected = (tofu_backends() & (1 << id)) ? 8 : TOFU_E_NOBACKEND;
    CHECK_EQ(tofu_mask_bits(id, out, 8), expected);
  }
}

static void test_poller_create(void) {
  CHECK_EQ(tofu_poller_create(99), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_create(-5), TOFU_E_INVAL);
  for (int32_t id = TOFU_BACKEND_EPOLL; id <= TOFU_BACKEND_LAST; id++) {
    if (tofu_backends() & (1 << id)) continue;
    CHECK_EQ(tofu_poller_create(id), TOFU_E_NOBACKEND);
  }
  int32_t p = new_poller();
  REQUIRE_OK(p);
  CHECK(p > 0);
  CHECK_EQ(tofu_poller_backend(p), backend);
  int32_t d = tofu_poller_create(TOFU_BACKEND_DEFAULT);
  REQUIRE_OK(d);
  CHECK_EQ(tofu_poller_backend(d), tofu_default_backend());
  CHECK(d != p);
  CHECK_EQ(tofu_poller_destroy(d), 0);
  CHECK_EQ(tofu_poller_destroy(p), 0);
  CHECK_EQ(tofu_poller_destroy(p), TOFU_E_BADHANDLE);
  CHECK_EQ(tofu_poller_backend(p), TOFU_E_BADHANDLE);
}

/* ---- S-113: the poller contract ------------------------------------------------------ */

/* (a) read interest, no data: the wait times out with nothing. */
static void test_a_no_data_times_out(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_poller_register(p, s, 1, TOFU_INTEREST_READ), 0);
  CHECK_EQ(wait_once(p, masks, 50), 0);
  uint8_t buf[8];
  CHECK_EQ(tofu_recv(s, buf, 0, 8), TOFU_E_AGAIN); /* would block, not EOF */
}

/* (b) the peer writes: read readiness with our token. */
static void test_b_peer_writes_readable(void) {
  int32_t p = new_poller();
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_poller_register(p, s, 7, TOFU_INTEREST_READ), 0);
  CHECK_EQ(tofu_send(c, text("x"), 0, 1), 1);
  CHECK(wait_for(p, 7, READ_BIT, 2000) & READ_BIT);
}

/* (c) write interest on a fresh connected socket: writable at once. */
static void test_c_fresh_socket_writable(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_poller_register(p, s, 3, TOFU_INTEREST_WRITE), 0);
  CHECK_EQ(wait_once(p, masks, 1000), 1);
  CHECK(masks[3] & WRITE_BIT);
  CHECK((masks[3] & READ_BIT) == 0);
}

/* (d) after unregister nothing is reported, even with data waiting. */
static void test_d_unregister_silences(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_poller_register(p, s, 1, TOFU_INTEREST_READ), 0);
  CHECK_EQ(tofu_send(c, text("x"), 0, 1), 1);
  CHECK(wait_for(p, 1, READ_BIT, 2000) & READ_BIT);
  CHECK_EQ(tofu_poller_unregister(p, s), 0);
  CHECK_EQ(wait_once(p, masks, 50), 0);
  CHECK_EQ(tofu_poller_unregister(p, s), 0); /* not registered: still fine */
}

/* (e) modify read -> write: write readiness only, though data is waiting. */
static void test_e_modify_read_to_write(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_poller_register(p, s, 2, TOFU_INTEREST_READ), 0);
  CHECK_EQ(tofu_send(c, text("x"), 0, 1), 1);
  CHECK(wait_for(p, 2, READ_BIT, 2000) & READ_BIT);
  CHECK_EQ(tofu_poller_modify(p, s, 2, TOFU_INTEREST_WRITE), 0);
  CHECK_EQ(wait_once(p, masks, 1000), 1);
  CHECK(masks[2] & WRITE_BIT);
  CHECK((masks[2] & READ_BIT) == 0);
  CHECK_EQ(tofu_poller_modify(p, s, 2, TOFU_INTEREST_READ | TOFU_INTEREST_WRITE), 0);
  CHECK_EQ(wait_once(p, masks, 1000), 1);
  CHECK((masks[2] & WRITE_BIT) && (masks[2] & READ_BIT));
}

/* (f) two sockets both written: both reported. */
static void test_f_two_sockets_readable(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  TCP_PAIR(c1, s1);
  TCP_PAIR(c2, s2);
  CHECK_EQ(tofu_poller_register(p, s1, 4, TOFU_INTEREST_READ), 0);
  CHECK_EQ(tofu_poller_register(p, s2, 5, TOFU_INTEREST_READ), 0);
  CHECK_EQ(tofu_send(c1, text("a"), 0, 1), 1);
  CHECK_EQ(tofu_send(c2, text("b"), 0, 1), 1);
  CHECK(wait_for(p, 4, READ_BIT, 2000) & READ_BIT);
  CHECK(wait_for(p, 5, READ_BIT, 2000) & READ_BIT);
  CHECK_EQ(wait_once(p, masks, 0), 2); /* level-triggered: both still there */
  CHECK((masks[4] & READ_BIT) && (masks[5] & READ_BIT));
}

/* (g) events carry exactly the token of the socket that is ready, and a
 * re-registration's new token replaces the old one. */
static void test_g_token_isolation(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  TCP_PAIR(c1, s1);
  TCP_PAIR(c2, s2);
  CHECK_EQ(tofu_poller_register(p, s1, 1, TOFU_INTEREST_READ), 0);
  CHECK_EQ(tofu_poller_register(p, s2, 2, TOFU_INTEREST_READ), 0);
  CHECK_EQ(tofu_send(c1, text("a"), 0, 1), 1);
  CHECK(wait_for(p, 1, READ_BIT, 2000) & READ_BIT);
  CHECK_EQ(wait_once(p, masks, 50), 1);
  CHECK(masks[1] & READ_BIT);
  CHECK_EQ(masks[2], 0);
  CHECK_EQ(tofu_poller_unregister(p, s1), 0);
  CHECK_EQ(tofu_poller_register(p, s1, 9, TOFU_INTEREST_READ), 0);
  CHECK_EQ(wait_once(p, masks, 1000), 1);
  CHECK(masks[9] & READ_BIT);
  CHECK_EQ(masks[1], 0);
}

/* (h) a listener with a pending client is readable (accept on). */
static void test_h_listener_accept_ready(void) {
  int32_t p = new_poller();
  REQUIRE_OK(p);
  int32_t l = tofu_tcp_listen(text("127.0.0.1"), 9, 0, 16);
  REQUIRE_OK(l);
  int32_t out[4];
  CHECK_EQ(tofu_accept(l, out, 4), 0); /* nobody yet: "none", not an error */
  CHECK_EQ(tofu_poller_register(p, l, 6, TOFU_INTEREST_READ), 0);
  int32_t masks[16];
  CHECK_EQ(wait_once(p, masks, 50), 0);
  int32_t c = tofu_tcp_connect(text("127.0.0.1"), 9, tofu_local_port(l));
  REQUIRE_OK(c);
  CHECK(wait_for(p, 6, READ_BIT, 2000) & READ_BIT);
  int32_t s = accept_one(l);
  CHECK(s > 0);
  tofu_close(s, 1);
  tofu_close(c, 1);
  tofu_close(l, 1);
}

/* (i) register twice acts as modify; modify before register acts as register. */
static void test_i_register_twice_and_modify_first(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_poller_modify(p, s, 1, TOFU_INTEREST_WRITE), 0);
  CHECK_EQ(wait_once(p, masks, 1000), 1);
  CHECK(masks[1] & WRITE_BIT);
  CHECK_EQ(tofu_poller_register(p, s, 2, TOFU_INTEREST_WRITE), 0);
  CHECK_EQ(tofu_poller_register(p, s, 2, TOFU_INTEREST_WRITE), 0);
  CHECK_EQ(wait_once(p, masks, 1000), 1); /* one registration, new token */
  CHECK(masks[2] & WRITE_BIT);
  CHECK_EQ(masks[1], 0);
  CHECK_EQ(tofu_poller_register(p, s, 2, 4), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_modify(p, s, 2, -1), TOFU_E_INVAL);
}

/* The waiter: what its callback was told, counted per event. */
static _Atomic int waiter_ready_calls, waiter_stopped_calls, waiter_last_poller;

static void count_waiter_event(int32_t poller, int32_t event) {
  atomic_store(&waiter_last_poller, poller);
  if (event == TOFU_WAITER_READY) atomic_fetch_add(&waiter_ready_calls, 1);
  if (event == TOFU_WAITER_STOPPED) atomic_fetch_add(&waiter_stopped_calls, 1);
}

/* Polls `counter` until it reaches `want` or ms pass. */
static int reaches(_Atomic int *counter, int want, int ms) {
  for (int i = 0; i < ms && atomic_load(counter) < want; i++) sleep_ms(1);
  return atomic_load(counter) >= want;
}

/* The waiter calls back once per arm when something is ready, never unarmed,
 * and once more with STOPPED when its poller is destroyed; then it is gone. */
static void test_waiter(void) {
  atomic_store(&waiter_ready_calls, 0);
  atomic_store(&waiter_stopped_calls, 0);
  int32_t p = new_poller();
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_waiter_arm(p), TOFU_E_INVAL); /* no waiter yet */
  CHECK_EQ(tofu_waiter_start(p, NULL), TOFU_E_INVAL);
  int32_t id = tofu_waiter_start(p, count_waiter_event);
  CHECK(id >= 0);
  CHECK_EQ(tofu_waiter_start(p, count_waiter_event), TOFU_E_INVAL); /* one per poller */
  CHECK_EQ(tofu_waiter_gone(id), 0);
  CHECK_EQ(tofu_poller_register(p, s, 3, TOFU_INTEREST_READ), 0);
  CHECK_EQ(tofu_waiter_arm(p), 0);
  sleep_ms(30);
  CHECK_EQ(atomic_load(&waiter_ready_calls), 0); /* nothing ready: no call */
  CHECK_EQ(tofu_send(c, text("x"), 0, 1), 1);
  CHECK(reaches(&waiter_ready_calls, 1, 10000));
  CHECK_EQ(atomic_load(&waiter_last_poller), p);
  sleep_ms(30);
  CHECK_EQ(atomic_load(&waiter_ready_calls), 1); /* still ready, but not armed: no call */
  CHECK_EQ(tofu_waiter_arm(p), 0);
  CHECK(reaches(&waiter_ready_calls, 2, 10000)); /* level-triggered: ready at once */
  sleep_ms(30);
  CHECK_EQ(atomic_load(&waiter_ready_calls), 2);
  uint8_t buf[8];
  CHECK_EQ(tofu_recv(s, buf, 0, 8), 1);
  CHECK_EQ(tofu_waiter_arm(p), 0);
  CHECK_EQ(tofu_poller_wake(p), 0); /* a wake counts as ready too */
  CHECK(reaches(&waiter_ready_calls, 3, 10000));
  int32_t w[4];
  tofu_poller_wait(p, w, 2, 0);    /* consume the wake */
  CHECK_EQ(tofu_waiter_arm(p), 0); /* armed and parked when destroyed */
  sleep_ms(10);
  CHECK_EQ(tofu_poller_destroy(p), 0);
  CHECK(reaches(&waiter_stopped_calls, 1, 10000));
  CHECK_EQ(atomic_load(&waiter_ready_calls), 3);
  int gone = 0;
  for (int i = 0; i < 10000 && gone == 0; i++) {
    gone = tofu_waiter_gone(id);
    if (gone == 0) sleep_ms(1);
  }
  CHECK_EQ(gone, 1);
  CHECK_EQ(tofu_waiter_gone(id), TOFU_E_INVAL); /* the number is released */
  CHECK_EQ(tofu_waiter_arm(p), TOFU_E_BADHANDLE);
}

#if defined(__linux__)
/* Reads what arrived on the ring's notify socket within ms: bytes, or 0. */
static int32_t ring_bytes(int32_t reader, int ms) {
  uint8_t buf[16];
  for (int i = 0; i <= ms; i++) {
    int32_t n = tofu_recv(reader, buf, 0, (int32_t)sizeof buf);
    if (n > 0) {
      for (int32_t k = 0; k < n; k++) CHECK_EQ(buf[k], 1);
      return n;
    }
    if (n != TOFU_E_AGAIN) return n;
    if (i < ms) sleep_ms(1);
  }
  return 0;
}
#endif

/* The kernel wake (ABI 5): one byte on the notify socket per arm, sent by the
 * kernel once the poller has something ready or is woken. */
static void test_ring(void) {
#if defined(__linux__)
  int32_t p = new_poller();
  REQUIRE_OK(p);
  CHECK_EQ(tofu_ring_arm(p), TOFU_E_INVAL); /* no ring yet */
  char name[64];
  int n = snprintf(name + 1, sizeof name - 1, "tofu-ring-%u", process_id());
  name[0] = '\0';
  int32_t l = tofu_uds_listen((const uint8_t *)name, n + 1, 4);
  REQUIRE_OK(l);
  int32_t notify = tofu_uds_connect((const uint8_t *)name, n + 1);
  REQUIRE_OK(notify);
  int32_t reader = accept_one(l);
  REQUIRE_OK(reader);
  CHECK_EQ(tofu_ring_start(p, l), TOFU_E_INVAL); /* a listener cannot be told */
  int32_t code = tofu_ring_start(p, notify);
  if (code == TOFU_E_UNSUPPORTED) {
    tofu_poller_destroy(p);
    tofu_close(reader, 1);
    tofu_close(notify, 1);
    tofu_close(l, 1);
    SKIP("no kernel wake here (no io_uring, or a backend without a descriptor of its own)");
  }
  CHECK_EQ(code, 0);
  CHECK_EQ(tofu_ring_start(p, notify), TOFU_E_INVAL);           /* one per poller */
  CHECK_EQ(tofu_waiter_start(p, count_waiter_event), TOFU_E_INVAL); /* not beside a waiter */
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_poller_register(p, s, 3, TOFU_INTEREST_READ), 0);
  CHECK_EQ(tofu_ring_arm(p), 0);
  CHECK_EQ(ring_bytes(reader, 30), 0); /* nothing ready: nothing sent */
  CHECK_EQ(tofu_send(c, text("x"), 0, 1), 1);
  CHECK_EQ(ring_bytes(reader, 10000), 1);
  CHECK_EQ(ring_bytes(reader, 30), 0); /* still ready, but not armed again */
  CHECK_EQ(tofu_ring_arm(p), 0);
  CHECK_EQ(ring_bytes(reader, 10000), 1); /* level-triggered: at once */
  CHECK_EQ(ring_bytes(reader, 30), 0);
  uint8_t buf[8];
  CHECK_EQ(tofu_recv(s, buf, 0, 8), 1);
  CHECK_EQ(tofu_ring_arm(p), 0);
  CHECK_EQ(tofu_ring_arm(p), 0); /* a second arm before the byte changes nothing */
  CHECK_EQ(ring_bytes(reader, 30), 0);
  CHECK_EQ(tofu_send(c, text("y"), 0, 1), 1);
  CHECK_EQ(ring_bytes(reader, 10000), 1);
  CHECK_EQ(ring_bytes(reader, 30), 0);
  CHECK_EQ(tofu_recv(s, buf, 0, 8), 1);
  CHECK_EQ(tofu_ring_arm(p), 0);
  CHECK_EQ(ring_bytes(reader, 30), 0);
  CHECK_EQ(tofu_poller_wake(p), 0); /* a wake counts as ready too */
  CHECK_EQ(ring_bytes(reader, 10000), 1);
  int32_t w[4];
  tofu_poller_wait(p, w, 2, 0);    /* consume the wake */
  CHECK_EQ(tofu_ring_arm(p), 0); /* armed when destroyed: the arm is cancelled */
  CHECK_EQ(tofu_poller_destroy(p), 0);
  CHECK_EQ(tofu_ring_arm(p), TOFU_E_BADHANDLE);
  CHECK_EQ(tofu_close(notify, 1), 0);
  CHECK_EQ(tofu_close(reader, 1), 0);
  CHECK_EQ(tofu_close(l, 1), 0);
#else
  int32_t p = new_poller();
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_ring_start(p, c), TOFU_E_UNSUPPORTED);
  (void)s;
  SKIP("the kernel wake is Linux-only (refusal checked)");
#endif
}

/* (j) the wake: nothing -> timeout; a wake -> a park returns 1 and the next
 * wait consumes it without reporting it; then timeouts again. */
static void test_j_wake(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  CHECK_EQ(tofu_poller_park(p, 100), 0);
  CHECK_EQ(wait_once(p, masks, 100), 0);
  CHECK_EQ(tofu_poller_wake(p), 0);
  CHECK_EQ(tofu_poller_park(p, 1000), 1);
  CHECK_EQ(tofu_poller_park(p, 1000), 1); /* park consumes nothing */
  CHECK_EQ(wait_once(p, masks, 1000), 0); /* consumed, not reported */
  CHECK_EQ(tofu_poller_park(p, 100), 0);
  for (int i = 0; i < 5; i++) CHECK_EQ(tofu_poller_wake(p), 0); /* coalesce */
  CHECK_EQ(wait_once(p, masks, -1), 0);
  CHECK_EQ(tofu_poller_park(p, 100), 0);
  CHECK_EQ(tofu_poller_destroy(p), 0);
}

struct park_job {
  int32_t poller;
  int32_t timeout_ms;
  int32_t result;
};

static void park_thread(void *raw) {
  struct park_job *job = raw;
  job->result = tofu_poller_park(job->poller, job->timeout_ms);
}

static void wake_thread(void *raw) {
  struct park_job *job = raw;
  sleep_ms(50);
  job->result = tofu_poller_wake(job->poller);
}

/* A wake from another thread ends a park (or wait) that waits forever. */
static void test_wake_from_other_thread(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  struct park_job park = {p, -1, -100}, waker = {p, 0, -100};
  thread_t t1, t2;
  CHECK(start_thread(&t1, park_thread, &park));
  CHECK(start_thread(&t2, wake_thread, &waker));
  join_thread(t1);
  join_thread(t2);
  CHECK_EQ(park.result, 1);
  CHECK_EQ(waker.result, 0);
  CHECK_EQ(wait_once(p, masks, 0), 0);
  CHECK(start_thread(&t2, wake_thread, &waker));
  CHECK_EQ(wait_once(p, masks, -1), 0); /* a woken wait returns 0 */
  join_thread(t2);
}

/* A wake meant for a park is not lost to a wait(0) the driving thread makes
 * meanwhile (the engine peeks with wait(0) while its park is pending). */
static void test_wake_reaches_park_despite_waits(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  struct park_job park = {p, 3000, -100};
  thread_t t;
  CHECK(start_thread(&t, park_thread, &park));
  sleep_ms(200); /* let the park begin */
  CHECK_EQ(tofu_poller_wake(p), 0);
  for (int i = 0; i < 20; i++) CHECK_EQ(wait_once(p, masks, 0), 0);
  join_thread(t);
  CHECK_EQ(park.result, 1);            /* 0 would mean the wake was drained under it */
  CHECK_EQ(wait_once(p, masks, 0), 0); /* now the wait consumes it */
  CHECK_EQ(tofu_poller_park(p, 50), 0);
}

/* Interest changes made while another thread parks are seen by the park. */
static void test_park_sees_interest_changes(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_send(c, text("x"), 0, 1), 1);
  sleep_ms(20);
  CHECK_EQ(tofu_poller_register(p, s, 1, 0), 0); /* registered, no interest */
  struct park_job park = {p, 5000, -100};
  thread_t t;
  CHECK(start_thread(&t, park_thread, &park));
  sleep_ms(100);
  CHECK_EQ(tofu_poller_modify(p, s, 1, TOFU_INTEREST_READ), 0);
  join_thread(t);
  CHECK_EQ(park.result, 1);            /* not 0: the 5 s timeout did not run out */
  CHECK_EQ(wait_once(p, masks, 0), 1); /* the park consumed nothing */
  CHECK(masks[1] & READ_BIT);
  /* A fresh register (not a modify) is seen too. */
  int32_t c2, s2;
  NEW_TCP_PAIR(c2, s2);
  CHECK_EQ(tofu_poller_modify(p, s, 1, 0), 0);
  struct park_job park2 = {p, 5000, -100};
  CHECK(start_thread(&t, park_thread, &park2));
  sleep_ms(100);
  CHECK_EQ(tofu_poller_register(p, s2, 2, TOFU_INTEREST_WRITE), 0);
  join_thread(t);
  CHECK_EQ(park2.result, 1);
  CHECK_EQ(wait_once(p, masks, 0), 1);
  CHECK(masks[2] & WRITE_BIT);
  tofu_close(c, 1);
  tofu_close(s, 1);
  tofu_close(c2, 1);
  tofu_close(s2, 1);
}

/* Interest 0 reports nothing at all, not even hang-up or error. */
static void test_interest_zero_is_silent(void) {
  int32_t p = new_poller(), masks[16];
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_poller_register(p, s, 1, 0), 0);
  CHECK_EQ(tofu_send(c, text("x"), 0, 1), 1);
  CHECK_EQ(tofu_close(c, 1), 0); /* RST: error and hang-up on s */
  sleep_ms(50);
  CHECK_EQ(wait_once(p, masks, 100), 0);
  CHECK_EQ(tofu_poller_park(p, 50), 0);
  CHECK_EQ(tofu_poller_modify(p, s, 1, TOFU_INTEREST_READ), 0);
  CHECK(wait_for(p, 1, -1, 1000) != 0);
  CHECK_EQ(tofu_poller_modify(p, s, 1, 0), 0);
  CHECK_EQ(wait_once(p, masks, 50), 0);
}

/* More ready sockets than capacity: the rest come with the next wait. */
static void test_capacity_limits_batch(void) {
  int32_t p = new_poller(), c[3], s[3];
  REQUIRE_OK(p);
  for (int i = 0; i < 3; i++) {
    if (!tcp_pair(&c[i], &s[i])) {
      CHECK(!"tcp pair");
      return;
    }
    CHECK_EQ(tofu_poller_register(p, s[i], i, TOFU_INTEREST_WRITE), 0);
  }
  int32_t events[8];
  CHECK_EQ(tofu_poller_wait(p, events, 1, 1000), 1);
  CHECK_EQ(tofu_poller_wake(p), 0); /* a pending wake does not cost a slot */
  CHECK_EQ(tofu_poller_wait(p, events, 3, 1000), 3);
  for (int i = 0; i < 3; i++) {
    tofu_close(c[i], 1);
    tofu_close(s[i], 1);
  }
}

/* Close unregisters; a socket belongs to one poller; destroy ends a park and
 * leaves its sockets open and unregistered. */
static void test_ownership_close_and_destroy(void) {
  int32_t p = tofu_poller_create(backend), q = tofu_poller_create(backend), c, s, masks[16];
  REQUIRE_OK(p);
  REQUIRE_OK(q);
  if (!tcp_pair(&c, &s)) {
    CHECK(!"tcp pair");
    return;
  }
  CHECK_EQ(tofu_poller_register(p, s, 1, TOFU_INTEREST_WRITE), 0);
  CHECK_EQ(tofu_poller_register(q, s, 1, TOFU_INTEREST_WRITE), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_unregister(q, s), 0);
  CHECK_EQ(tofu_poller_register(p, c, 2, TOFU_INTEREST_WRITE), 0);
  CHECK_EQ(tofu_close(c, 1), 0);
  CHECK_EQ(wait_once(p, masks, 100), 1);
  CHECK_EQ(masks[2], 0);
  CHECK(masks[1] != 0);

  struct park_job park = {p, -1, -100};
  thread_t t;
  CHECK_EQ(tofu_poller_modify(p, s, 1, 0), 0);
  CHECK(start_thread(&t, park_thread, &park));
  sleep_ms(50);
  CHECK_EQ(tofu_poller_destroy(p), 0);
  join_thread(t);
  CHECK(park.result == 1 || park.result == TOFU_E_BADHANDLE);
  CHECK_EQ(tofu_poller_wake(p), TOFU_E_BADHANDLE);
  CHECK_EQ(tofu_poller_park(p, 0), TOFU_E_BADHANDLE);
  CHECK_EQ(tofu_poller_register(p, s, 1, TOFU_INTEREST_READ), TOFU_E_BADHANDLE);
  /* The socket survived and is free to join another poller. */
  CHECK_EQ(tofu_poller_register(q, s, 5, TOFU_INTEREST_WRITE), 0);
  CHECK(wait_for(q, 5, -1, 1000) != 0);
  tofu_close(s, 1);
  tofu_poller_destroy(q);
}

/* ---- tofu_poller_wait_us ------------------------------------------------------------- */

/* Generous bounds: these cases pin behaviour, not speed. */
#define WAIT_US_AT_ONCE 50000 /* "returns at once": well under 50 ms */

/* 1 when the backend under test can sleep less than a millisecond (tofu.h:
 * poll outside Linux and WSAPoll turn such waits into a peek). */
static int sub_ms_waits(void) {
#if defined(__linux__)
  return 1;
#else
  return backend == TOFU_BACKEND_KQUEUE;
#endif
}

/* One tofu_poller_wait_us into masks (as wait_once); *took gets its length in µs. */
static int32_t wait_us_once(int32_t poller, int32_t masks[16], int32_t timeout_us, int64_t *took) {
  int32_t events[64];
  memset(masks, 0, 16 * sizeof masks[0]);
  int64_t start = now_us();
  int32_t n = tofu_poller_wait_us(poller, events, 32, timeout_us);
  *took = now_us() - start;
  for (int32_t i = 0; i < n; i++) {
    int32_t token = events[2 * i];
    if (token >= 0 && token < 16) masks[token] |= events[2 * i + 1];
  }
  return n;
}

/* Nothing ready: a peek returns 0 at once; 500 µs and 2500 µs waits time out
 * with 0 after about that long (sub-ms waits are peeks where the OS cannot
 * sleep less than a millisecond). */
static void test_wait_us_times_out(void) {
  int32_t p = new_poller(), masks[16];
  int64_t took;
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_poller_register(p, s, 1, TOFU_INTEREST_READ), 0);
  CHECK_EQ(wait_us_once(p, masks, 0, &took), 0);
  CHECK(took < WAIT_US_AT_ONCE);
  CHECK_EQ(wait_us_once(p, masks, 500, &took), 0);
  if (sub_ms_waits()) CHECK(took >= 200);
  CHECK(took < WAIT_US_AT_ONCE);
  CHECK_EQ(wait_us_once(p, masks, 2500, &took), 0);
  CHECK(took >= 1000);
  CHECK(took < WAIT_US_AT_ONCE);
  uint8_t buf[8];
  CHECK_EQ(tofu_recv(s, buf, 0, 8), TOFU_E_AGAIN); /* nothing came meanwhile */
}

struct send_job {
  int32_t sock;
  int32_t result;
};

static void send_later_thread(void *raw) {
  struct send_job *job = raw;
  sleep_ms(50);
  job->result = tofu_send(job->sock, text("x"), 0, 1);
}

/* A ready socket ends the wait at once, with its token; so does data that
 * arrives while the wait blocks (another thread sends). */
static void test_wait_us_ready(void) {
  int32_t p = new_poller(), masks[16];
  int64_t took;
  REQUIRE_OK(p);
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_poller_register(p, c, 2, TOFU_INTEREST_WRITE), 0);
  CHECK_EQ(wait_us_once(p, masks, 5000000, &took), 1);
  CHECK(masks[2] & WRITE_BIT);
  CHECK(took < WAIT_US_AT_ONCE);
  CHECK_EQ(tofu_poller_unregister(p, c), 0);

  CHECK_EQ(tofu_poller_register(p, s, 3, TOFU_INTEREST_READ), 0);
  struct send_job job = {c, -100};
  thread_t t;
  CHECK(start_thread(&t, send_later_thread, &job));
  CHECK_EQ(wait_us_once(p, masks, 5000000, &took), 1); /* 5 s: ended by the data */
  join_thread(t);
  CHECK_EQ(job.result, 1);
  CHECK(masks[3] & READ_BIT);
  CHECK(took < 2500000);
}

/* A pending wake ends a wait_us and is consumed, not reported; a wake meant
 * for a park in progress is left to the park, as tofu_poller_wait does. */
static void test_wait_us_wake(void) {
  int32_t p = tofu_poller_create(backend), masks[16];
  int64_t took;
  REQUIRE_OK(p);
  CHECK_EQ(tofu_poller_wake(p), 0);
  CHECK_EQ(wait_us_once(p, masks, 5000000, &took), 0);
  CHECK(took < WAIT_US_AT_ONCE);
  CHECK_EQ(tofu_poller_park(p, 50), 0); /* consumed */
  CHECK_EQ(tofu_poller_wake(p), 0);
  CHECK_EQ(wait_us_once(p, masks, 0, &took), 0); /* a peek consumes it too */
  CHECK_EQ(tofu_poller_park(p, 50), 0);
  CHECK_EQ(tofu_poller_wake(p), 0);
  CHECK_EQ(wait_us_once(p, masks, -1, &took), 0); /* forever, ended by the wake */

  struct park_job park = {p, 3000, -100};
  thread_t t;
  CHECK(start_thread(&t, park_thread, &park));
  sleep_ms(200); /* let the park begin */
  CHECK_EQ(tofu_poller_wake(p), 0);
  for (int i = 0; i < 20; i++) CHECK_EQ(wait_us_once(p, masks, i % 2 == 0 ? 0 : 100, &took), 0);
  join_thread(t);
  CHECK_EQ(park.result, 1);                      /* 0 would mean the wake was drained under it */
  CHECK_EQ(wait_us_once(p, masks, 0, &took), 0); /* now the wait consumes it */
  CHECK_EQ(tofu_poller_park(p, 50), 0);
  tofu_poller_destroy(p);
}

/* Bad arguments are refused as tofu_poller_wait refuses them. */
static void test_wait_us_bad_input(void) {
  int32_t p = new_poller(), events[8];
  REQUIRE_OK(p);
  CHECK_EQ(tofu_poller_wait_us(p, events, 4, -2), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_wait_us(p, events, 4, (int32_t)0x80000000), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_wait_us(p, NULL, 4, 0), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_wait_us(p, events, 0, 0), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_wait_us(p, events, -1, 0), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_destroy(p), 0);
  CHECK_EQ(tofu_poller_wait_us(p, events, 4, 0), TOFU_E_BADHANDLE);
  CHECK_EQ(tofu_poller_wait_us(p, events, 4, -2), TOFU_E_INVAL); /* arguments first */
}

/* ---- close during a park ------------------------------------------------------------ */

/* Binds a plain OS socket (not the library's) to 127.0.0.1:port, listens
 * when asked, and closes it again; returns 0 or the OS error number. POSIX
 * sets SO_REUSEADDR as servers do; Windows sets SO_EXCLUSIVEADDRUSE, as
 * tofu's listeners do there (SO_REUSEADDR would take even a live port). */
static int plain_bind(int32_t port, int then_listen) {
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int err = 0;
#if defined(_WIN32)
  SOCKET fd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (fd == INVALID_SOCKET) return (int)WSAGetLastError();
  BOOL on = TRUE;
  if (setsockopt(fd, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&on, sizeof on) != 0 ||
      bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || (then_listen && listen(fd, 4) != 0)) {
    err = (int)WSAGetLastError();
  }
  closesocket(fd);
#else
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return errno;
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || (then_listen && listen(fd, 4) != 0)) {
    err = errno;
  }
  close(fd);
#endif
  return err;
}

/* Rounds per close-during-park case: without the fix a single round loses
 * the race only most of the time (the park wakes within tens of µs). */
#define CLOSE_DURING_PARK_ROUNDS 10

/* Starts a park that waits forever on p and gives it time to enter the OS
 * wait, so the socket closed next is inside the park's descriptor set. */
static int start_park(thread_t *t, struct park_job *job, int32_t p) {
  job->poller = p;
  job->timeout_ms = -1;
  job->result = -100;
  if (!start_thread(t, park_thread, job)) return 0;
  sleep_ms(20);
  return 1;
}

/* Closes sock while parked on p; odd rounds unregister it first, as the
 * engine does (the park may still watch it all the same). */
static void close_while_parked(int32_t p, int32_t sock, int round) {
  if (round % 2 == 1) CHECK_EQ(tofu_poller_unregister(p, sock), 0);
  CHECK_EQ(tofu_close(sock, 1), 0);
}

/* Ends the park started by start_park and checks it was woken, not broken. */
static void end_park(thread_t t, struct park_job *job) {
  CHECK_EQ(tofu_poller_wake(job->poller), 0);
  join_thread(t);
  CHECK_EQ(job->result, 1);
}

/* A TCP listener closed (or unregistered, then closed) while another thread
 * parks on its poller frees its port before tofu_close returns (poll(2) pins the open file while it waits,
 * so the poll backends must not release it under a running park). */
static void test_close_listener_during_park(void) {
  for (int round = 0; round < CLOSE_DURING_PARK_ROUNDS && !case_failed; round++) {
    int32_t p = tofu_poller_create(backend);
    REQUIRE_OK(p);
    int32_t l = tofu_tcp_listen(text("127.0.0.1"), 9, 0, 16);
    REQUIRE_OK(l);
    int32_t port = tofu_local_port(l);
    CHECK_EQ(tofu_poller_register(p, l, 1, TOFU_INTEREST_READ), 0);
    struct park_job park;
    thread_t t;
    if (!start_park(&t, &park, p)) {
      CHECK(!"park thread");
      return;
    }
    close_while_parked(p, l, round);
    int err = plain_bind(port, 1); /* at once: no sleep, no retry */
    if (err != 0)
      printf("    round %d: listen on port %d again gave OS error %d\n", round, (int)port, err);
    CHECK_EQ(err, 0);
    end_park(t, &park);
    tofu_poller_destroy(p);
  }
}

/* A data socket closed abortively while parked on: its port is free before
 * tofu_close returns and the peer sees the reset promptly. */
static void test_abortive_close_during_park(void) {
  for (int round = 0; round < CLOSE_DURING_PARK_ROUNDS && !case_failed; round++) {
    int32_t p = tofu_poller_create(backend), c, s;
    REQUIRE_OK(p);
    if (!tcp_pair(&c, &s)) {
      CHECK(!"tcp pair");
      return;
    }
    int32_t port = tofu_local_port(c); /* the client's ephemeral port */
    CHECK_EQ(tofu_poller_register(p, c, 1, TOFU_INTEREST_READ), 0);
    struct park_job park;
    thread_t t;
    if (!start_park(&t, &park, p)) {
      CHECK(!"park thread");
      return;
    }
    close_while_parked(p, c, round);
    /* An open socket owns its port; an aborted one leaves no TIME_WAIT. */
    int err = plain_bind(port, 0);
    if (err != 0) printf("    round %d: bind to port %d gave OS error %d\n", round, (int)port, err);
    CHECK_EQ(err, 0);
    uint8_t buf[8];
    int32_t n = TOFU_E_AGAIN;
    for (int waited = 0; waited < 100 && n == TOFU_E_AGAIN; waited++) {
      n = tofu_recv(s, buf, 0, 8);
      if (n == TOFU_E_AGAIN) sleep_ms(1);
    }
#if defined(_WIN32)
    CHECK(n == TOFU_E_CONNRESET || n == 0); /* Wine 8 closes orderly whatever SO_LINGER says */
#else
    CHECK_EQ(n, TOFU_E_CONNRESET);
#endif
    end_park(t, &park);
    tofu_close(s, 1);
    tofu_poller_destroy(p);
  }
}

/* ---- S-112: sockets --------------------------------------------------------------- */

static void test_tcp_bad_addresses(void) {
  static const char *bad[] = {"1.2.3",        "abc",        "1.2.3.4.5", "::1::2",   "[::1]",
                              "127.0.0.1:80", " 127.0.0.1", "256.1.1.1", "localhost"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_EQ(tofu_tcp_listen(text(bad[i]), len_of(bad[i]), 0, 16), TOFU_E_BADADDR);
    CHECK_EQ(tofu_tcp_connect(text(bad[i]), len_of(bad[i]), 80), TOFU_E_BADADDR);
  }
  CHECK_EQ(tofu_tcp_listen((const uint8_t *)"127.0\0.0.1", 10, 0, 16), TOFU_E_BADADDR);
  char huge[1000];
  memset(huge, '1', sizeof huge);
  CHECK_EQ(tofu_tcp_listen(text(huge), (int32_t)sizeof huge, 0, 16), TOFU_E_BADADDR);
  CHECK_EQ(tofu_tcp_listen(NULL, 3, 0, 16), TOFU_E_INVAL);
  CHECK_EQ(tofu_tcp_listen(text("127.0.0.1"), -1, 0, 16), TOFU_E_INVAL);
  CHECK_EQ(tofu_tcp_listen(text("127.0.0.1"), 9, -1, 16), TOFU_E_INVAL);
  CHECK_EQ(tofu_tcp_listen(text("127.0.0.1"), 9, 65536, 16), TOFU_E_INVAL);
  CHECK_EQ(tofu_tcp_listen(text("127.0.0.1"), 9, 0, -1), TOFU_E_INVAL);
  CHECK_EQ(tofu_tcp_connect(text("127.0.0.1"), 9, 0), TOFU_E_INVAL);
  CHECK_EQ(tofu_tcp_connect(text("127.0.0.1"), 9, 70000), TOFU_E_INVAL);
  CHECK_EQ(tofu_tcp_connect(NULL, 9, 80), TOFU_E_INVAL);
}

static void test_tcp_listen_connect_round_trip(void) {
  int32_t l = tofu_tcp_listen(text(""), 0, 0, 16); /* empty = 0.0.0.0 */
  REQUIRE_OK(l);
  int32_t port = tofu_local_port(l);
  CHECK(port > 0 && port <= 65535);
  int32_t c = tofu_tcp_connect(text("127.0.0.1"), 9, port);
  REQUIRE_OK(c);
  CHECK_EQ(finish_connect(c), 0);
  CHECK_EQ(tofu_connect_check(c), 0);
  int32_t s = accept_one(l);
  REQUIRE_OK(s);
  CHECK_EQ(tofu_local_port(s), port);
  CHECK(tofu_local_port(c) > 0);
  uint8_t out[1000], in[1000];
  for (int i = 0; i < 1000; i++) out[i] = (uint8_t)(i * 7 + 3);
  CHECK(send_all(c, out, 1000));
  CHECK(recv_all(s, in, 1000));
  CHECK(memcmp(in, out, 1000) == 0);
  CHECK(send_all(s, out, 1000));
  memset(in, 0, sizeof in);
  CHECK(recv_all(c, in, 1000));
  CHECK(memcmp(in, out, 1000) == 0);
  tofu_close(c, 1);
  tofu_close(s, 1);
  tofu_close(l, 1);
}

static void test_tcp_offsets(void) {
  TCP_PAIR(c, s);
  uint8_t buf[16];
  memset(buf, '.', sizeof buf);
  CHECK_EQ(tofu_send(c, text("xxabyy"), 2, 2), 2);
  int32_t n = TOFU_E_AGAIN;
  for (int i = 0; i < 300 && n == TOFU_E_AGAIN; i++) {
    n = tofu_recv(s, buf, 5, 2);
    if (n == TOFU_E_AGAIN) sleep_ms(10);
  }
  CHECK_EQ(n, 2);
  CHECK(memcmp(buf, ".....ab.", 8) == 0);
}

/* tofu_sendv with the same buffer in every slot but `first` and `second`. */
static int32_t sendv2(int32_t sock, const int32_t *segs, int32_t nsegs, const uint8_t *first,
                      const uint8_t *second) {
  const uint8_t *a = first, *b = second;
  return tofu_sendv(sock, segs, nsegs, a, b, a, a, a, a, a, a, a, a, a, a, a, a, a, b);
}

static void test_sendv_gathers_in_order(void) {
  TCP_PAIR(c, s);
  const uint8_t *head = text("[header]");
  const uint8_t *body = text("0123456789");
  /* Slot 0 "[he", slot 1 "2345", an empty piece, slot 15 (= body) "89", slot 0 "der]". */
  int32_t segs[] = {0, 0, 3, 1, 2, 4, 0, 5, 0, 15, 8, 2, 0, 4, 4};
  CHECK_EQ(sendv2(c, segs, 5, head, body), 13);
  uint8_t in[16] = {0};
  CHECK(recv_all(s, in, 13));
  CHECK(memcmp(in, "[he234589der]", 13) == 0);
  CHECK_EQ(sendv2(c, segs, 0, head, body), 0); /* nothing to send */
}

static void test_sendv_many_pieces_and_short_writes(void) {
  TCP_PAIR(c, s);
  /* 64 pieces of 64 KiB from two buffers until the socket is full: a short
   * write or TOFU_E_AGAIN, never an error; what arrives is the stream in order. */
  enum { PIECE = 65536, PIECES = TOFU_SENDV_MAX_SEGS };
  uint8_t *a = malloc(PIECE), *b = malloc(PIECE), *in = malloc(PIECE);
  for (int i = 0; i < PIECE; i++) {
    a[i] = (uint8_t)i;
    b[i] = (uint8_t)(i * 3 + 1);
  }
  int32_t segs[3 * PIECES];
  for (int i = 0; i < PIECES; i++) {
    segs[3 * i] = i % 2;
    segs[3 * i + 1] = 0;
    segs[3 * i + 2] = PIECE;
  }
  int32_t n = sendv2(c, segs, PIECES, a, b);
  CHECK(n > 0 && n < PIECE * PIECES); /* loopback buffers are smaller than 4 MiB */
  int32_t more = sendv2(c, segs, PIECES, a, b);
  CHECK(more == TOFU_E_AGAIN || more > 0);
  int32_t checked = 0;
  int ok = 1;
  while (ok && checked + PIECE <= n) {
    ok = recv_all(s, in, PIECE);
    if (ok) ok = memcmp(in, (checked / PIECE) % 2 == 0 ? a : b, PIECE) == 0;
    checked += PIECE;
  }
  CHECK(ok);
  free(a);
  free(b);
  free(in);
}

static void test_sendv_bad_input(void) {
  TCP_PAIR(c, s);
  const uint8_t *x = text("x");
  int32_t bad_slot[] = {16, 0, 1};
  int32_t neg_slot[] = {-1, 0, 1};
  int32_t neg_off[] = {0, -1, 1};
  int32_t neg_len[] = {0, 0, -1};
  int32_t huge[] = {0, 0, INT32_MAX, 0, 0, 1};
  int32_t one[] = {0, 0, 1};
  CHECK_EQ(sendv2(c, bad_slot, 1, x, x), TOFU_E_INVAL);
  CHECK_EQ(sendv2(c, neg_slot, 1, x, x), TOFU_E_INVAL);
  CHECK_EQ(sendv2(c, neg_off, 1, x, x), TOFU_E_INVAL);
  CHECK_EQ(sendv2(c, neg_len, 1, x, x), TOFU_E_INVAL);
  CHECK_EQ(sendv2(c, huge, 2, x, x), TOFU_E_INVAL); /* more than INT32_MAX in all */
  CHECK_EQ(sendv2(c, one, -1, x, x), TOFU_E_INVAL);
  CHECK_EQ(sendv2(c, one, TOFU_SENDV_MAX_SEGS + 1, x, x), TOFU_E_INVAL);
  CHECK_EQ(sendv2(c, NULL, 1, x, x), TOFU_E_INVAL);
  CHECK_EQ(sendv2(c, one, 1, NULL, x), TOFU_E_INVAL);
  CHECK_EQ(sendv2(-5, one, 1, x, x), TOFU_E_BADHANDLE);
  int32_t l = tofu_tcp_listen(text("127.0.0.1"), 9, 0, 16);
  REQUIRE_OK(l);
  CHECK_EQ(sendv2(l, one, 1, x, x), TOFU_E_INVAL); /* a listener sends nothing */
  tofu_close(l, 1);
  tofu_close(s, 1); /* abortive: the peer is reset */
  int32_t r = TOFU_E_AGAIN;
  for (int i = 0; i < 300 && (r >= 0 || r == TOFU_E_AGAIN); i++) {
    r = sendv2(c, one, 1, x, x);
    if (r >= 0 || r == TOFU_E_AGAIN) sleep_ms(10);
  }
  CHECK(r == TOFU_E_PIPE || r == TOFU_E_CONNRESET);
}

static void test_tcp_ipv6(void) {
  int32_t l = tofu_tcp_listen(text("::1"), 3, 0, 16);
  if (l == TOFU_E_AFNOSUPPORT || l == TOFU_E_ADDRNOTAVAIL) SKIP("no IPv6 loopback here");
  REQUIRE_OK(l);
  int32_t c = tofu_tcp_connect(text("::1"), 3, tofu_local_port(l));
  REQUIRE_OK(c);
  CHECK_EQ(finish_connect(c), 0);
  int32_t s = accept_one(l);
  CHECK(s > 0);
  tofu_close(c, 1);
  tofu_close(s, 1);
  tofu_close(l, 1);
}

/* N17: SO_REUSEADDR only, so a second listener on a live ip:port fails. */
static void test_n17_second_listener_fails(void) {
  int32_t l = tofu_tcp_listen(text("127.0.0.1"), 9, 0, 16);
  REQUIRE_OK(l);
  int32_t port = tofu_local_port(l);
  CHECK_EQ(tofu_tcp_listen(text("127.0.0.1"), 9, port, 16), TOFU_E_ADDRINUSE);
  CHECK(tofu_last_os_error() != 0); /* EADDRINUSE / WSAEADDRINUSE, for diagnostics */
  /* A connection closed orderly leaves TIME_WAIT; the port is still reusable. */
  int32_t c = tofu_tcp_connect(text("127.0.0.1"), 9, port);
  CHECK_EQ(finish_connect(c), 0);
  int32_t s = accept_one(l);
  CHECK(s > 0);
  tofu_close(s, 0);
  tofu_close(c, 0);
  CHECK_EQ(tofu_close(l, 1), 0);
  int32_t again = tofu_tcp_listen(text("127.0.0.1"), 9, port, 16);
  CHECK(again > 0);
  tofu_close(again, 1);
}

static void test_connect_refused(void) {
  int32_t l = tofu_tcp_listen(text("127.0.0.1"), 9, 0, 16);
  REQUIRE_OK(l);
  int32_t port = tofu_local_port(l);
  tofu_close(l, 1);
  int32_t c = tofu_tcp_connect(text("127.0.0.1"), 9, port);
  if (c == TOFU_E_CONNREFUSED) return; /* refused at once: fine too */
  REQUIRE_OK(c);
  CHECK_EQ(finish_connect(c), TOFU_E_CONNREFUSED);
  CHECK_EQ(tofu_connect_check(c), TOFU_E_CONNREFUSED); /* remembered */
  tofu_close(c, 1);
}

/* The poller itself reports a refused connect (WSAPoll before Windows 10 2004
 * never did: such a connect waited forever): a park ends, a wait names the
 * socket, and the check then reads the refusal. */
static void test_connect_refused_reported(void) {
  int32_t l = tofu_tcp_listen(text("127.0.0.1"), 9, 0, 16);
  REQUIRE_OK(l);
  int32_t port = tofu_local_port(l);
  tofu_close(l, 1);
  int32_t c = tofu_tcp_connect(text("127.0.0.1"), 9, port);
  if (c == TOFU_E_CONNREFUSED) return; /* refused at once: nothing to poll */
  REQUIRE_OK(c);
  int32_t p = new_poller();
  REQUIRE_OK(p);
  CHECK_EQ(tofu_poller_register(p, c, 5, TOFU_INTEREST_WRITE), 0);
  CHECK_EQ(tofu_poller_park(p, 5000), 1);
  CHECK(wait_for(p, 5, -1, 1000) != 0);
  CHECK_EQ(tofu_connect_check(c), TOFU_E_CONNREFUSED);
  CHECK_EQ(tofu_poller_destroy(p), 0);
  tofu_close(c, 1);
}

static void test_accept_many(void) {
  int32_t l = tofu_tcp_listen(text("127.0.0.1"), 9, 0, 64);
  REQUIRE_OK(l);
  int32_t port = tofu_local_port(l), clients[5], got[8], total = 0;
  for (int i = 0; i < 5; i++) {
    clients[i] = tofu_tcp_connect(text("127.0.0.1"), 9, port);
    CHECK_EQ(finish_connect(clients[i]), 0);
  }
  for (int i = 0; i < 300 && total < 5; i++) {
    int32_t n = tofu_accept(l, got + total, 8 - total);
    CHECK(n >= 0);
    if (n < 0) break;
    total += n;
    if (total < 5) sleep_ms(10);
  }
  CHECK_EQ(total, 5);
  CHECK_EQ(tofu_accept(l, got, 8), 0);
  for (int i = 0; i < total; i++) CHECK_EQ(tofu_close(got[i], 1), 0);
  for (int i = 0; i < 5; i++) tofu_close(clients[i], 1);
  tofu_close(l, 1);
}

/* Orderly close gives the peer EOF; abortive close gives it a reset; a send
 * to a gone peer fails cleanly (and raises no SIGPIPE). */
static void test_close_modes_and_eof(void) {
  uint8_t buf[64];
  TCP_PAIR(c, s);
  CHECK_EQ(tofu_send(c, text("bye"), 0, 3), 3);
  CHECK_EQ(tofu_close(c, 0), 0);
  CHECK_EQ(recv_result(s, buf, 64), 3);
  CHECK_EQ(recv_result(s, buf, 64), 0); /* EOF */
  tofu_close(s, 1);

  NEW_TCP_PAIR(c, s);
  CHECK_EQ(tofu_close(c, 1), 0);
#if defined(_WIN32)
  /* Windows resets; Wine 8 closes orderly whatever SO_LINGER says. */
  int32_t after_abort = recv_result(s, buf, 64);
  CHECK(after_abort == TOFU_E_CONNRESET || after_abort == 0);
#else
  CHECK_EQ(recv_result(s, buf, 64), TOFU_E_CONNRESET);
#endif
  int32_t code = 0;
  for (int i = 0; i < 100 && code >= 0; i++) code = tofu_send(s, buf, 0, 64);
  CHECK(code == TOFU_E_PIPE || code == TOFU_E_CONNRESET);
  tofu_close(s, 1);

  NEW_TCP_PAIR(c, s);
  CHECK_EQ(tofu_shutdown(c, 1), 0);
  CHECK_EQ(recv_result(s, buf, 64), 0);
  CHECK_EQ(tofu_send(s, text("late"), 0, 4), 4); /* the other direction lives */
  CHECK_EQ(recv_result(c, buf, 64), 4);
  CHECK_EQ(tofu_send(c, text("no"), 0, 2), TOFU_E_PIPE); /* and no SIGPIPE */
  CHECK_EQ(tofu_shutdown(c, 3), TOFU_E_INVAL);
  CHECK_EQ(tofu_shutdown(c, -1), TOFU_E_INVAL);
}

/* ---- UDS -------------------------------------------------------------------------- */

#define NEED_UDS()                                                                                 \
  do {                                                                                             \
    if (!uds_supported) SKIP(uds_skip_reason);                                                     \
  } while (0)

static void test_uds_temp_path_round_trip(void) {
  NEED_UDS();
  int32_t l = tofu_uds_listen(NULL, 0, 16);
  REQUIRE_OK(l);
  char path[200];
  int32_t len = tofu_uds_path(l, (uint8_t *)path, (int32_t)sizeof path - 1);
  REQUIRE_OK(len);
  path[len] = '\0';
  CHECK(len > 0 && len < TOFU_UDS_MAX_TEST);
  CHECK(path_exists(path));
  CHECK_EQ(tofu_uds_path(l, (uint8_t *)path, len - 1), TOFU_E_INVAL);
  CHECK_EQ(tofu_local_port(l), TOFU_E_INVAL);
  int32_t l2 = tofu_uds_listen(NULL, 0, 16);
  char path2[200];
  int32_t len2 = tofu_uds_path(l2, (uint8_t *)path2, (int32_t)sizeof path2);
  CHECK(len2 != len || memcmp(path, path2, (size_t)len) != 0); /* fresh each time */
  tofu_close(l2, 1);

  int32_t c = tofu_uds_connect((const uint8_t *)path, len);
  REQUIRE_OK(c);
  CHECK_EQ(finish_connect(c), 0);
  int32_t s = accept_one(l);
  REQUIRE_OK(s);
  uint8_t out[1000], in[1000];
  for (int i = 0; i < 1000; i++) out[i] = (uint8_t)(i * 13 + 1);
  CHECK(send_all(c, out, 1000));
  CHECK(recv_all(s, in, 1000));
  CHECK(memcmp(in, out, 1000) == 0);
  CHECK_EQ(tofu_recv(s, in, 0, 10), TOFU_E_AGAIN);
  tofu_close(c, 1);
  tofu_close(s, 1);
  CHECK_EQ(tofu_close(l, 1), 0);
  CHECK(!path_exists(path)); /* the listener removed its file */
}

static void test_uds_missing_and_stale(void) {
  NEED_UDS();
#if defined(_WIN32)
  char missing[200];
  int32_t mlen = test_path(missing, sizeof missing, "missing");
  CHECK_EQ(tofu_uds_connect((const uint8_t *)missing, mlen), TOFU_E_NOENT);
#else
  const char *missing = "/tmp/tofu_no_such_socket_xyz.sock";
  CHECK_EQ(tofu_uds_connect(text(missing), len_of(missing)), TOFU_E_NOENT);
#endif
  char path[200];
  int32_t len = test_path(path, sizeof path, "stale");
  if (!make_stale_socket(path)) {
    CHECK(!"could not leave a stale socket file");
    return;
  }
  int32_t c = tofu_uds_connect((const uint8_t *)path, len);
  if (c > 0) {
    CHECK_EQ(finish_connect(c), TOFU_E_CONNREFUSED);
    tofu_close(c, 1);
  } else {
    CHECK_EQ(c, TOFU_E_CONNREFUSED);
  }
  /* N18: a stale socket file is removed and the path reused. */
  int32_t l = tofu_uds_listen((const uint8_t *)path, len, 16);
  REQUIRE_OK(l);
  c = tofu_uds_connect((const uint8_t *)path, len);
  CHECK(c > 0 && finish_connect(c) == 0);
  tofu_close(c, 1);
  tofu_close(l, 1);
  CHECK(!path_exists(path));
}

/* N18: a live listener's path is not taken, and it keeps working. */
static void test_n18_live_path_refused(void) {
  NEED_UDS();
  char path[200];
  int32_t len = test_path(path, sizeof path, "live");
  int32_t l = tofu_uds_listen((const uint8_t *)path, len, 16);
  REQUIRE_OK(l);
  CHECK_EQ(tofu_uds_listen((const uint8_t *)path, len, 16), TOFU_E_ADDRINUSE);
  CHECK(path_exists(path));
  int32_t c = tofu_uds_connect((const uint8_t *)path, len);
  CHECK(c > 0 && finish_connect(c) == 0);
  int32_t s = accept_one(l); /* the probe's connection may come first */
  CHECK(s > 0);
  tofu_close(s, 1);
  tofu_close(c, 1);
  tofu_close(l, 1);
  CHECK(!path_exists(path));
}

/* N18: a path that is not a socket is refused and left untouched. */
static void test_n18_regular_file_untouched(void) {
  NEED_UDS();
  char path[200];
  int32_t len = test_path(path, sizeof path, "file");
  FILE *f = fopen(path, "wb");
  REQUIRE_OK(f == NULL ? -1 : 0);
  fputs("keep me", f);
  fclose(f);
  CHECK_EQ(tofu_uds_listen((const uint8_t *)path, len, 16), TOFU_E_NOTSOCK);
  char content[16] = {0};
  f = fopen(path, "rb");
  CHECK(f != NULL);
  if (f != NULL) {
    CHECK_EQ(fread(content, 1, sizeof content - 1, f), 7);
    fclose(f);
  }
  CHECK(strcmp(content, "keep me") == 0);
  int32_t c = tofu_uds_connect((const uint8_t *)path, len);
  CHECK(c < 0 || finish_connect(c) < 0);
  if (c > 0) tofu_close(c, 1);
  remove_path(path);
}

/* N13: close unlinks the path only while it is still this listener's file. */
static void test_n13_close_spares_new_owner(void) {
  NEED_UDS();
  char path[200];
  int32_t len = test_path(path, sizeof path, "owner");
  int32_t first = tofu_uds_listen((const uint8_t *)path, len, 16);
  REQUIRE_OK(first);
  remove_path(path); /* someone removes it, and a new server takes the path */
  int32_t second = tofu_uds_listen((const uint8_t *)path, len, 16);
  REQUIRE_OK(second);
  CHECK_EQ(tofu_close(first, 1), 0);
  CHECK(path_exists(path));
  int32_t c = tofu_uds_connect((const uint8_t *)path, len);
  CHECK(c > 0 && finish_connect(c) == 0);
  tofu_close(c, 1);
  CHECK_EQ(tofu_close(second, 1), 0);
  CHECK(!path_exists(path));
}

static void test_uds_path_limits(void) {
  NEED_UDS();
  char path[300];
  int32_t limit = TOFU_UDS_MAX_TEST; /* sun_path size: 108 or 104 */
  memset(path, 'a', sizeof path);
  CHECK_EQ(tofu_uds_listen((const uint8_t *)path, limit, 16), TOFU_E_NAMETOOLONG);
  CHECK_EQ(tofu_uds_connect((const uint8_t *)path, limit), TOFU_E_NAMETOOLONG);
  CHECK_EQ(tofu_uds_listen((const uint8_t *)path, 250, 16), TOFU_E_NAMETOOLONG);
  CHECK_EQ(tofu_uds_connect((const uint8_t *)path, 250), TOFU_E_NAMETOOLONG);
  CHECK_EQ(tofu_uds_connect((const uint8_t *)path, 0), TOFU_E_INVAL);
  CHECK_EQ(tofu_uds_connect(NULL, 5), TOFU_E_INVAL);
  CHECK_EQ(tofu_uds_listen(NULL, 5, 16), TOFU_E_INVAL);
  CHECK_EQ(tofu_uds_listen((const uint8_t *)path, -1, 16), TOFU_E_INVAL);
  CHECK_EQ(tofu_uds_listen((const uint8_t *)"/tmp/a\0b", 8, 16), TOFU_E_INVAL);
  /* The longest path that fits (limit - 1 bytes) works. */
  int32_t len = test_path(path, sizeof path, "long");
  path[len - 5] = '\0';
  int32_t room = limit - 1 - (int32_t)strlen(path) - 5;
  if (room > 0) {
    size_t at = strlen(path);
    memset(path + at, 'x', (size_t)room);
    strcpy(path + at + room, ".sock");
    CHECK_EQ((int32_t)strlen(path), limit - 1);
    int32_t l = tofu_uds_listen((const uint8_t *)path, limit - 1, 16);
    CHECK(l > 0);
    if (l > 0) tofu_close(l, 1);
    CHECK(!path_exists(path));
  }
}

static void test_uds_abstract(void) {
#if defined(__linux__)
  char name[64];
  int n = snprintf(name + 1, sizeof name - 1, "tofu-contract-%u", process_id());
  name[0] = '\0';
  int32_t len = n + 1;
  int32_t l = tofu_uds_listen((const uint8_t *)name, len, 16);
  REQUIRE_OK(l);
  CHECK_EQ(tofu_uds_listen((const uint8_t *)name, len, 16), TOFU_E_ADDRINUSE);
  uint8_t back[64];
  CHECK_EQ(tofu_uds_path(l, back, 64), len);
  CHECK(memcmp(back, name, (size_t)len) == 0);
  int32_t c = tofu_uds_connect((const uint8_t *)name, len);
  CHECK(c > 0 && finish_connect(c) == 0);
  int32_t s = accept_one(l);
  CHECK(s > 0);
  tofu_close(s, 1);
  tofu_close(c, 1);
  tofu_close(l, 1);
#else
  uint8_t name[8] = {0, 'x', 'y'};
  CHECK_EQ(tofu_uds_listen(name, 3, 16), TOFU_E_AFNOSUPPORT);
  SKIP("abstract names are Linux-only (refusal checked)");
#endif
}

/* ---- bad input ------------------------------------------------------------------------ */

static void test_bad_handles(void) {
  int32_t p = new_poller();
  REQUIRE_OK(p);
  int32_t l = tofu_tcp_listen(text("127.0.0.1"), 9, 0, 16);
  REQUIRE_OK(l);
  int32_t bogus[] = {0, -1, -2, 1, 12345, 0x7fffffff, (int32_t)0x80000000, p};
  uint8_t buf[16];
  int32_t out[4];
  for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
    int32_t h = bogus[i];
    CHECK_EQ(tofu_send(h, buf, 0, 1), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_recv(h, buf, 0, 1), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_accept(h, out, 4), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_connect_check(h), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_shutdown(h, 2), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_local_port(h), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_uds_path(h, buf, 16), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_close(h, 1), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_poller_register(p, h, 1, 1), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_poller_unregister(p, h), TOFU_E_BADHANDLE);
  }
  int32_t socket_handles[] = {0, -1, 12345, l};
  int32_t events[8];
  for (size_t i = 0; i < sizeof socket_handles / sizeof socket_handles[0]; i++) {
    int32_t h = socket_handles[i];
    CHECK_EQ(tofu_poller_backend(h), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_poller_wait(h, events, 4, 0), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_poller_wait_us(h, events, 4, 0), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_poller_park(h, 0), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_poller_wake(h), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_poller_register(h, l, 1, 1), TOFU_E_BADHANDLE);
    CHECK_EQ(tofu_poller_destroy(h), TOFU_E_BADHANDLE);
  }
  /* Wrong socket role. */
  CHECK_EQ(tofu_send(l, buf, 0, 1), TOFU_E_INVAL);
  CHECK_EQ(tofu_recv(l, buf, 0, 1), TOFU_E_INVAL);
  CHECK_EQ(tofu_connect_check(l), TOFU_E_INVAL);
  CHECK_EQ(tofu_uds_path(l, buf, 16), TOFU_E_INVAL);
  int32_t c, s;
  if (tcp_pair(&c, &s)) {
    CHECK_EQ(tofu_accept(s, out, 4), TOFU_E_INVAL);
    CHECK_EQ(tofu_close(c, 1), 0);
    CHECK_EQ(tofu_close(c, 1), TOFU_E_BADHANDLE); /* double close */
    CHECK_EQ(tofu_send(c, buf, 0, 1), TOFU_E_BADHANDLE);
    /* A closed handle is not handed out again at once. */
    int32_t fresh = tofu_tcp_listen(text("127.0.0.1"), 9, 0, 16);
    CHECK(fresh > 0 && fresh != c);
    CHECK_EQ(tofu_send(c, buf, 0, 1), TOFU_E_BADHANDLE);
    tofu_close(fresh, 1);
    tofu_close(s, 1);
  } else {
    CHECK(!"tcp pair");
  }
  tofu_close(l, 1);
  CHECK_EQ(tofu_poller_destroy(p), 0);
  CHECK_EQ(tofu_poller_destroy(p), TOFU_E_BADHANDLE);
  CHECK_EQ(tofu_poller_wake(p), TOFU_E_BADHANDLE); /* wake after destroy */
  CHECK_EQ(tofu_poller_wait(p, events, 4, 0), TOFU_E_BADHANDLE);
}

static void test_bad_buffers(void) {
  TCP_PAIR(c, s);
  uint8_t buf[16];
  CHECK_EQ(tofu_send(c, buf, 0, 0), 0);
  CHECK_EQ(tofu_recv(s, buf, 0, 0), TOFU_E_INVAL);
  CHECK_EQ(tofu_send(c, NULL, 0, 4), TOFU_E_INVAL);
  CHECK_EQ(tofu_recv(s, NULL, 0, 4), TOFU_E_INVAL);
  CHECK_EQ(tofu_send(c, buf, -1, 4), TOFU_E_INVAL);
  CHECK_EQ(tofu_recv(s, buf, 0, -4), TOFU_E_INVAL);
  CHECK_EQ(tofu_send(c, buf, 0x7fffff00, 0x1000), TOFU_E_INVAL); /* off + len overflows */
  CHECK_EQ(tofu_recv(s, buf, 0x7fffffff, 0x7fffffff), TOFU_E_INVAL);
  int32_t out[4];
  CHECK_EQ(tofu_accept(c, NULL, 4), TOFU_E_INVAL);
  CHECK_EQ(tofu_accept(c, out, 0), TOFU_E_INVAL);
  int32_t p = new_poller();
  REQUIRE_OK(p);
  int32_t events[8];
  CHECK_EQ(tofu_poller_wait(p, NULL, 4, 0), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_wait(p, events, 0, 0), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_wait(p, events, -1, 0), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_wait(p, events, 4, -2), TOFU_E_INVAL);
  CHECK_EQ(tofu_poller_park(p, -7), TOFU_E_INVAL);
  CHECK_EQ(tofu_uds_path(c, NULL, 16), TOFU_E_INVAL);
  tofu_poller_destroy(p);
}

/* ---- leaks --------------------------------------------------------------------------- */

static int32_t open_descriptors(void) {
#if defined(_WIN32)
  DWORD count = 0;
  GetProcessHandleCount(GetCurrentProcess(), &count);
  return (int32_t)count;
#else
  int32_t count = 0;
  DIR *dir = opendir("/proc/self/fd");
  if (dir != NULL) {
    for (struct dirent *e = readdir(dir); e != NULL; e = readdir(dir)) count++;
    closedir(dir);
    return count;
  }
  for (int fd = 0; fd < 4096; fd++) {
    if (fcntl(fd, F_GETFD) != -1) count++;
  }
  return count;
#endif
}

static int32_t descriptors_at_start;
static int32_t handles_at_start;

static void test_no_leaks(void) {
  CHECK_EQ(tofu_handle_count(), handles_at_start);
#if defined(_WIN32)
  /* Wine's handle count is not exact; the tofu handle table is. */
  printf("    process handles: %d at start, %d now\n", (int)descriptors_at_start,
         (int)open_descriptors());
#else
  CHECK_EQ(open_descriptors(), descriptors_at_start);
#endif
}

/* ---- main ---------------------------------------------------------------------------- */

static int32_t backend_id(const char *name) {
  if (strcmp(name, "epoll") == 0) return TOFU_BACKEND_EPOLL;
  if (strcmp(name, "kqueue") == 0) return TOFU_BACKEND_KQUEUE;
  if (strcmp(name, "poll") == 0) return TOFU_BACKEND_POLL;
  if (strcmp(name, "wsapoll") == 0) return TOFU_BACKEND_WSAPOLL;
  if (strcmp(name, "afd") == 0) return TOFU_BACKEND_AFD;
  if (strcmp(name, "default") == 0) return TOFU_BACKEND_DEFAULT;
  return -1;
}

/* Probes AF_UNIX once (Wine may lack it). */
static void detect_uds(void) {
  int32_t l = tofu_uds_listen(NULL, 0, 4);
  if (l > 0) {
    tofu_close(l, 1);
    return;
  }
  uds_supported = 0;
  static char reason[120];
  snprintf(reason, sizeof reason, "AF_UNIX unavailable here (uds_listen gave %d, OS error %d)",
           (int)l, (int)tofu_last_os_error());
  uds_skip_reason = reason;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc != 3 || backend_id(argv[2]) < 0) {
    printf("usage: contract_test <library> <epoll|poll|wsapoll|afd|kqueue|default>\n");
    return 2;
  }
#if !defined(_WIN32)
  signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill the test: it must never come */
#else
  WSADATA wsa;
  WSAStartup(MAKEWORD(2, 2), &wsa);
#endif
  if (!load_library(argv[1])) {
    printf("0 passed, 1 failed\n");
    return 1;
  }
  backend = backend_id(argv[2]);
  if (backend == TOFU_BACKEND_DEFAULT) backend = tofu_default_backend();
  if (tofu_mask_bits(backend, bits, 8) != 8) {
    printf("backend %s is not in this library\n0 passed, 1 failed\n", argv[2]);
    return 1;
  }
  printf("contract test: %s, backend %s\n", argv[1], argv[2]);
  detect_uds();
  descriptors_at_start = open_descriptors();
  handles_at_start = tofu_handle_count();

  run_case("identity: abi version, source hash, backends", test_identity);
  run_case("identity: mask bits", test_mask_bits);
  run_case("poller: create, backend, destroy", test_poller_create);
  run_case("S-113 a: read interest without data times out", test_a_no_data_times_out);
  run_case("S-113 b: peer writes -> readable", test_b_peer_writes_readable);
  run_case("S-113 c: fresh socket is writable at once", test_c_fresh_socket_writable);
  run_case("S-113 d: unregister silences the socket", test_d_unregister_silences);
  run_case("S-113 e: modify read -> write", test_e_modify_read_to_write);
  run_case("S-113 f: two readable sockets both reported", test_f_two_sockets_readable);
  run_case("S-113 g: tokens are isolated", test_g_token_isolation);
  run_case("S-113 h: listener with pending client is readable", test_h_listener_accept_ready);
  run_case("S-113 i: register twice, modify before register",
           test_i_register_twice_and_modify_first);
  run_case("S-113 j: wake, park, consume, coalesce", test_j_wake);
  run_case("waiter: one call per arm, a last call when stopped", test_waiter);
  run_case("kernel wake: one byte per arm, sent by the kernel", test_ring);
  run_case("poller: wake from another thread", test_wake_from_other_thread);
  run_case("poller: a wake reaches the park despite wait(0) calls",
           test_wake_reaches_park_despite_waits);
  run_case("poller: park sees interest changes", test_park_sees_interest_changes);
  run_case("poller: interest 0 reports nothing", test_interest_zero_is_silent);
  run_case("poller: capacity limits a batch", test_capacity_limits_batch);
  run_case("poller: ownership, close, destroy during park", test_ownership_close_and_destroy);
  run_case("wait_us: peek, 500 us and 2500 us waits time out", test_wait_us_times_out);
  run_case("wait_us: a ready socket ends the wait at once", test_wait_us_ready);
  run_case("wait_us: wakes consumed, a park's wake left to it", test_wait_us_wake);
  run_case("wait_us: bad arguments", test_wait_us_bad_input);
  run_case("close during park: a TCP listener's port is free at once",
           test_close_listener_during_park);
  run_case("close during park: an aborted socket's port is free, the peer reset",
           test_abortive_close_during_park);
  run_case("S-112: malformed TCP addresses and ports", test_tcp_bad_addresses);
  run_case("S-112: TCP listen, connect, 1000-byte round trip", test_tcp_listen_connect_round_trip);
  run_case("sockets: send/recv offsets", test_tcp_offsets);
  run_case("sockets: sendv gathers pieces of several buffers in order",
           test_sendv_gathers_in_order);
  run_case("sockets: sendv with many pieces writes short, never fails",
           test_sendv_many_pieces_and_short_writes);
  run_case("sockets: sendv rejects bad pieces, handles and a reset peer", test_sendv_bad_input);
  run_case("sockets: IPv6 loopback", test_tcp_ipv6);
  run_case("N17: second TCP listener on a live port fails", test_n17_second_listener_fails);
  run_case("sockets: connect refused", test_connect_refused);
  run_case("sockets: a refused connect is reported by the poller", test_connect_refused_reported);
  run_case("sockets: accept many at once", test_accept_many);
  run_case("sockets: orderly/abortive close, EOF, reset, shutdown", test_close_modes_and_eof);
  run_case("S-112: UDS temp path, round trip, file removed", test_uds_temp_path_round_trip);
  run_case("S-112: UDS missing path and stale socket", test_uds_missing_and_stale);
  run_case("N18: live UDS path refused", test_n18_live_path_refused);
  run_case("N18: regular file refused and untouched", test_n18_regular_file_untouched);
  run_case("N13: close spares a path taken over", test_n13_close_spares_new_owner);
  run_case("UDS path limits and malformed paths", test_uds_path_limits);
  run_case("UDS abstract names", test_uds_abstract);
  run_case("bad input: invalid, closed, wrong-kind handles", test_bad_handles);
  run_case("bad input: zero, null, huge buffers", test_bad_buffers);
  run_case("no leaked handles or descriptors", test_no_leaks);

  if (skipped > 0) printf("(%d skipped)\n", skipped);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
