/* UDS listener path ownership (N13): what tofu_close needs from uds.c. */
#ifndef TOFU_UDS_H
#define TOFU_UDS_H

#include "sock.h"

/* Unlinks a UDS listener's path if the file there is still the one it bound;
 * does nothing for other sockets. */
void tofu_uds_forget_path(struct tofu_socket *listener);

#endif
