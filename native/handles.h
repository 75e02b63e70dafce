/*
 * The handle table: sockets and pollers cross the ABI as positive int32
 * handles. A handle is (generation << TOFU_HANDLE_INDEX_BITS) | slot; freed
 * slots go to the back of a FIFO queue and bump their generation, so a stale
 * handle is rejected for a long time instead of naming a newer object.
 *
 * Objects are reference counted: the table holds one reference, and every
 * successful tofu_handle_acquire() holds another until tofu_handle_release().
 * The object's destructor runs when the last reference goes, so a thread
 * blocked in a park keeps its poller alive while another thread destroys it.
 */
#ifndef TOFU_HANDLES_H
#define TOFU_HANDLES_H

#include <stdint.h>

#include "platform.h"

enum tofu_kind { TOFU_KIND_SOCKET = 1, TOFU_KIND_POLLER = 2 };

/* Every object in the table starts with this header. */
struct tofu_object {
  atomic_int refs;
  enum tofu_kind kind;
  void (*destroy)(struct tofu_object *self); /* frees the object */
};

/* Adds obj (refs must be 1: the table's reference); returns its handle or
 * TOFU_E_NOMEM when the table is full. */
int32_t tofu_handle_add(struct tofu_object *obj);

/* The live object of `kind` behind handle, with one more reference; NULL if
 * the handle is stale, malformed or of another kind. */
struct tofu_object *tofu_handle_acquire(int32_t handle, enum tofu_kind kind);

/* Drops a reference; the last one runs obj->destroy. */
void tofu_handle_release(struct tofu_object *obj);

/* Removes handle from the table (later acquires fail) and returns the object
 * still holding the table's reference, which the caller must release; NULL
 * if the handle is not live or of another kind. */
struct tofu_object *tofu_handle_remove(int32_t handle, enum tofu_kind kind);

#endif
