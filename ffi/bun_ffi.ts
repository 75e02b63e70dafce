/**
 * Synchronous access to `bun:ffi`, typed for what this package uses.
 *
 * `bun:ffi` is reached through `import.meta.require` instead of a static
 * import so that the module graph stays loadable and type-checkable on Deno,
 * where the Bun adapter is simply never called.
 *
 * @module
 */

import { type NativeSymbols, type SymbolName, SYMBOLS } from "./symbols.ts";

/** A `bun:ffi` JSCallback: a JavaScript function native code can call. */
export interface BunCallback {
  /** Its code pointer. */
  readonly ptr: unknown;
  /** Frees it. */
  close(): void;
}

/** The part of `bun:ffi` this package uses. */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: readonly string[]; returns: string }>,
  ): { symbols: Record<string, unknown>; close(): void };
  JSCallback: new (
    fn: (...args: number[]) => void,
    definition: { args: readonly string[]; returns: string; threadsafe: boolean },
  ) => BunCallback;
}

function bunFfi(): BunFfi {
  const meta = import.meta as ImportMeta & { require(id: string): unknown };
  return meta.require("bun:ffi") as BunFfi;
}

/**
 * A thread-safe `void (int32, int32)` JSCallback: native threads may call it,
 * and each call runs `fn` on the JS thread.
 */
export function bunThreadSafeCallback(fn: (a: number, b: number) => void): BunCallback {
  const ffi = bunFfi();
  return new ffi.JSCallback(fn as (...args: number[]) => void, {
    args: ["i32", "i32"],
    returns: "void",
    threadsafe: true,
  });
}

/** A library opened with `bun:ffi`: its functions and how to close it. */
export interface BunLibrary {
  /** Every function of the neutral symbol table. */
  readonly symbols: NativeSymbols;
  /** Frees the library; no function may be called afterwards. */
  close(): void;
}

/**
 * Opens the library at `path` with `bun:ffi` `dlopen`, declaring the symbols
 * named in `names` (all of them by default). Throws what `dlopen` throws.
 */
export function bunDlopen(
  path: string,
  names: readonly SymbolName[] = Object.keys(SYMBOLS) as SymbolName[],
): BunLibrary {
  const ffi = bunFfi();
  const declarations = Object.fromEntries(
    names.map((name) => [name, { args: SYMBOLS[name].params, returns: SYMBOLS[name].result }]),
  );
  const lib = ffi.dlopen(path, declarations);
  return { symbols: lib.symbols as unknown as NativeSymbols, close: () => lib.close() };
}
