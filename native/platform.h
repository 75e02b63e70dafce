/*
 * Platform layer shared by every native source: OS headers, the descriptor
 * type, a mutex, a condition variable and the monotonic clock. Nothing here
 * is exported.
 */
#ifndef TOFU_PLATFORM_H
#define TOFU_PLATFORM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <afunix.h>

typedef SOCKET tofu_fd;
#define TOFU_NO_FD INVALID_SOCKET

typedef SRWLOCK tofu_mutex;
#define TOFU_MUTEX_INIT SRWLOCK_INIT
static inline void tofu_mutex_init(tofu_mutex *m) { InitializeSRWLock(m); }
static inline void tofu_mutex_lock(tofu_mutex *m) { AcquireSRWLockExclusive(m); }
static inline void tofu_mutex_unlock(tofu_mutex *m) { ReleaseSRWLockExclusive(m); }
static inline void tofu_mutex_fini(tofu_mutex *m) { (void)m; }

typedef CONDITION_VARIABLE tofu_cond;
static inline int tofu_cond_init(tofu_cond *c) {
  InitializeConditionVariable(c);
  return 0;
}
static inline void tofu_cond_fini(tofu_cond *c) { (void)c; }
static inline void tofu_cond_broadcast(tofu_cond *c) { WakeAllConditionVariable(c); }
/* Waits for a broadcast or up to ms, releasing m meanwhile; may wake early. */
static inline void tofu_cond_wait_ms(tofu_cond *c, tofu_mutex *m, int32_t ms) {
  (void)SleepConditionVariableSRW(c, m, (DWORD)ms, 0);
}

static inline int64_t tofu_now_ms(void) { return (int64_t)GetTickCount64(); }

#else
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

typedef int tofu_fd;
#define TOFU_NO_FD (-1)

typedef pthread_mutex_t tofu_mutex;
#define TOFU_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
static inline void tofu_mutex_init(tofu_mutex *m) { pthread_mutex_init(m, NULL); }
static inline void tofu_mutex_lock(tofu_mutex *m) { pthread_mutex_lock(m); }
static inline void tofu_mutex_unlock(tofu_mutex *m) { pthread_mutex_unlock(m); }
static inline void tofu_mutex_fini(tofu_mutex *m) { pthread_mutex_destroy(m); }

#include <time.h>

/* Timed waits run on the monotonic clock, so a wall clock step cannot
 * stretch them (macOS has no clock attribute: it waits relative instead). */
typedef pthread_cond_t tofu_cond;
static inline int tofu_cond_init(tofu_cond *c) {
#if defined(__APPLE__)
  return pthread_cond_init(c, NULL);
#else
  pthread_condattr_t attr;
  if (pthread_condattr_init(&attr) != 0) return -1;
  int code = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (code == 0) code = pthread_cond_init(c, &attr);
  pthread_condattr_destroy(&attr);
  return code;
#endif
}
static inline void tofu_cond_fini(tofu_cond *c) { pthread_cond_destroy(c); }
static inline void tofu_cond_broadcast(tofu_cond *c) { pthread_cond_broadcast(c); }
/* Waits for a broadcast or up to ms, releasing m meanwhile; may wake early. */
static inline void tofu_cond_wait_ms(tofu_cond *c, tofu_mutex *m, int32_t ms) {
  struct timespec ts;
#if defined(__APPLE__)
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  (void)pthread_cond_timedwait_relative_np(c, m, &ts);
#else
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  (void)pthread_cond_timedwait(c, m, &ts);
#endif
}

static inline int64_t tofu_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A relative timeout of timeout_us >= 0 microseconds as a timespec. */
static inline struct timespec tofu_timespec_us(int64_t timeout_us) {
  struct timespec ts;
  ts.tv_sec = (time_t)(timeout_us / 1000000);
  ts.tv_nsec = (long)(timeout_us % 1000000) * 1000L;
  return ts;
}
#endif

/* Milliseconds left of a timeout that started at `start` (-1 stays -1). */
static inline int32_t tofu_remaining_ms(int32_t timeout_ms, int64_t start) {
  if (timeout_ms < 0) return -1;
  int64_t left = (int64_t)timeout_ms - (tofu_now_ms() - start);
  return left > 0 ? (int32_t)left : 0;
}

/* A wait's timeout in whole milliseconds for OS calls that take no finer
 * one: microseconds rounded up, so the wait never ends early (-1 stays -1). */
static inline int32_t tofu_ms_rounded_up(int64_t timeout_us) {
  if (timeout_us < 0) return -1;
  int64_t ms = (timeout_us + 999) / 1000;
  return ms > INT32_MAX ? INT32_MAX : (int32_t)ms;
}

/* sun_path capacity of this OS (the path plus its NUL must fit). */
#define TOFU_SUN_PATH_CAP ((int32_t)sizeof(((struct sockaddr_un *)0)->sun_path))

#endif
