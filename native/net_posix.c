/* Socket primitives for POSIX systems (Linux, macOS, BSD). */
#if !defined(_WIN32)
#include "net.h"

#include "errors.h"
#include "tofu.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#if defined(MSG_NOSIGNAL)
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0 /* SO_NOSIGPIPE is set on every socket instead */
#endif

/* Fallback for systems without SOCK_NONBLOCK / accept4 (macOS). */
static int make_nonblocking_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -1;
  return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int suppress_sigpipe(int fd) {
#if defined(SO_NOSIGPIPE)
  int one = 1;
  return setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#else
  (void)fd;
  return 0;
#endif
}

/* Completes a new descriptor; set_flags when it is not yet non-blocking. */
static tofu_fd finish_new_socket(int fd, int set_flags) {
  if (fd < 0) return -1;
  if ((set_flags && make_nonblocking_cloexec(fd) < 0) || suppress_sigpipe(fd) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

int tofu_net_startup(void) { return 0; }

tofu_fd tofu_net_open(int family) {
#if defined(SOCK_NONBLOCK)
  return finish_new_socket(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), 0);
#else
  return finish_new_socket(socket(family, SOCK_STREAM, 0), 1);
#endif
}

void tofu_net_close(tofu_fd fd) {
  if (fd >= 0) close(fd);
}

int tofu_net_listener_options(tofu_fd fd) {
  int one = 1;
  return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
}

int tofu_net_set_linger(tofu_fd fd, int on) {
  struct linger lg = {.l_onoff = on ? 1 : 0, .l_linger = 0};
  return setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

int tofu_net_data_options(tofu_fd fd, int family) {
  if (family == AF_UNIX) {
    /* Linger means nothing for UDS; macOS may refuse it (tolerated). */
    (void)tofu_net_set_linger(fd, 1);
    return 0;
  }
  if (tofu_net_set_linger(fd, 1) < 0) return -1;
  int one = 1;
  return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

tofu_fd tofu_net_accept(tofu_fd listener) {
#if defined(SOCK_NONBLOCK) && (defined(__linux__) || defined(__FreeBSD__))
  return finish_new_socket(accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), 0);
#else
  return finish_new_socket(accept(listener, NULL, NULL), 1);
#endif
}

int tofu_net_connect_pending(int os_error) { return os_error == EINPROGRESS || os_error == EINTR; }

int tofu_net_would_block(int os_error) { return os_error == EAGAIN || os_error == EWOULDBLOCK; }

int tofu_net_socket_error(tofu_fd fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -1;
  return err;
}

int tofu_net_is_connected(tofu_fd fd) {
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;
  if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0) return 1;
  return errno == ENOTCONN ? 0 : -1;
}

int32_t tofu_net_send(tofu_fd fd, const uint8_t *buf, int32_t len) {
  ssize_t n;
  do {
    n = send(fd, buf, (size_t)len, SEND_FLAGS);
  } while (n < 0 && errno == EINTR);
  return (int32_t)n;
}

int32_t tofu_net_recv(tofu_fd fd, uint8_t *buf, int32_t len) {
  ssize_t n;
  do {
    n = recv(fd, buf, (size_t)len, 0);
  } while (n < 0 && errno == EINTR);
  return (int32_t)n;
}

int32_t tofu_net_uds_probe(const struct sockaddr_un *addr, socklen_t addr_len) {
  tofu_fd fd = tofu_net_open(AF_UNIX);
  if (fd == TOFU_NO_FD) return tofu_fail();
  int32_t result = 1;
  /* A non-blocking UDS connect answers at once: EAGAIN = live, backlog full. */
  if (connect(fd, (const struct sockaddr *)addr, addr_len) != 0) {
    int err = errno;
    if (err == ECONNREFUSED || err == ENOENT) result = 0;
    else if (!tofu_net_would_block(err) && err != EINPROGRESS) result = tofu_fail_with(err);
  }
  close(fd);
  return result;
}

int tofu_net_shutdown(tofu_fd fd, int how) {
  static const int hows[3] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
  return shutdown(fd, hows[how]);
}

int32_t tofu_net_uds_check(void) { return TOFU_OK; } /* every POSIX system has AF_UNIX */
#endif
