/* The handle table (see handles.h). One mutex guards it: lookups are short. */
#include "handles.h"

#include <stdlib.h>

#include "tofu.h"

#define INDEX_BITS 20
#define INDEX_MASK ((1u << INDEX_BITS) - 1u)
#define GENERATION_MASK 0x7ffu /* 11 bits keep handles positive */
#define MAX_SLOTS (1u << INDEX_BITS)

struct slot {
  struct tofu_object *obj;
  uint32_t generation; /* 1..GENERATION_MASK */
  uint32_t next_free;  /* FIFO free-queue link (index + 1, 0 = end) */
};

static tofu_mutex table_lock = TOFU_MUTEX_INIT;
static struct slot *slots;
static uint32_t slot_count;
static uint32_t free_head; /* index + 1 of the oldest free slot, 0 = none */
static uint32_t free_tail;
static int32_t live_count;

static int grow_table(void) {
  if (slot_count >= MAX_SLOTS) return 0;
  uint32_t wanted = slot_count == 0 ? 256u : slot_count * 2u;
  if (wanted > MAX_SLOTS) wanted = MAX_SLOTS;
  struct slot *bigger = realloc(slots, (size_t)wanted * sizeof *bigger);
  if (bigger == NULL) return 0;
  for (uint32_t i = slot_count; i < wanted; i++) {
    bigger[i].obj = NULL;
    bigger[i].generation = 1;
    bigger[i].next_free = 0;
    if (free_tail != 0) bigger[free_tail - 1].next_free = i + 1;
    else free_head = i + 1;
    free_tail = i + 1;
  }
  slots = bigger;
  slot_count = wanted;
  return 1;
}

int32_t tofu_handle_add(struct tofu_object *obj) {
  tofu_mutex_lock(&table_lock);
  if (free_head == 0 && !grow_table()) {
    tofu_mutex_unlock(&table_lock);
    return TOFU_E_NOMEM;
  }
  uint32_t index = free_head - 1;
  struct slot *s = &slots[index];
  free_head = s->next_free;
  if (free_head == 0) free_tail = 0;
  s->next_free = 0;
  s->obj = obj;
  live_count++;
  int32_t handle = (int32_t)((s->generation << INDEX_BITS) | index);
  tofu_mutex_unlock(&table_lock);
  return handle;
}

/* The slot a handle names, if it is live and of `kind`; table_lock held. */
static struct slot *find_slot(int32_t handle, enum tofu_kind kind) {
  if (handle <= 0) return NULL;
  uint32_t index = (uint32_t)handle & INDEX_MASK;
  uint32_t generation = (uint32_t)handle >> INDEX_BITS;
  if (index >= slot_count) return NULL;
  struct slot *s = &slots[index];
  if (s->obj == NULL || s->generation != generation || s->obj->kind != kind) return NULL;
  return s;
}

struct tofu_object *tofu_handle_acquire(int32_t handle, enum tofu_kind kind) {
  tofu_mutex_lock(&table_lock);
  struct slot *s = find_slot(handle, kind);
  struct tofu_object *obj = NULL;
  if (s != NULL) {
    obj = s->obj;
    atomic_fetch_add(&obj->refs, 1);
  }
  tofu_mutex_unlock(&table_lock);
  return obj;
}

void tofu_handle_release(struct tofu_object *obj) {
  if (obj != NULL && atomic_fetch_sub(&obj->refs, 1) == 1) obj->destroy(obj);
}

struct tofu_object *tofu_handle_remove(int32_t handle, enum tofu_kind kind) {
  tofu_mutex_lock(&table_lock);
  struct slot *s = find_slot(handle, kind);
  struct tofu_object *obj = NULL;
  if (s != NULL) {
    obj = s->obj;
    uint32_t index = (uint32_t)(s - slots);
    s->obj = NULL;
    s->generation = s->generation >= GENERATION_MASK ? 1 : s->generation + 1;
    if (free_tail != 0) slots[free_tail - 1].next_free = index + 1;
    else free_head = index + 1;
    free_tail = index + 1;
    live_count--;
  }
  tofu_mutex_unlock(&table_lock);
  return obj;
}

TOFU_API int32_t tofu_handle_count(void) {
  tofu_mutex_lock(&table_lock);
  int32_t n = live_count;
  tofu_mutex_unlock(&table_lock);
  return n;
}
