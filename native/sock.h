/* The socket object behind a socket handle, and helpers the socket files share. */
#ifndef TOFU_SOCK_H
#define TOFU_SOCK_H

#include <stdint.h>

#include "handles.h"
#include "platform.h"
#include "uds_file.h"

struct tofu_poller;

enum tofu_role { TOFU_ROLE_LISTENER = 1, TOFU_ROLE_DATA = 2 };

struct tofu_socket {
  struct tofu_object base;
  tofu_fd fd;
  int family; /* AF_INET, AF_INET6 or AF_UNIX */
  enum tofu_role role;
  int32_t connect_result; /* data sockets: 1 connected, 0 unknown, < 0 failed */
  int32_t deferred_error; /* listeners: an accept error to report next call */
  /* Registration (touched only by the thread that drives the poller). */
  struct tofu_poller *poller;
  int32_t reg_index;
  /* A poll-style poller whose park may still watch fd since s left it (held
   * with a reference), and the mark tofu_close settles it to. */
  struct tofu_poller *unsettled;
  uint64_t unsettled_mark;
  /* UDS listeners bound to a path: the path, and the file it bound. */
  char *uds_path; /* NUL-terminated copy; abstract names start with NUL */
  int32_t uds_path_len;
  int uds_owns_file; /* 1 when close should unlink (if the file is unchanged) */
  struct tofu_file_id uds_file;
};

/* Wraps fd (already configured) in a socket object with a handle; on failure
 * closes fd and returns the TOFU_E_* code. */
int32_t tofu_socket_adopt(tofu_fd fd, int family, enum tofu_role role, struct tofu_socket **out);

/* Starts a non-blocking connect of a new data socket to addr; returns its
 * handle (connected or in progress) or a TOFU_E_* code. */
int32_t tofu_socket_connect(int family, const struct sockaddr *addr, socklen_t addr_len);

/* A new listener bound to addr; returns its handle or a TOFU_E_* code. */
int32_t tofu_socket_listen(int family, const struct sockaddr *addr, socklen_t addr_len,
                           int32_t backlog, struct tofu_socket **out);

/* The live socket behind handle with a reference (release with
 * tofu_socket_release), or NULL. */
struct tofu_socket *tofu_socket_acquire(int32_t handle);
void tofu_socket_release(struct tofu_socket *sock);

#endif
