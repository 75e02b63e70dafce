/**
 * Whether this code runs on the process's main JavaScript thread, not in a
 * Worker. Waiter threads call back only into the main thread's realm:
 * terminating a Worker frees its callbacks while a waiter may still call one.
 *
 * @module
 */

import { isMainThread } from "node:worker_threads";

/** The global scope's class in a web Worker (undefined on the main thread). */
interface WorkerScope {
  WorkerGlobalScope?: abstract new () => unknown;
  self?: unknown;
}

/**
 * True on the main thread. Deno reports `isMainThread` true inside a web
 * Worker too, so its global scope is checked as well.
 */
export function onMainThread(): boolean {
  const scope = globalThis as WorkerScope;
  const inWebWorker = scope.WorkerGlobalScope !== undefined &&
    scope.self instanceof scope.WorkerGlobalScope;
  return isMainThread && !inWebWorker;
}
