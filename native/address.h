/* Turns the byte strings that cross the ABI into socket addresses. */
#ifndef TOFU_ADDRESS_H
#define TOFU_ADDRESS_H

#include <stdint.h>

#include "platform.h"

/* A numeric IPv4 or IPv6 address (no brackets; empty = 0.0.0.0) and a port.
 * TOFU_E_INVAL for a null buffer, negative length or bad port, TOFU_E_BADADDR
 * for text that is not a numeric address. */
int32_t tofu_ip_address(const uint8_t *ip, int32_t ip_len, int32_t port,
                        struct sockaddr_storage *out, socklen_t *out_len);

/* A UDS address from path bytes. A leading NUL names a Linux abstract socket
 * (TOFU_E_AFNOSUPPORT elsewhere); otherwise the path may not contain NUL
 * (TOFU_E_INVAL) and must fit sun_path with its NUL (TOFU_E_NAMETOOLONG).
 * path_len 0 is TOFU_E_INVAL here (the caller decides what empty means). */
int32_t tofu_uds_address(const uint8_t *path, int32_t path_len, struct sockaddr_un *out,
                         socklen_t *out_len);

#endif
