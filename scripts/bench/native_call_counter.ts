/**
 * Counts the engine's calls into the native library, for profiling: every
 * method of the process's shared `Native` instance (the one `Reactor.create`
 * gets too) is wrapped with a counter, and so is `queueMicrotask` (the
 * engine schedules its turns with it). At exit the counts are written to
 * stderr as one line `NATIVE-CALLS {json}`.
 *
 * Only for measuring: the wrappers themselves cost time.
 *
 * @module
 */

import process from "node:process";
import { loadNative } from "../../ffi/mod.ts";

/** Prefix of the line with the counts. */
export const COUNTS_PREFIX = "NATIVE-CALLS ";

/** Installs the counters; call before `Reactor.create`. */
export function countNativeCalls(): void {
  // The loader shares one instance per library file, so the engine will use this one.
  const native = loadNative() as unknown as Record<string, unknown>;
  const counts: Record<string, number> = {};
  const proto = Object.getPrototypeOf(native) as object;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const method = Object.getOwnPropertyDescriptor(proto, name)?.value;
    if (name === "constructor" || typeof method !== "function") continue;
    counts[name] = 0;
    native[name] = (...args: unknown[]) => {
      counts[name]!++;
      return (method as (...a: unknown[]) => unknown).apply(native, args);
    };
  }
  const queue = globalThis.queueMicrotask;
  counts.queueMicrotask = 0;
  globalThis.queueMicrotask = (callback) => {
    counts.queueMicrotask!++;
    queue(callback);
  };
  process.on("exit", () => {
    const used = Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
    console.error(`${COUNTS_PREFIX}${JSON.stringify(used)}`);
  });
}
