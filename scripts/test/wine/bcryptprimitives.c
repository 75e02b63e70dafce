/*
 * bcryptprimitives.dll for Wine 8, which lacks it: Bun for Windows imports
 * only ProcessPrng from it. Fills the buffer from the system RNG that Wine
 * does have (RtlGenRandom, exported by advapi32 as SystemFunction036).
 * Built by scripts/test/wine.mjs; never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* RtlGenRandom takes a ULONG length: large requests go in slices. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    ULONG slice = length > 0x40000000 ? 0x40000000 : (ULONG)length;
    if (!SystemFunction036(data, slice)) return FALSE;
    data += slice;
    length -= slice;
  }
  return TRUE;
}
