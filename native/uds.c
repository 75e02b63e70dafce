/*
 * Unix domain sockets: listen with the N18 path rules (never delete what we
 * do not own), connect, temporary paths, and the N13 unlink on close.
 */
#include "uds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "errors.h"
#include "net.h"
#include "tofu.h"

/* The OS errors that name what the path rules find. */
#if defined(_WIN32)
#define OS_NOT_A_SOCKET WSAENOTSOCK
#define OS_IN_USE WSAEADDRINUSE
#define OS_NO_SUCH_PATH ERROR_FILE_NOT_FOUND
#else
#define OS_NOT_A_SOCKET ENOTSOCK
#define OS_IN_USE EADDRINUSE
#define OS_NO_SUCH_PATH ENOENT
#endif

/* Makes room for the path at `path` (NUL-terminated) by the N18 rules:
 * TOFU_OK when free (a stale socket file is removed), TOFU_E_ADDRINUSE for a
 * live server, TOFU_E_NOTSOCK for anything that is not a socket. */
static int32_t claim_path(const char *path, const struct sockaddr_un *addr, socklen_t addr_len) {
  int32_t kind = tofu_path_kind(path);
  if (kind < 0) return kind;
  if (kind == TOFU_PATH_MISSING) return TOFU_OK;
  if (kind == TOFU_PATH_OTHER) return tofu_fail_as(OS_NOT_A_SOCKET, TOFU_E_NOTSOCK);
  int32_t live = tofu_net_uds_probe(addr, addr_len);
  if (live < 0) return live;
  if (live) return tofu_fail_as(OS_IN_USE, TOFU_E_ADDRINUSE);
  int32_t code = tofu_path_remove(path);
  return code == TOFU_E_NOENT ? TOFU_OK : code;
}

/* Listens at path_len bytes of path (not empty). */
static int32_t listen_at(const uint8_t *path, int32_t path_len, int32_t backlog) {
  struct sockaddr_un addr;
  socklen_t addr_len;
  int32_t code = tofu_uds_address(path, path_len, &addr, &addr_len);
  if (code < 0) return code;
  char *copy = malloc((size_t)path_len + 1);
  if (copy == NULL) return TOFU_E_NOMEM;
  memcpy(copy, path, (size_t)path_len);
  copy[path_len] = '\0';
  int abstract = path[0] == 0;
  if (!abstract) {
    code = claim_path(copy, &addr, addr_len);
    if (code < 0) {
      free(copy);
      return code;
    }
  }
  struct tofu_socket *s;
  int32_t handle = tofu_socket_listen(AF_UNIX, (struct sockaddr *)&addr, addr_len, backlog, &s);
  if (handle < 0) {
    free(copy);
    return handle;
  }
  s->uds_path = copy;
  s->uds_path_len = path_len;
  s->uds_owns_file = !abstract && tofu_path_identity(copy, &s->uds_file) == TOFU_OK;
  return handle;
}

/* A fresh "<tmp>/tofu_<pid>_<n>.sock" path; returns its length or -1. */
static int32_t temp_path(char *out, size_t cap) {
  static atomic_uint counter;
  unsigned n = atomic_fetch_add(&counter, 1u);
  char dir[TOFU_SUN_PATH_CAP];
  int32_t dir_len = tofu_temp_dir(dir, sizeof dir);
  for (int attempt = 0; attempt < 2; attempt++) {
    const char *base = dir_len > 0 && attempt == 0 ? dir : NULL;
#if defined(_WIN32)
    if (base == NULL) return -1;
    int len = snprintf(out, cap, "%s\\tofu_%u_%u.sock", base, (unsigned)tofu_process_id(), n);
#else
    if (base == NULL) base = "/tmp"; /* TMPDIR too long for sun_path */
    int len = snprintf(out, cap, "%s/tofu_%u_%u.sock", base, (unsigned)tofu_process_id(), n);
#endif
    if (len > 0 && (size_t)len < cap) return len;
  }
  return -1;
}

TOFU_API int32_t tofu_uds_listen(const uint8_t *path, int32_t path_len, int32_t backlog) {
  if (backlog < 0 || path_len < 0 || (path_len > 0 && path == NULL)) return TOFU_E_INVAL;
  int32_t usable = tofu_net_uds_check(); /* before any path rule: none applies without AF_UNIX */
  if (usable < 0) return usable;
  if (path_len > 0) return listen_at(path, path_len, backlog);
  /* Empty path: a new temporary path; skip names someone else holds. */
  for (int attempt = 0; attempt < 64; attempt++) {
    char fresh[TOFU_SUN_PATH_CAP];
    int32_t len = temp_path(fresh, sizeof fresh);
    if (len < 0) return TOFU_E_NAMETOOLONG;
    int32_t handle = listen_at((const uint8_t *)fresh, len, backlog);
    if (handle != TOFU_E_ADDRINUSE && handle != TOFU_E_NOTSOCK) return handle;
  }
  return tofu_fail_as(OS_IN_USE, TOFU_E_ADDRINUSE);
}

TOFU_API int32_t tofu_uds_connect(const uint8_t *path, int32_t path_len) {
  struct sockaddr_un addr;
  socklen_t addr_len;
  int32_t code = tofu_uds_address(path, path_len, &addr, &addr_len);
  if (code < 0) return code;
  code = tofu_net_uds_check(); /* without AF_UNIX, "no such path" would mislead */
  if (code < 0) return code;
#if defined(_WIN32)
  /* Windows only learns of a missing path after the non-blocking connect,
   * as a refusal: tell "missing" apart up front. */
  if (tofu_path_kind(addr.sun_path) == TOFU_PATH_MISSING) {
    return tofu_fail_as(OS_NO_SUCH_PATH, TOFU_E_NOENT);
  }
#endif
  return tofu_socket_connect(AF_UNIX, (struct sockaddr *)&addr, addr_len);
}

TOFU_API int32_t tofu_uds_path(int32_t sock, uint8_t *out, int32_t cap) {
  if (out == NULL || cap < 0) return TOFU_E_INVAL;
  struct tofu_socket *s = tofu_socket_acquire(sock);
  if (s == NULL) return TOFU_E_BADHANDLE;
  int32_t len;
  if (s->uds_path == NULL || cap < s->uds_path_len) len = TOFU_E_INVAL;
  else {
    len = s->uds_path_len;
    memcpy(out, s->uds_path, (size_t)len);
  }
  tofu_socket_release(s);
  return len;
}

void tofu_uds_forget_path(struct tofu_socket *s) {
  if (!s->uds_owns_file) return;
  struct tofu_file_id now;
  if (tofu_path_identity(s->uds_path, &now) == TOFU_OK && now.device == s->uds_file.device &&
      now.inode == s->uds_file.inode) {
    (void)tofu_path_remove(s->uds_path);
  }
  s->uds_owns_file = 0;
}
