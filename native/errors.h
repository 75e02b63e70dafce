/* Maps errno and WSA codes onto the platform-neutral TOFU_E_* codes. */
#ifndef TOFU_ERRORS_H
#define TOFU_ERRORS_H

#include <stdint.h>

/* The calling thread's current OS error (errno or WSAGetLastError()). */
int tofu_os_error_now(void);

/* TOFU_E_* code for an OS error number; TOFU_E_OTHER when unmapped. */
int32_t tofu_map_os_error(int os_error);

/* Records os_error as the thread's last OS error and returns its mapping. */
int32_t tofu_fail_with(int os_error);

/* Records os_error as the thread's last OS error and returns code: for a
 * failure the library detects itself (a path that is not a socket), so the
 * OS error the caller reads is this one, not a stale one. */
int32_t tofu_fail_as(int os_error, int32_t code);

/* tofu_fail_with(tofu_os_error_now()): the usual tail of a failed syscall. */
int32_t tofu_fail(void);

#endif
