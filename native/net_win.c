/* Socket primitives for Windows (Winsock 2, AF_UNIX from Windows 10 1803). */
#if defined(_WIN32)
#include "net.h"

#include "errors.h"
#include "tofu.h"

static INIT_ONCE startup_once = INIT_ONCE_STATIC_INIT;
static int startup_error;

static BOOL CALLBACK start_winsock(PINIT_ONCE once, PVOID param, PVOID *context) {
  (void)once;
  (void)param;
  (void)context;
  WSADATA data;
  startup_error = WSAStartup(MAKEWORD(2, 2), &data);
  return TRUE;
}

int tofu_net_startup(void) {
  InitOnceExecuteOnce(&startup_once, start_winsock, NULL, NULL);
  if (startup_error == 0) return 0;
  WSASetLastError(startup_error);
  return -1;
}

static int set_nonblocking(SOCKET s) {
  u_long on = 1;
  return ioctlsocket(s, FIONBIO, &on) == 0 ? 0 : -1;
}

/* A socket that child processes do not inherit, still blocking. */
static SOCKET open_blocking(int family) {
  if (tofu_net_startup() < 0) return INVALID_SOCKET;
  return WSASocketW(family, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
}

/* s made non-blocking, or INVALID_SOCKET (s closed, the error kept) if that fails. */
static SOCKET nonblocking_or_close(SOCKET s) {
  if (s == INVALID_SOCKET || set_nonblocking(s) == 0) return s;
  int saved = WSAGetLastError();
  closesocket(s);
  WSASetLastError(saved);
  return INVALID_SOCKET;
}

tofu_fd tofu_net_open(int family) { return nonblocking_or_close(open_blocking(family)); }

void tofu_net_close(tofu_fd fd) {
  if (fd != INVALID_SOCKET) closesocket(fd);
}

int tofu_net_listener_options(tofu_fd fd) {
  BOOL on = TRUE;
  return setsockopt(fd, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&on, sizeof on) == 0 ? 0
                                                                                             : -1;
}

int tofu_net_set_linger(tofu_fd fd, int on) {
  struct linger lg = {.l_onoff = (u_short)(on ? 1 : 0), .l_linger = 0};
  return setsockopt(fd, SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof lg) == 0 ? 0 : -1;
}

int tofu_net_data_options(tofu_fd fd, int family) {
  if (family == AF_UNIX) {
    (void)tofu_net_set_linger(fd, 1); /* not meaningful for AF_UNIX */
    return 0;
  }
  if (tofu_net_set_linger(fd, 1) < 0) return -1;
  BOOL on = TRUE;
  return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, (const char *)&on, sizeof on) == 0 ? 0 : -1;
}

tofu_fd tofu_net_accept(tofu_fd listener) {
  SOCKET s = accept(listener, NULL, NULL);
  if (s == INVALID_SOCKET) return INVALID_SOCKET;
  (void)SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
  return nonblocking_or_close(s);
}

int tofu_net_connect_pending(int os_error) {
  return os_error == WSAEWOULDBLOCK || os_error == WSAEINPROGRESS;
}

int tofu_net_would_block(int os_error) { return os_error == WSAEWOULDBLOCK; }

int tofu_net_socket_error(tofu_fd fd) {
  int err = 0;
  int len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0) return -1;
  return err;
}

int tofu_net_is_connected(tofu_fd fd) {
  struct sockaddr_storage peer;
  int len = sizeof peer;
  if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0) return 1;
  return WSAGetLastError() == WSAENOTCONN ? 0 : -1;
}

int32_t tofu_net_send(tofu_fd fd, const uint8_t *buf, int32_t len) {
  int n = send(fd, (const char *)buf, len, 0);
  return n == SOCKET_ERROR ? -1 : (int32_t)n;
}

int32_t tofu_net_recv(tofu_fd fd, uint8_t *buf, int32_t len) {
  int n = recv(fd, (char *)buf, len, 0);
  return n == SOCKET_ERROR ? -1 : (int32_t)n;
}

int tofu_net_shutdown(tofu_fd fd, int how) {
  static const int hows[3] = {SD_RECEIVE, SD_SEND, SD_BOTH};
  return shutdown(fd, hows[how]) == 0 ? 0 : -1;
}

int32_t tofu_net_uds_probe(const struct sockaddr_un *addr, socklen_t addr_len) {
  SOCKET s = tofu_net_open(AF_UNIX);
  if (s == INVALID_SOCKET) return tofu_fail();
  int32_t result = 1;
  if (connect(s, (const struct sockaddr *)addr, addr_len) != 0) {
    int err = WSAGetLastError();
    if (err == WSAEWOULDBLOCK) {
      /* A live local server answers at once; a second is generous. */
      WSAPOLLFD pfd = {.fd = s, .events = POLLWRNORM, .revents = 0};
      if (WSAPoll(&pfd, 1, 1000) == 1) err = tofu_net_socket_error(s);
      else err = 0; /* no answer yet: something holds the path */
    }
    if (err == WSAECONNREFUSED || err == WSAENOTSOCK || err == ERROR_FILE_NOT_FOUND ||
        err == ERROR_PATH_NOT_FOUND) {
      result = 0;
    } else if (err != 0) {
      result = tofu_fail_with(err);
    }
  }
  closesocket(s);
  return result;
}
static INIT_ONCE uds_once = INIT_ONCE_STATIC_INIT;
static int uds_error; /* 0 when AF_UNIX works, else the WSA error of socket() */

static BOOL CALLBACK probe_uds(PINIT_ONCE once, PVOID param, PVOID *context) {
  (void)once;
  (void)param;
  (void)context;
  SOCKET s = open_blocking(AF_UNIX);
  if (s == INVALID_SOCKET) uds_error = WSAGetLastError();
  else closesocket(s);
  return TRUE;
}

int32_t tofu_net_uds_check(void) {
  InitOnceExecuteOnce(&uds_once, probe_uds, NULL, NULL);
  return uds_error == 0 ? TOFU_OK : tofu_fail_with(uds_error);
}
#endif
