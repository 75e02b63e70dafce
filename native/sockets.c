/*
 * The socket object and the calls every socket kind shares: accept, send,
 * recv, shutdown, connect_check, local_port and close.
 */
#include "sock.h"

#include <stdlib.h>

#if !defined(_WIN32)
#include <netinet/in.h>
#endif

#include "errors.h"
#include "net.h"
#include "poller.h"
#include "tofu.h"
#include "uds.h"

static void free_socket(struct tofu_object *obj) {
  struct tofu_socket *s = (struct tofu_socket *)obj;
  tofu_net_close(s->fd);
  free(s->uds_path);
  free(s);
}

int32_t tofu_socket_adopt(tofu_fd fd, int family, enum tofu_role role, struct tofu_socket **out) {
  struct tofu_socket *s = calloc(1, sizeof *s);
  if (s == NULL) {
    tofu_net_close(fd);
    return TOFU_E_NOMEM;
  }
  atomic_init(&s->base.refs, 1);
  s->base.kind = TOFU_KIND_SOCKET;
  s->base.destroy = free_socket;
  s->fd = fd;
  s->family = family;
  s->role = role;
  s->reg_index = -1;
  int32_t handle = tofu_handle_add(&s->base);
  if (handle < 0) {
    free_socket(&s->base);
    return handle;
  }
  if (out != NULL) *out = s;
  return handle;
}

int32_t tofu_socket_connect(int family, const struct sockaddr *addr, socklen_t addr_len) {
  tofu_fd fd = tofu_net_open(family);
  if (fd == TOFU_NO_FD) return tofu_fail();
  if (tofu_net_data_options(fd, family) < 0) {
    int32_t code = tofu_fail();
    tofu_net_close(fd);
    return code;
  }
  int connected = 1;
  if (connect(fd, addr, addr_len) != 0) {
    int err = tofu_os_error_now();
    if (!tofu_net_connect_pending(err)) {
      int32_t code = tofu_fail_with(err);
      tofu_net_close(fd);
      return code;
    }
    connected = 0;
  }
  struct tofu_socket *s;
  int32_t handle = tofu_socket_adopt(fd, family, TOFU_ROLE_DATA, &s);
  if (handle > 0 && connected) s->connect_result = 1;
  return handle;
}

int32_t tofu_socket_listen(int family, const struct sockaddr *addr, socklen_t addr_len,
                           int32_t backlog, struct tofu_socket **out) {
  tofu_fd fd = tofu_net_open(family);
  if (fd == TOFU_NO_FD) return tofu_fail();
  if ((family != AF_UNIX && tofu_net_listener_options(fd) < 0) || bind(fd, addr, addr_len) != 0 ||
      listen(fd, backlog) != 0) {
    int32_t code = tofu_fail();
    tofu_net_close(fd);
    return code;
  }
  return tofu_socket_adopt(fd, family, TOFU_ROLE_LISTENER, out);
}

struct tofu_socket *tofu_socket_acquire(int32_t handle) {
  return (struct tofu_socket *)tofu_handle_acquire(handle, TOFU_KIND_SOCKET);
}

void tofu_socket_release(struct tofu_socket *sock) { tofu_handle_release(&sock->base); }

/* Accepts one pending connection into a new handle: > 0 handle, 0 none
 * pending, < 0 error. */
static int32_t accept_one(struct tofu_socket *listener) {
  for (;;) {
    tofu_fd fd = tofu_net_accept(listener->fd);
    if (fd == TOFU_NO_FD) {
      int err = tofu_os_error_now();
      if (tofu_net_would_block(err)) return 0;
      int32_t code = tofu_fail_with(err);
      /* A client that gave up before we accepted it is not our error. */
      if (code == TOFU_E_CONNRESET || code == TOFU_E_AGAIN) continue;
      return code;
    }
    if (tofu_net_data_options(fd, listener->family) < 0) {
      int32_t code = tofu_fail();
      tofu_net_close(fd);
      return code;
    }
    struct tofu_socket *s;
    int32_t handle = tofu_socket_adopt(fd, listener->family, TOFU_ROLE_DATA, &s);
    if (handle > 0) s->connect_result = 1;
    return handle;
  }
}

TOFU_API int32_t tofu_accept(int32_t listener, int32_t *out, int32_t capacity) {
  if (out == NULL || capacity <= 0) return TOFU_E_INVAL;
  struct tofu_socket *s = tofu_socket_acquire(listener);
  if (s == NULL) return TOFU_E_BADHANDLE;
  int32_t count = 0;
  if (s->role != TOFU_ROLE_LISTENER) {
    count = TOFU_E_INVAL;
  } else if (s->deferred_error < 0) {
    count = s->deferred_error;
    s->deferred_error = 0;
  } else {
    while (count < capacity) {
      int32_t handle = accept_one(s);
      if (handle == 0) break;
      if (handle < 0) {
        if (count == 0) count = handle;
        else s->deferred_error = handle;
        break;
      }
      out[count++] = handle;
    }
  }
  tofu_socket_release(s);
  return count;
}

/* Checks a (buf, off, len) triple; TOFU_OK or TOFU_E_INVAL. */
static int32_t check_span(const uint8_t *buf, int32_t off, int32_t len) {
  if (buf == NULL || off < 0 || len < 0) return TOFU_E_INVAL;
  if ((int64_t)off + (int64_t)len > INT32_MAX) return TOFU_E_INVAL;
  return TOFU_OK;
}

TOFU_API int32_t tofu_send(int32_t sock, const uint8_t *buf, int32_t off, int32_t len) {
  if (check_span(buf, off, len) < 0) return TOFU_E_INVAL;
  struct tofu_socket *s = tofu_socket_acquire(sock);
  if (s == NULL) return TOFU_E_BADHANDLE;
  int32_t n;
  if (s->role != TOFU_ROLE_DATA) n = TOFU_E_INVAL;
  else if (len == 0) n = 0;
  else {
    n = tofu_net_send(s->fd, buf + off, len);
    if (n < 0) n = tofu_fail();
  }
  tofu_socket_release(s);
  return n;
}

TOFU_API int32_t tofu_recv(int32_t sock, uint8_t *buf, int32_t off, int32_t len) {
  /* len 0 could not be told apart from end of stream. */
  if (check_span(buf, off, len) < 0 || len == 0) return TOFU_E_INVAL;
  struct tofu_socket *s = tofu_socket_acquire(sock);
  if (s == NULL) return TOFU_E_BADHANDLE;
  int32_t n;
  if (s->role != TOFU_ROLE_DATA) n = TOFU_E_INVAL;
  else {
    n = tofu_net_recv(s->fd, buf + off, len);
    if (n < 0) n = tofu_fail();
  }
  tofu_socket_release(s);
  return n;
}

TOFU_API int32_t tofu_shutdown(int32_t sock, int32_t how) {
  if (how < 0 || how > 2) return TOFU_E_INVAL;
  struct tofu_socket *s = tofu_socket_acquire(sock);
  if (s == NULL) return TOFU_E_BADHANDLE;
  int32_t code = TOFU_OK;
  if (s->role != TOFU_ROLE_DATA) code = TOFU_E_INVAL;
  else if (tofu_net_shutdown(s->fd, how) < 0) code = tofu_fail();
  tofu_socket_release(s);
  return code;
}

/* The connect outcome of s once the socket reported writable or an error. */
static int32_t check_connect(struct tofu_socket *s) {
  if (s->connect_result != 0) return s->connect_result > 0 ? TOFU_OK : s->connect_result;
  int err = tofu_net_socket_error(s->fd);
  if (err < 0) return tofu_fail();
  if (err != 0) {
    /* SO_ERROR clears itself: remember the failure for later checks. */
    s->connect_result = tofu_fail_with(err);
    if (s->connect_result == TOFU_E_AGAIN) s->connect_result = 0;
    return s->connect_result == 0 ? TOFU_E_AGAIN : s->connect_result;
  }
  int connected = tofu_net_is_connected(s->fd);
  if (connected < 0) return tofu_fail();
  if (connected == 0) return TOFU_E_AGAIN;
  s->connect_result = 1;
  return TOFU_OK;
}

TOFU_API int32_t tofu_connect_check(int32_t sock) {
  struct tofu_socket *s = tofu_socket_acquire(sock);
  if (s == NULL) return TOFU_E_BADHANDLE;
  int32_t code = s->role == TOFU_ROLE_DATA ? check_connect(s) : TOFU_E_INVAL;
  tofu_socket_release(s);
  return code;
}

TOFU_API int32_t tofu_local_port(int32_t sock) {
  struct tofu_socket *s = tofu_socket_acquire(sock);
  if (s == NULL) return TOFU_E_BADHANDLE;
  int32_t port;
  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  if (s->family != AF_INET && s->family != AF_INET6) port = TOFU_E_INVAL;
  else if (getsockname(s->fd, (struct sockaddr *)&local, &len) != 0) port = tofu_fail();
  else if (local.ss_family == AF_INET6) port = ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
  else port = ntohs(((struct sockaddr_in *)&local)->sin_port);
  tofu_socket_release(s);
  return port;
}

TOFU_API int32_t tofu_close(int32_t sock, int32_t abortive) {
  struct tofu_socket *s = (struct tofu_socket *)tofu_handle_remove(sock, TOFU_KIND_SOCKET);
  if (s == NULL) return TOFU_E_BADHANDLE;
  tofu_poller_detach(s);
  if (s->role == TOFU_ROLE_DATA && !abortive) (void)tofu_net_set_linger(s->fd, 0);
  if (s->role == TOFU_ROLE_LISTENER) tofu_uds_forget_path(s);
  /* The descriptor closes with the last reference (another thread may still
   * be inside a call on this socket). */
  tofu_socket_release(s);
  return TOFU_OK;
}
