/**
 * The native boundary of tofu: the only module `src/` imports from `ffi/`.
 *
 * `loadNative()` finds, opens and verifies the native library for the running
 * runtime (Deno or Bun) and returns it as {@linkcode Native}, an interface of
 * int32 calls that mirrors `native/tofu.h` one to one.
 *
 * @example
 * ```ts
 * import { BackendId, loadNative } from "./mod.ts";
 * const native = loadNative();
 * const poller = native.pollerCreate(BackendId.default);
 * native.pollerDestroy(poller);
 * native.unload();
 * ```
 *
 * @module
 */

export { BackendId, Interest, type Native, NativeError } from "./native.ts";
export {
  type LoadAttempt,
  loadNative,
  loadNativeAsync,
  type LoadOptions,
  NATIVE_LIB_ENV,
  NativeLoadError,
} from "./loader.ts";
export { ABI_VERSION } from "./symbols.ts";
