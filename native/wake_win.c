/* Wake channel for Windows: a connected loopback TCP pair (WSAPoll only
 * watches sockets). The read end is the accepted side. */
#if defined(_WIN32)
#include "wake.h"

#include "errors.h"
#include "net.h"
#include "tofu.h"

static int same_address(const struct sockaddr_in *a, const struct sockaddr_in *b) {
  return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* Connects writer to a one-shot loopback listener and accepts it; checks the
 * accepted peer is our writer, not some other local process. */
static int32_t connect_pair(SOCKET listener, SOCKET writer, SOCKET *reader) {
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int len = sizeof addr;
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, (struct sockaddr *)&addr, &len) != 0 ||
      connect(writer, (struct sockaddr *)&addr, sizeof addr) != 0) {
    return tofu_fail();
  }
  struct sockaddr_in mine = {0};
  len = sizeof mine;
  if (getsockname(writer, (struct sockaddr *)&mine, &len) != 0) return tofu_fail();
  for (int attempt = 0; attempt < 8; attempt++) {
    struct sockaddr_in peer = {0};
    len = sizeof peer;
    SOCKET s = accept(listener, (struct sockaddr *)&peer, &len);
    if (s == INVALID_SOCKET) return tofu_fail();
    if (same_address(&peer, &mine)) {
      *reader = s;
      return TOFU_OK;
    }
    closesocket(s); /* a stranger raced in: refuse it */
  }
  return TOFU_E_OTHER;
}

int32_t tofu_wake_open(struct tofu_wake *w) {
  w->read_fd = w->write_fd = INVALID_SOCKET;
  if (tofu_net_startup() < 0) return tofu_fail();
  SOCKET listener = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
  SOCKET writer = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
  SOCKET reader = INVALID_SOCKET;
  int32_t code = listener == INVALID_SOCKET || writer == INVALID_SOCKET
                     ? tofu_fail()
                     : connect_pair(listener, writer, &reader);
  if (listener != INVALID_SOCKET) closesocket(listener);
  u_long on = 1;
  BOOL nodelay = TRUE;
  if (code == TOFU_OK &&
      (ioctlsocket(reader, FIONBIO, &on) != 0 || ioctlsocket(writer, FIONBIO, &on) != 0 ||
       setsockopt(writer, IPPROTO_TCP, TCP_NODELAY, (const char *)&nodelay, sizeof nodelay) != 0)) {
    code = tofu_fail();
  }
  if (code != TOFU_OK) {
    if (writer != INVALID_SOCKET) closesocket(writer);
    if (reader != INVALID_SOCKET) closesocket(reader);
    return code;
  }
  w->read_fd = reader;
  w->write_fd = writer;
  return TOFU_OK;
}

void tofu_wake_signal(struct tofu_wake *w) {
  char byte = 1;
  /* WSAEWOULDBLOCK means unread bytes are queued: it is readable anyway. */
  (void)send(w->write_fd, &byte, 1, 0);
}

void tofu_wake_drain(struct tofu_wake *w) {
  char sink[256];
  while (recv(w->read_fd, sink, sizeof sink, 0) == (int)sizeof sink) {
  }
}

void tofu_wake_close(struct tofu_wake *w) {
  if (w->read_fd != INVALID_SOCKET) closesocket(w->read_fd);
  if (w->write_fd != INVALID_SOCKET) closesocket(w->write_fd);
  w->read_fd = w->write_fd = INVALID_SOCKET;
}
#endif
