/* Wake channel for POSIX: eventfd on Linux, a non-blocking pipe elsewhere. */
#if !defined(_WIN32)
#include "wake.h"

#include <fcntl.h>

#include "errors.h"
#include "tofu.h"

#if defined(__linux__)
#include <sys/eventfd.h>

int32_t tofu_wake_open(struct tofu_wake *w) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return tofu_fail();
  w->read_fd = fd;
  w->write_fd = fd;
  return TOFU_OK;
}

void tofu_wake_signal(struct tofu_wake *w) {
  uint64_t one = 1;
  /* EAGAIN only when the counter is saturated: it is readable anyway. */
  ssize_t n = write(w->write_fd, &one, sizeof one);
  (void)n;
}

void tofu_wake_drain(struct tofu_wake *w) {
  uint64_t count;
  ssize_t n = read(w->read_fd, &count, sizeof count);
  (void)n;
}

void tofu_wake_close(struct tofu_wake *w) {
  if (w->read_fd >= 0) close(w->read_fd);
  w->read_fd = w->write_fd = -1;
}

#else

static int set_nonblocking_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -1;
  return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int32_t tofu_wake_open(struct tofu_wake *w) {
  int fds[2];
  if (pipe(fds) < 0) return tofu_fail();
  if (set_nonblocking_cloexec(fds[0]) < 0 || set_nonblocking_cloexec(fds[1]) < 0) {
    int32_t code = tofu_fail();
    close(fds[0]);
    close(fds[1]);
    return code;
  }
  w->read_fd = fds[0];
  w->write_fd = fds[1];
  return TOFU_OK;
}

void tofu_wake_signal(struct tofu_wake *w) {
  uint8_t byte = 1;
  /* A full pipe (EAGAIN) is already readable: the signal is not lost. */
  ssize_t n = write(w->write_fd, &byte, 1);
  (void)n;
}

void tofu_wake_drain(struct tofu_wake *w) {
  uint8_t sink[256];
  while (read(w->read_fd, sink, sizeof sink) == (ssize_t)sizeof sink) {
  }
}

void tofu_wake_close(struct tofu_wake *w) {
  if (w->read_fd >= 0) close(w->read_fd);
  if (w->write_fd >= 0) close(w->write_fd);
  w->read_fd = w->write_fd = -1;
}
#endif
#endif
