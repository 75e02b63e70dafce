/**
 * The engine's only door to the native library: everything `src/` needs from
 * `ffi/` passes through this module.
 *
 * @module
 */

export type { BackendName, Native } from "../ffi/native.ts";
export { BackendId, backendIdOf, backendName, Interest, NativeError } from "../ffi/native.ts";
export { loadNativeAsync, NativeLoadError } from "../ffi/mod.ts";
