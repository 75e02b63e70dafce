/**
 * The symbol table of the native library, declared once for both runtimes.
 *
 * Every `tofu_*` function of `native/tofu.h` appears here in a neutral form
 * (`params` and `result`) from which the Deno adapter derives
 * `{ parameters, result }` and the Bun adapter `{ args, returns }`. Only two
 * value types cross the boundary: `i32` scalars and `buffer`s (typed arrays
 * that the caller owns for the duration of the call); and, once per process
 * for the waiter, a `function` (a thread-safe callback's code pointer).
 *
 * @module
 */

/** The ABI version this TypeScript side speaks (`TOFU_ABI_VERSION` of `native/tofu.h`). */
export const ABI_VERSION = 5;

/** A value type that may cross the native boundary. */
export type NeutralType = "i32" | "buffer" | "function";

/** One native function in neutral form. */
export interface NeutralSymbol {
  /** Parameter types, in C order. */
  readonly params: readonly NeutralType[];
  /** Result type: every function of the library returns an int32. */
  readonly result: "i32";
}

/**
 * Every function of `native/tofu.h`.
 *
 * @example Derive a declaration for another FFI API
 * ```ts
 * import { SYMBOLS } from "./symbols.ts";
 * const names = Object.keys(SYMBOLS); // ["tofu_abi_version", ...]
 * ```
 */
export const SYMBOLS = {
  tofu_abi_version: { params: [], result: "i32" },
  tofu_source_hash: { params: ["buffer", "i32"], result: "i32" },
  tofu_backends: { params: [], result: "i32" },
  tofu_default_backend: { params: [], result: "i32" },
  tofu_last_os_error: { params: [], result: "i32" },
  tofu_handle_count: { params: [], result: "i32" },

  tofu_poller_create: { params: ["i32"], result: "i32" },
  tofu_poller_backend: { params: ["i32"], result: "i32" },
  tofu_poller_destroy: { params: ["i32"], result: "i32" },
  tofu_poller_register: { params: ["i32", "i32", "i32", "i32"], result: "i32" },
  tofu_poller_modify: { params: ["i32", "i32", "i32", "i32"], result: "i32" },
  tofu_poller_unregister: { params: ["i32", "i32"], result: "i32" },
  tofu_poller_wait: { params: ["i32", "buffer", "i32", "i32"], result: "i32" },
  tofu_poller_wait_us: { params: ["i32", "buffer", "i32", "i32"], result: "i32" },
  tofu_poller_park: { params: ["i32", "i32"], result: "i32" },
  tofu_poller_wake: { params: ["i32"], result: "i32" },
  tofu_mask_bits: { params: ["i32", "buffer", "i32"], result: "i32" },
  tofu_waiter_start: { params: ["i32", "function"], result: "i32" },
  tofu_waiter_arm: { params: ["i32"], result: "i32" },
  tofu_waiter_gone: { params: ["i32"], result: "i32" },

  tofu_tcp_listen: { params: ["buffer", "i32", "i32", "i32"], result: "i32" },
  tofu_tcp_connect: { params: ["buffer", "i32", "i32"], result: "i32" },
  tofu_uds_listen: { params: ["buffer", "i32", "i32"], result: "i32" },
  tofu_uds_connect: { params: ["buffer", "i32"], result: "i32" },
  tofu_uds_path: { params: ["i32", "buffer", "i32"], result: "i32" },
  tofu_connect_check: { params: ["i32"], result: "i32" },
  tofu_accept: { params: ["i32", "buffer", "i32"], result: "i32" },
  tofu_send: { params: ["i32", "buffer", "i32", "i32"], result: "i32" },
  tofu_recv: { params: ["i32", "buffer", "i32", "i32"], result: "i32" },
  tofu_shutdown: { params: ["i32", "i32"], result: "i32" },
  tofu_close: { params: ["i32", "i32"], result: "i32" },
  tofu_local_port: { params: ["i32"], result: "i32" },

  // ABI 3
  tofu_sendv: {
    params: [
      "i32",
      "buffer",
      "i32",
      ...["buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
      ...["buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    ],
    result: "i32",
  },

  // ABI 4
  tofu_os_error_name: { params: ["i32", "buffer", "i32"], result: "i32" },

  // ABI 5
  tofu_ring_start: { params: ["i32", "i32"], result: "i32" },
  tofu_ring_arm: { params: ["i32"], result: "i32" },
} as const satisfies Record<string, NeutralSymbol>;

/** Buffers one `tofu_sendv` call takes (`TOFU_SENDV_SLOTS`). */
export const SENDV_SLOTS = 16;
/** Pieces one `tofu_sendv` call takes (`TOFU_SENDV_MAX_SEGS`). */
export const SENDV_MAX_SEGS = 64;

/** The name of a native function. */
export type SymbolName = keyof typeof SYMBOLS;

/**
 * The one function that blocks for a long time: both adapters run it off the
 * JS thread (a Deno `nonblocking` declaration, a Bun worker).
 */
export const PARK_SYMBOL = "tofu_poller_park" satisfies SymbolName;

/** The JavaScript type of an argument of the given neutral type. */
type ArgOf<T extends NeutralType> = T extends "i32" ? number
  : T extends "buffer" ? Uint8Array | Int32Array
  : CallbackPointer;

/** A thread-safe callback's code pointer, as the runtime represents it (opaque here). */
export type CallbackPointer = unknown;

/** The JavaScript argument list of a neutral parameter list. */
type ArgsOf<P extends readonly NeutralType[]> = { -readonly [I in keyof P]: ArgOf<P[I]> };

/** The opened library's functions as both runtimes present them: synchronous, int32 results. */
export type NativeSymbols = {
  readonly [K in SymbolName]: (...args: ArgsOf<(typeof SYMBOLS)[K]["params"]>) => number;
};
