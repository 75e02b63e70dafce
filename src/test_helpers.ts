/**
 * Helpers for tests and examples: a free TCP port and a fresh UDS path
 * (spec §14, scenarios S-110 and S-111).
 *
 * @module
 */

import process from "node:process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";
import { loadNative } from "./native_port.ts";

const ANY_IPV4 = new TextEncoder().encode("0.0.0.0");
/** One counter per process, even if this module is loaded more than once. */
const COUNTER = Symbol.for("tofu.tempUdsPath.counter");
type CounterHolder = { [COUNTER]?: number };

/**
 * A TCP port that was free a moment ago (bound on 0.0.0.0:0, read, closed).
 * Another process may take it in between: this is inherent to the method.
 */
export function findFreeTcpPort(): Promise<number> {
  const native = loadNative();
  const sock = native.tcpListen(ANY_IPV4, 0, 1);
  if (sock < 0) {
    return Promise.reject(
      new AmpeError(AmpeStatus.listenFailed, `Cannot find a free TCP port: native error ${sock}`),
    );
  }
  const port = native.localPort(sock);
  native.close(sock, false);
  if (port <= 0) {
    return Promise.reject(new AmpeError(AmpeStatus.listenFailed, `Cannot read the free TCP port: ${port}`));
  }
  return Promise.resolve(port);
}

/**
 * A UDS path that is unique in this process and does not exist yet (it is
 * not created): `{TMPDIR or /tmp}/tofu_{pid}_{n}.port`.
 */
export function tempUdsPath(): string {
  const dir = (process.env.TMPDIR || (process.platform === "win32" ? tmpdir() : "/tmp"))
    .replace(/[\\/]+$/, "");
  const sep = process.platform === "win32" ? "\\" : "/";
  const holder = globalThis as CounterHolder;
  for (;;) {
    const n = (holder[COUNTER] ?? 0) + 1;
    holder[COUNTER] = n;
    const path = `${dir}${sep}tofu_${process.pid}_${n}.port`;
    if (!existsSync(path)) return path;
  }
}
