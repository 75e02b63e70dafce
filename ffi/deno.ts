/**
 * The Deno adapter: opens the library with `Deno.dlopen`.
 *
 * The park is the same C function declared a second time with
 * `nonblocking: true`: Deno runs it on its blocking thread pool and returns a
 * promise, so the JS thread never blocks. On the main thread engines wait
 * through the library's waiter thread instead, which calls back through a
 * thread-safe `UnsafeCallback`.
 *
 * @module
 */

import { onMainThread } from "./main_thread.ts";
import { openDenoWakeSocket } from "./deno_wake_socket.ts";
import { type OpenedLibrary, type ThreadSafeCallback } from "./native_binding.ts";
import { type NativeSymbols, PARK_SYMBOL, type SymbolName, SYMBOLS } from "./symbols.ts";

/** The Deno declaration of every symbol, derived from the neutral table. */
type DenoDeclarations =
  & {
    readonly [K in SymbolName]: {
      readonly parameters: (typeof SYMBOLS)[K]["params"];
      readonly result: "i32";
    };
  }
  & {
    readonly park_nonblocking: {
      readonly name: typeof PARK_SYMBOL;
      readonly parameters: (typeof SYMBOLS)[typeof PARK_SYMBOL]["params"];
      readonly result: "i32";
      readonly nonblocking: true;
    };
  };

function declarations(): DenoDeclarations {
  const entries = Object.entries(SYMBOLS).map((
    [name, { params, result }],
  ) => [name, { parameters: params, result }]);
  const park = SYMBOLS[PARK_SYMBOL];
  return {
    ...Object.fromEntries(entries),
    park_nonblocking: {
      name: PARK_SYMBOL,
      parameters: park.params,
      result: park.result,
      nonblocking: true,
    },
  } as DenoDeclarations;
}

/**
 * Opens the library at `path` with `Deno.dlopen` (needs `--allow-ffi`).
 * Throws what `Deno.dlopen` throws when the file cannot be loaded.
 */
export function openDenoLibrary(path: string): OpenedLibrary {
  const lib = Deno.dlopen(path, declarations());
  // The one `function` parameter is typed opaquely in the neutral table.
  const symbols = lib.symbols as unknown as NativeSymbols;
  const callbacks: Deno.UnsafeCallback<typeof WAITER_CALLBACK>[] = [];
  let keepingAlive = false;
  return {
    symbols,
    park: lib.symbols.park_nonblocking,
    // Abstract socket names and io_uring are Linux's.
    wakeSocket: Deno.build.os === "linux" ? openDenoWakeSocket : undefined,
    // Waiter threads only on the main thread: terminating a Worker frees its
    // callbacks, and a waiter calling one afterwards crashes the process.
    // Workers park with a nonblocking call, which Deno runs on a thread of its
    // own.
    threadSafeCallback: onMainThread()
      ? (fn): ThreadSafeCallback => {
        const callback = Deno.UnsafeCallback.threadSafe(WAITER_CALLBACK, fn);
        // A thread-safe callback starts referenced; keepAlive decides instead.
        if (!keepingAlive) callback.unref();
        callbacks.push(callback);
        return {
          pointer: callback.pointer,
          close() {
            callbacks.splice(callbacks.indexOf(callback), 1);
            callback.close();
          },
        };
      }
      : undefined,
    keepAlive(on) {
      if (on === keepingAlive) return;
      keepingAlive = on;
      for (const callback of callbacks) on ? callback.ref() : callback.unref();
    },
    close: () => lib.close(),
  };
}

/** `tofu_ready_fn`: `void (int32 poller, int32 event)`. */
const WAITER_CALLBACK = { parameters: ["i32", "i32"], result: "void" } as const;

/**
 * A sentence naming the Deno permission flags the loader may need and this
 * process lacks, or `undefined` when all are granted.
 */
export function denoPermissionAdvice(prebuiltDir: string | undefined): string | undefined {
  const needs: [Deno.PermissionDescriptor, string][] = [
    [{ name: "ffi" }, "--allow-ffi (to open the library)"],
    [
      { name: "env", variable: "TOFU_NATIVE_LIB" },
      "--allow-env=TOFU_NATIVE_LIB (for the override)",
    ],
  ];
  if (prebuiltDir !== undefined) {
    needs.push([
      { name: "read", path: prebuiltDir },
      `--allow-read=${prebuiltDir} (to verify a prebuilt one)`,
    ]);
  }
  const missing = needs.filter(([descriptor]) =>
    Deno.permissions.querySync(descriptor).state !== "granted"
  ).map(([, flag]) => flag);
  return missing.length === 0 ? undefined : `Deno permissions not granted: ${missing.join(", ")}`;
}
