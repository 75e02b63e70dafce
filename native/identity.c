/* Library identity: ABI version and the hash of the sources it was built from. */
#include <string.h>

#include "tofu.h"

#ifndef TOFU_SOURCE_HASH
/* Builds outside scripts/build/native.sh carry no hash: 64 zeros. */
#define TOFU_SOURCE_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#endif

_Static_assert(sizeof(TOFU_SOURCE_HASH) == 65, "TOFU_SOURCE_HASH must be 64 hex digits");

/* Kept whole in the binary (`used`) so scripts/check/native.sh can find it. */
__attribute__((used)) static const char source_hash[65] = TOFU_SOURCE_HASH;

TOFU_API int32_t tofu_abi_version(void) { return TOFU_ABI_VERSION; }

TOFU_API int32_t tofu_source_hash(uint8_t *out, int32_t cap) {
  if (out == NULL || cap < 64) return TOFU_E_INVAL;
  memcpy(out, source_hash, 64);
  return 64;
}
