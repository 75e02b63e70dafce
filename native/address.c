/* Numeric IP and UDS path parsing. */
#include "address.h"

#include <string.h>

#if !defined(_WIN32)
#include <arpa/inet.h>
#include <netinet/in.h>
#endif

#include "tofu.h"

/* Longest numeric form accepted: a full IPv6 address with an IPv4 tail. */
#define MAX_IP_TEXT 45

int32_t tofu_ip_address(const uint8_t *ip, int32_t ip_len, int32_t port,
                        struct sockaddr_storage *out, socklen_t *out_len) {
  if (ip_len < 0 || (ip_len > 0 && ip == NULL)) return TOFU_E_INVAL;
  if (port < 0 || port > 65535) return TOFU_E_INVAL;
  if (ip_len > MAX_IP_TEXT) return TOFU_E_BADADDR;
  char text[MAX_IP_TEXT + 1];
  if (ip_len == 0) {
    strcpy(text, "0.0.0.0");
  } else {
    if (memchr(ip, 0, (size_t)ip_len) != NULL) return TOFU_E_BADADDR;
    memcpy(text, ip, (size_t)ip_len);
    text[ip_len] = '\0';
  }
  memset(out, 0, sizeof *out);
  struct sockaddr_in *v4 = (struct sockaddr_in *)out;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *out_len = (socklen_t)sizeof *v4;
    return TOFU_OK;
  }
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *out_len = (socklen_t)sizeof *v6;
    return TOFU_OK;
  }
  return TOFU_E_BADADDR;
}

int32_t tofu_uds_address(const uint8_t *path, int32_t path_len, struct sockaddr_un *out,
                         socklen_t *out_len) {
  if (path_len < 0 || path == NULL || path_len == 0) return TOFU_E_INVAL;
  if (path_len >= TOFU_SUN_PATH_CAP) return TOFU_E_NAMETOOLONG;
  int abstract = path[0] == 0;
#if !defined(__linux__)
  if (abstract) return TOFU_E_AFNOSUPPORT;
#endif
  if (!abstract && memchr(path, 0, (size_t)path_len) != NULL) return TOFU_E_INVAL;
  memset(out, 0, sizeof *out);
  out->sun_family = AF_UNIX;
  memcpy(out->sun_path, path, (size_t)path_len);
  /* Abstract names are exactly path_len bytes; paths carry their NUL. */
  size_t used = offsetof(struct sockaddr_un, sun_path) + (size_t)path_len + (abstract ? 0 : 1);
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) ||   \
    defined(__DragonFly__)
  out->sun_len = (uint8_t)used;
#endif
  *out_len = (socklen_t)used;
  return TOFU_OK;
}
