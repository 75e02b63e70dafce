/**
 * The engine's only door to the native library: everything `src/` needs from
 * `ffi/` passes through this module.
 *
 * @module
 */

export type { Native } from "../ffi/native.ts";
export { BackendId, Interest, NativeError } from "../ffi/native.ts";
export { loadNative, loadNativeAsync, NativeLoadError } from "../ffi/mod.ts";
