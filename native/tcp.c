/* TCP listeners and connects on numeric addresses. */
#include "address.h"
#include "sock.h"
#include "tofu.h"

TOFU_API int32_t tofu_tcp_listen(const uint8_t *ip, int32_t ip_len, int32_t port, int32_t backlog) {
  if (backlog < 0) return TOFU_E_INVAL;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int32_t code = tofu_ip_address(ip, ip_len, port, &addr, &addr_len);
  if (code < 0) return code;
  return tofu_socket_listen(addr.ss_family, (struct sockaddr *)&addr, addr_len, backlog, NULL);
}

TOFU_API int32_t tofu_tcp_connect(const uint8_t *ip, int32_t ip_len, int32_t port) {
  if (port == 0) return TOFU_E_INVAL;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int32_t code = tofu_ip_address(ip, ip_len, port, &addr, &addr_len);
  if (code < 0) return code;
  return tofu_socket_connect(addr.ss_family, (struct sockaddr *)&addr, addr_len);
}
