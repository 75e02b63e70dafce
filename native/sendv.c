/*
 * tofu_sendv (ABI 3): one gather write of pieces of up to TOFU_SENDV_SLOTS
 * caller-owned buffers, so that message bodies leave from their own storage.
 */
#include <limits.h>
#include <stddef.h>

#if defined(_WIN32)
#include <winsock2.h>
#else
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#endif

#include "errors.h"
#include "sock.h"
#include "tofu.h"

#if defined(MSG_NOSIGNAL)
#define SENDV_FLAGS MSG_NOSIGNAL
#else
#define SENDV_FLAGS 0 /* SO_NOSIGPIPE is set on every socket instead */
#endif

#if defined(_WIN32)
typedef WSABUF tofu_piece;
static void set_piece(tofu_piece *p, const uint8_t *base, int32_t len) {
  p->buf = (CHAR *)base;
  p->len = (ULONG)len;
}
/* Bytes sent, or -1 with the OS error left for tofu_fail. */
static int32_t send_pieces(tofu_fd fd, tofu_piece *pieces, int32_t count) {
  DWORD sent = 0;
  if (WSASend(fd, pieces, (DWORD)count, &sent, 0, NULL, NULL) == SOCKET_ERROR) return -1;
  return (int32_t)sent;
}
#else
typedef struct iovec tofu_piece;
static void set_piece(tofu_piece *p, const uint8_t *base, int32_t len) {
  p->iov_base = (void *)base;
  p->iov_len = (size_t)len;
}
static int32_t send_pieces(tofu_fd fd, tofu_piece *pieces, int32_t count) {
  struct msghdr msg = {0};
  msg.msg_iov = pieces;
  msg.msg_iovlen = (size_t)count;
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, SENDV_FLAGS);
  } while (n < 0 && errno == EINTR);
  return (int32_t)n;
}
#endif

TOFU_API int32_t tofu_sendv(int32_t sock, const int32_t *segs, int32_t nsegs, const uint8_t *s0,
                            const uint8_t *s1, const uint8_t *s2, const uint8_t *s3,
                            const uint8_t *s4, const uint8_t *s5, const uint8_t *s6,
                            const uint8_t *s7, const uint8_t *s8, const uint8_t *s9,
                            const uint8_t *s10, const uint8_t *s11, const uint8_t *s12,
                            const uint8_t *s13, const uint8_t *s14, const uint8_t *s15) {
  const uint8_t *slots[TOFU_SENDV_SLOTS] = {s0, s1, s2,  s3,  s4,  s5,  s6,  s7,
                                            s8, s9, s10, s11, s12, s13, s14, s15};
  if (nsegs < 0 || nsegs > TOFU_SENDV_MAX_SEGS || (nsegs > 0 && segs == NULL)) {
    return TOFU_E_INVAL;
  }
  tofu_piece pieces[TOFU_SENDV_MAX_SEGS];
  int32_t count = 0;
  int64_t total = 0;
  for (int32_t i = 0; i < nsegs; i++) {
    int32_t slot = segs[3 * i], off = segs[3 * i + 1], len = segs[3 * i + 2];
    if (slot < 0 || slot >= TOFU_SENDV_SLOTS || off < 0 || len < 0) return TOFU_E_INVAL;
    if (slots[slot] == NULL || (int64_t)off + len > INT32_MAX) return TOFU_E_INVAL;
    total += len;
    if (total > INT32_MAX) return TOFU_E_INVAL;
    if (len > 0) set_piece(&pieces[count++], slots[slot] + off, len);
  }
  struct tofu_socket *s = tofu_socket_acquire(sock);
  if (s == NULL) return TOFU_E_BADHANDLE;
  int32_t n;
  if (s->role != TOFU_ROLE_DATA) n = TOFU_E_INVAL;
  else if (count == 0) n = 0;
  else {
    n = send_pieces(s->fd, pieces, count);
    if (n < 0) n = tofu_fail();
  }
  tofu_socket_release(s);
  return n;
}
