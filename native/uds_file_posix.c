/* UDS path helpers for POSIX: lstat, unlink, TMPDIR. */
#if !defined(_WIN32)
#include "uds_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "tofu.h"

int32_t tofu_path_kind(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT) return TOFU_PATH_MISSING;
    return tofu_fail();
  }
  return S_ISSOCK(st.st_mode) ? TOFU_PATH_SOCKET : TOFU_PATH_OTHER;
}

int32_t tofu_path_identity(const char *path, struct tofu_file_id *out) {
  struct stat st;
  if (lstat(path, &st) != 0) return tofu_fail();
  if (!S_ISSOCK(st.st_mode)) return TOFU_E_NOTSOCK;
  out->device = (uint64_t)st.st_dev;
  out->inode = (uint64_t)st.st_ino;
  return TOFU_OK;
}

int32_t tofu_path_remove(const char *path) { return unlink(path) == 0 ? TOFU_OK : tofu_fail(); }

int32_t tofu_temp_dir(char *out, size_t cap) {
  const char *dir = getenv("TMPDIR");
  if (dir == NULL || dir[0] == '\0') dir = "/tmp";
  size_t len = strlen(dir);
  while (len > 1 && dir[len - 1] == '/') len--;
  if (len + 1 > cap) return -1;
  memcpy(out, dir, len);
  out[len] = '\0';
  return (int32_t)len;
}

uint32_t tofu_process_id(void) { return (uint32_t)getpid(); }
#endif
