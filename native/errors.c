/* errno / WSA error -> TOFU_E_* mapping and the per-thread last OS error. */
#include "errors.h"

#include "platform.h"
#include "tofu.h"

static _Thread_local int32_t last_os_error;

int tofu_os_error_now(void) {
#if defined(_WIN32)
  return WSAGetLastError();
#else
  return errno;
#endif
}

#if defined(_WIN32)
int32_t tofu_map_os_error(int e) {
  switch (e) {
  case WSAEWOULDBLOCK:
  case WSAEINPROGRESS:
  case WSAEALREADY:
  case WSAEINTR:
    return TOFU_E_AGAIN;
  case WSAENOTSOCK:
  case WSAEBADF:
    return TOFU_E_BADHANDLE;
  case WSAEINVAL:
  case WSAEFAULT:
  case WSAEISCONN:
    return TOFU_E_INVAL;
  case WSAENOBUFS:
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
    return TOFU_E_NOMEM;
  case WSAEMFILE:
  case ERROR_TOO_MANY_OPEN_FILES:
    return TOFU_E_MFILE;
  case WSAEADDRINUSE:
  case ERROR_ALREADY_EXISTS:
  case ERROR_FILE_EXISTS:
    return TOFU_E_ADDRINUSE;
  case WSAEADDRNOTAVAIL:
    return TOFU_E_ADDRNOTAVAIL;
  case WSAEACCES:
  case ERROR_ACCESS_DENIED:
    return TOFU_E_ACCES;
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
    return TOFU_E_NOENT;
  case WSAECONNREFUSED:
    return TOFU_E_CONNREFUSED;
  case WSAECONNRESET:
  case WSAECONNABORTED:
  case WSAENETRESET:
    return TOFU_E_CONNRESET;
  case WSAESHUTDOWN:
    return TOFU_E_PIPE;
  case WSAETIMEDOUT:
    return TOFU_E_TIMEDOUT;
  case WSAENETUNREACH:
  case WSAEHOSTUNREACH:
  case WSAENETDOWN:
  case WSAEHOSTDOWN:
    return TOFU_E_UNREACH;
  case WSAEAFNOSUPPORT:
  case WSAEPFNOSUPPORT:
  case WSAEPROTONOSUPPORT:
    return TOFU_E_AFNOSUPPORT;
  case WSAENOTCONN:
    return TOFU_E_NOTCONN;
  case ERROR_FILENAME_EXCED_RANGE:
    return TOFU_E_NAMETOOLONG;
  default:
    return TOFU_E_OTHER;
  }
}
#else
int32_t tofu_map_os_error(int e) {
  switch (e) {
  case EAGAIN:
#if EWOULDBLOCK != EAGAIN
  case EWOULDBLOCK:
#endif
  case EINPROGRESS:
  case EALREADY:
  case EINTR:
    return TOFU_E_AGAIN;
  case EBADF:
  case ENOTSOCK:
    return TOFU_E_BADHANDLE;
  case EINVAL:
  case EFAULT:
  case EISCONN:
  case EOPNOTSUPP:
    return TOFU_E_INVAL;
  case ENOMEM:
  case ENOBUFS:
    return TOFU_E_NOMEM;
  case EMFILE:
  case ENFILE:
    return TOFU_E_MFILE;
  case EADDRINUSE:
  case EEXIST:
    return TOFU_E_ADDRINUSE;
  case EADDRNOTAVAIL:
    return TOFU_E_ADDRNOTAVAIL;
  case EACCES:
  case EPERM:
  case EROFS:
    return TOFU_E_ACCES;
  case ENOENT:
  case ENOTDIR:
    return TOFU_E_NOENT;
  case ENAMETOOLONG:
    return TOFU_E_NAMETOOLONG;
  case ECONNREFUSED:
    return TOFU_E_CONNREFUSED;
  case ECONNRESET:
  case ECONNABORTED:
  case ENETRESET:
    return TOFU_E_CONNRESET;
  case EPIPE:
    return TOFU_E_PIPE;
  case ETIMEDOUT:
    return TOFU_E_TIMEDOUT;
  case ENETUNREACH:
  case EHOSTUNREACH:
  case ENETDOWN:
#ifdef EHOSTDOWN
  case EHOSTDOWN:
#endif
    return TOFU_E_UNREACH;
  case EAFNOSUPPORT:
  case EPROTONOSUPPORT:
  case EPFNOSUPPORT:
    return TOFU_E_AFNOSUPPORT;
  case ENOTCONN:
    return TOFU_E_NOTCONN;
  default:
    return TOFU_E_OTHER;
  }
}
#endif

int32_t tofu_fail_with(int os_error) {
  last_os_error = (int32_t)os_error;
  return tofu_map_os_error(os_error);
}

int32_t tofu_fail_as(int os_error, int32_t code) {
  last_os_error = (int32_t)os_error;
  return code;
}

int32_t tofu_fail(void) { return tofu_fail_with(tofu_os_error_now()); }

TOFU_API int32_t tofu_last_os_error(void) { return last_os_error; }

/* One case per name, spelled as the OS headers spell it. */
#define NAMED(e) \
  case e:        \
    return #e;

/* The OS's symbolic name of an error number, or NULL when it is not one the
 * library meets (socket, file and resource errors). */
static const char *os_error_name(int e) {
  switch (e) {
#if defined(_WIN32)
    NAMED(WSAEWOULDBLOCK)
    NAMED(WSAEINPROGRESS)
    NAMED(WSAEALREADY)
    NAMED(WSAEINTR)
    NAMED(WSAENOTSOCK)
    NAMED(WSAEBADF)
    NAMED(WSAEINVAL)
    NAMED(WSAEFAULT)
    NAMED(WSAEISCONN)
    NAMED(WSAENOBUFS)
    NAMED(WSAEMFILE)
    NAMED(WSAEADDRINUSE)
    NAMED(WSAEADDRNOTAVAIL)
    NAMED(WSAEACCES)
    NAMED(WSAECONNREFUSED)
    NAMED(WSAECONNRESET)
    NAMED(WSAECONNABORTED)
    NAMED(WSAENETRESET)
    NAMED(WSAESHUTDOWN)
    NAMED(WSAETIMEDOUT)
    NAMED(WSAENETUNREACH)
    NAMED(WSAEHOSTUNREACH)
    NAMED(WSAENETDOWN)
    NAMED(WSAEHOSTDOWN)
    NAMED(WSAEAFNOSUPPORT)
    NAMED(WSAEPFNOSUPPORT)
    NAMED(WSAEPROTONOSUPPORT)
    NAMED(WSAENOTCONN)
    NAMED(WSAEMSGSIZE)
    NAMED(WSAEOPNOTSUPP)
    NAMED(WSAENAMETOOLONG)
    NAMED(WSANOTINITIALISED)
    NAMED(ERROR_NOT_ENOUGH_MEMORY)
    NAMED(ERROR_OUTOFMEMORY)
    NAMED(ERROR_TOO_MANY_OPEN_FILES)
    NAMED(ERROR_ALREADY_EXISTS)
    NAMED(ERROR_FILE_EXISTS)
    NAMED(ERROR_ACCESS_DENIED)
    NAMED(ERROR_FILE_NOT_FOUND)
    NAMED(ERROR_PATH_NOT_FOUND)
    NAMED(ERROR_FILENAME_EXCED_RANGE)
    NAMED(ERROR_INVALID_PARAMETER)
#else
    NAMED(EAGAIN)
#if EWOULDBLOCK != EAGAIN
    NAMED(EWOULDBLOCK)
#endif
    NAMED(EINPROGRESS)
    NAMED(EALREADY)
    NAMED(EINTR)
    NAMED(EBADF)
    NAMED(ENOTSOCK)
    NAMED(EINVAL)
    NAMED(EFAULT)
    NAMED(EISCONN)
    NAMED(EOPNOTSUPP)
    NAMED(ENOMEM)
    NAMED(ENOBUFS)
    NAMED(EMFILE)
    NAMED(ENFILE)
    NAMED(EADDRINUSE)
    NAMED(EEXIST)
    NAMED(EADDRNOTAVAIL)
    NAMED(EACCES)
    NAMED(EPERM)
    NAMED(EROFS)
    NAMED(ENOENT)
    NAMED(ENOTDIR)
    NAMED(ENAMETOOLONG)
    NAMED(ELOOP)
    NAMED(ECONNREFUSED)
    NAMED(ECONNRESET)
    NAMED(ECONNABORTED)
    NAMED(ENETRESET)
    NAMED(EPIPE)
    NAMED(ETIMEDOUT)
    NAMED(ENETUNREACH)
    NAMED(EHOSTUNREACH)
    NAMED(ENETDOWN)
#ifdef EHOSTDOWN
    NAMED(EHOSTDOWN)
#endif
    NAMED(EAFNOSUPPORT)
    NAMED(EPROTONOSUPPORT)
#ifdef EPFNOSUPPORT
    NAMED(EPFNOSUPPORT)
#endif
    NAMED(ENOTCONN)
    NAMED(EMSGSIZE)
    NAMED(EIO)
    NAMED(ENOSPC)
    NAMED(EPROTO)
#endif
  default:
    return NULL;
  }
}

#undef NAMED

TOFU_API int32_t tofu_os_error_name(int32_t os_error, uint8_t *out, int32_t cap) {
  if (out == NULL || cap <= 0) return TOFU_E_INVAL;
  const char *name = os_error_name((int)os_error);
  if (name == NULL) return 0;
  int32_t len = 0;
  while (name[len] != '\0') len++;
  if (len > cap) return TOFU_E_INVAL;
  for (int32_t i = 0; i < len; i++) out[i] = (uint8_t)name[i];
  return len;
}
