/**
 * Worker thread of the Bun adapter: blocks in `tofu_poller_park` so that the
 * JS thread does not (bun:ffi has no asynchronous calls).
 *
 * It opens the same library file (the OS shares one loaded copy, so handles
 * are the same), then answers each request `[poller, timeoutMs]` with the
 * park's result; a `null` request closes the library and ends the worker.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { bunDlopen } from "./bun_ffi.ts";
import { PARK_SYMBOL } from "./symbols.ts";

const port = parentPort;
if (port === null) throw new Error("The park worker must run as a worker thread, not as main");

const lib = bunDlopen((workerData as { path: string }).path, [PARK_SYMBOL]);
const park = lib.symbols.tofu_poller_park;

port.on("message", (request: readonly [number, number] | null) => {
  if (request === null) {
    lib.close();
    port.close();
    return;
  }
  port.postMessage(park(request[0], request[1]));
});
