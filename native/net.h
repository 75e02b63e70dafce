/*
 * Socket primitives that differ between POSIX and Windows. Each returns >= 0
 * on success; on failure -1 (or TOFU_NO_FD) with the OS error left for
 * tofu_fail() to record and map.
 */
#ifndef TOFU_NET_H
#define TOFU_NET_H

#include <stdint.h>

#include "platform.h"

/* Starts the socket layer once per process (WSAStartup on Windows); returns
 * 0, or -1 with the OS error set. Every socket-creating call runs it first. */
int tofu_net_startup(void);
/* A new non-blocking, close-on-exec stream socket that never raises SIGPIPE. */
tofu_fd tofu_net_open(int family);
void tofu_net_close(tofu_fd fd);
/* Listener options: SO_REUSEADDR (POSIX) or SO_EXCLUSIVEADDRUSE (Windows). */
int tofu_net_listener_options(tofu_fd fd);
/* Data socket options: SO_LINGER {1, 0}; TCP_NODELAY for TCP families. */
int tofu_net_data_options(tofu_fd fd, int family);
/* SO_LINGER {on, 0}. */
int tofu_net_set_linger(tofu_fd fd, int on);
/* Accepts one connection as a non-blocking, close-on-exec socket. */
tofu_fd tofu_net_accept(tofu_fd listener);
/* 1 when a failed connect() is merely in progress. */
int tofu_net_connect_pending(int os_error);
/* 1 when os_error means "would block". */
int tofu_net_would_block(int os_error);
/* Pending SO_ERROR of fd (0 = none), or -1 if it cannot be read. */
int tofu_net_socket_error(tofu_fd fd);
/* 1 connected, 0 not (yet), -1 error. */
int tofu_net_is_connected(tofu_fd fd);
int32_t tofu_net_send(tofu_fd fd, const uint8_t *buf, int32_t len);
int32_t tofu_net_recv(tofu_fd fd, uint8_t *buf, int32_t len);
/* Probes a UDS path with a connect: 1 a server answers (live), 0 refused or
 * gone (stale), or a negative TOFU_E_* code. */
int32_t tofu_net_uds_probe(const struct sockaddr_un *addr, socklen_t addr_len);
/* TOFU_OK when this OS can make AF_UNIX stream sockets, else the failure of
 * socket(AF_UNIX) (TOFU_E_AFNOSUPPORT on Windows before 10 1803 and on Wine,
 * with the OS error recorded). Windows asks once per process. */
int32_t tofu_net_uds_check(void);
/* how: 0 read, 1 write, 2 both. */
int tofu_net_shutdown(tofu_fd fd, int how);

#endif
