/* UDS path helpers for Windows: an AF_UNIX socket file is a reparse point
 * with tag IO_REPARSE_TAG_AF_UNIX; identity is volume serial + file index. */
#if defined(_WIN32)
#include "uds_file.h"

#include <string.h>

#include "errors.h"
#include "platform.h"
#include "tofu.h"

#ifndef IO_REPARSE_TAG_AF_UNIX
#define IO_REPARSE_TAG_AF_UNIX 0x80000023L
#endif

int32_t tofu_path_kind(const char *path) {
  DWORD attributes = GetFileAttributesA(path);
  if (attributes == INVALID_FILE_ATTRIBUTES) {
    DWORD err = GetLastError();
    if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) return TOFU_PATH_MISSING;
    return tofu_fail_with((int)err);
  }
  if (!(attributes & FILE_ATTRIBUTE_REPARSE_POINT)) return TOFU_PATH_OTHER;
  WIN32_FIND_DATAA found;
  HANDLE search = FindFirstFileA(path, &found);
  if (search == INVALID_HANDLE_VALUE) return tofu_fail_with((int)GetLastError());
  FindClose(search);
  return found.dwReserved0 == (DWORD)IO_REPARSE_TAG_AF_UNIX ? TOFU_PATH_SOCKET : TOFU_PATH_OTHER;
}

int32_t tofu_path_identity(const char *path, struct tofu_file_id *out) {
  int32_t kind = tofu_path_kind(path);
  if (kind < 0) return kind;
  if (kind == TOFU_PATH_MISSING) return TOFU_E_NOENT;
  if (kind != TOFU_PATH_SOCKET) return TOFU_E_NOTSOCK;
  HANDLE file = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                            OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS,
                            NULL);
  if (file == INVALID_HANDLE_VALUE) return tofu_fail_with((int)GetLastError());
  BY_HANDLE_FILE_INFORMATION info;
  BOOL ok = GetFileInformationByHandle(file, &info);
  DWORD err = GetLastError();
  CloseHandle(file);
  if (!ok) return tofu_fail_with((int)err);
  out->device = info.dwVolumeSerialNumber;
  out->inode = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
  return TOFU_OK;
}

int32_t tofu_path_remove(const char *path) {
  return DeleteFileA(path) ? TOFU_OK : tofu_fail_with((int)GetLastError());
}

int32_t tofu_temp_dir(char *out, size_t cap) {
  char dir[MAX_PATH + 1];
  DWORD len = GetTempPathA(sizeof dir, dir);
  if (len == 0 || len > MAX_PATH) return -1;
  while (len > 3 && (dir[len - 1] == '\\' || dir[len - 1] == '/')) len--;
  if ((size_t)len + 1 > cap) return -1;
  memcpy(out, dir, len);
  out[len] = '\0';
  return (int32_t)len;
}

uint32_t tofu_process_id(void) { return (uint32_t)GetCurrentProcessId(); }
#endif
