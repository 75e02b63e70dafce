/**
 * The Bun adapter: opens the library with `bun:ffi`.
 *
 * bun:ffi has no asynchronous calls. On the main thread engines wait through
 * the library's waiter thread, which calls back through a thread-safe
 * JSCallback (25 µs per wake-up here). Inside a Worker, whose termination
 * would free that callback under the waiter, the park runs on worker threads
 * that open the same library and block in `tofu_poller_park`, then post the
 * result back (30-36 µs). One worker serves one park at a time; idle workers
 * are kept for the next park and never keep the process alive.
 *
 * @module
 */

import process from "node:process";
import { Worker } from "node:worker_threads";
import { onMainThread } from "./main_thread.ts";
import { bunDlopen, bunThreadSafeCallback } from "./bun_ffi.ts";
import { embeddedParkWorker } from "./embedded.ts";
import { type OpenedLibrary } from "./native_binding.ts";
import { openBunWakeSocket } from "./bun_wake_socket.ts";

/** One worker thread that runs one park at a time. */
class ParkWorker {
  #worker: Worker;
  #idle: ParkWorker[];
  #resolve: ((result: number) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #onResult = (result: number): void => {
    const resolve = this.#resolve;
    this.#clear();
    this.#idle.push(this);
    resolve?.(result);
  };
  #onError = (error: unknown): void => {
    // A broken worker does not go back to the idle list.
    const reject = this.#reject;
    this.#clear();
    reject?.(error);
  };

  constructor(path: string, idle: ParkWorker[]) {
    this.#idle = idle;
    // The npm package registers a self-contained worker (also inside a compiled binary).
    const script = embeddedParkWorker() ?? new URL("./bun_park_worker.ts", import.meta.url);
    this.#worker = new Worker(script, {
      workerData: { path },
    });
    this.#worker.unref();
    this.#worker.on("message", this.#onResult);
    this.#worker.on("error", this.#onError);
    // An exit with a park pending (a crash) must not leave its promise hanging.
    this.#worker.on("exit", (code: number) => {
      this.#onError(new Error(`The park worker exited with code ${code}`));
    });
  }

  park(poller: number, timeoutMs: number): Promise<number> {
    // A pending park keeps the process alive, as a pending Deno call does.
    this.#worker.ref();
    return new Promise<number>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#worker.postMessage([poller, timeoutMs]);
    });
  }

  end(): void {
    this.#worker.unref();
    this.#worker.postMessage(null);
  }

  #clear(): void {
    this.#resolve = undefined;
    this.#reject = undefined;
    this.#worker.unref();
  }
}

/**
 * Opens the library at `path` with `bun:ffi`. Throws what `dlopen` throws when
 * the file cannot be loaded.
 */
export function openBunLibrary(path: string): OpenedLibrary {
  const lib = bunDlopen(path);
  const idle: ParkWorker[] = [];
  const all: ParkWorker[] = [];
  // bun:ffi callbacks keep nothing alive: a referenced timer that never fires
  // does, while waiters run.
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  return {
    symbols: lib.symbols,
    // Abstract socket names and io_uring are Linux's.
    wakeSocket: process.platform === "linux" ? openBunWakeSocket : undefined,
    // Waiter threads only on the main thread: terminating a Worker frees its
    // JSCallbacks, and a waiter calling one afterwards crashes the process.
    threadSafeCallback: onMainThread()
      ? (fn) => {
        const callback = bunThreadSafeCallback(fn);
        return { pointer: callback.ptr, close: () => callback.close() };
      }
      : undefined,
    keepAlive(on) {
      if (on && keepAlive === undefined) keepAlive = setInterval(() => {}, 2 ** 30);
      if (!on && keepAlive !== undefined) {
        clearInterval(keepAlive);
        keepAlive = undefined;
      }
    },
    park(poller, timeoutMs) {
      let worker = idle.pop();
      if (worker === undefined) {
        worker = new ParkWorker(path, idle);
        all.push(worker);
      }
      return worker.park(poller, timeoutMs);
    },
    close() {
      for (const worker of all) worker.end();
      lib.close();
    },
  };
}
