/*
 * A wake channel: a descriptor that pollers watch for readability and any
 * thread can make readable. eventfd on Linux, a pipe on other POSIX systems,
 * a connected loopback TCP pair on Windows (WSAPoll only polls sockets).
 * Signals coalesce: one drain consumes every signal sent before it.
 */
#ifndef TOFU_WAKE_H
#define TOFU_WAKE_H

#include <stdint.h>

#include "platform.h"

struct tofu_wake {
  tofu_fd read_fd;  /* watched for readability */
  tofu_fd write_fd; /* signalled (the same descriptor for eventfd) */
};

/* Opens both ends; returns TOFU_OK or a TOFU_E_* code. */
int32_t tofu_wake_open(struct tofu_wake *w);
/* Makes read_fd readable; safe from any thread; never blocks. */
void tofu_wake_signal(struct tofu_wake *w);
/* Consumes every pending signal; never blocks. */
void tofu_wake_drain(struct tofu_wake *w);
void tofu_wake_close(struct tofu_wake *w);

#endif
