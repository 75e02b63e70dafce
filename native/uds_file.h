/*
 * What lives at a UDS path on disk, its identity, and removal: the pieces of
 * the N18/N13 ownership rules that differ between POSIX and Windows.
 */
#ifndef TOFU_UDS_FILE_H
#define TOFU_UDS_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Identifies one file: device + inode (POSIX), volume + file index (Windows). */
struct tofu_file_id {
  uint64_t device;
  uint64_t inode;
};

enum tofu_path_kind {
  TOFU_PATH_MISSING = 0,
  TOFU_PATH_SOCKET = 1,
  TOFU_PATH_OTHER = 2, /* exists and is not a socket */
};

/* Classifies path (not following symlinks); a negative TOFU_E_* on error. */
int32_t tofu_path_kind(const char *path);
/* Identity of the file at path; TOFU_OK or a negative TOFU_E_* code. */
int32_t tofu_path_identity(const char *path, struct tofu_file_id *out);
/* Removes the file at path; TOFU_OK or a negative TOFU_E_* code. */
int32_t tofu_path_remove(const char *path);
/* Writes the temporary directory (no trailing separator, NUL-terminated)
 * into out; returns its length, or -1 if it does not fit. */
int32_t tofu_temp_dir(char *out, size_t cap);
/* This process's id (for temporary names). */
uint32_t tofu_process_id(void);

#endif
