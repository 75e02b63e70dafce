/**
 * Helpers for tests and examples, kept out of the main entry: a TCP port that
 * is free to listen on and a fresh Unix domain socket path (spec §14,
 * scenarios S-110 and S-111).
 *
 * Import them from the `testing` entry of the package: `@tofu/tofu/testing`
 * on JSR, `tofu-js/testing` on npm, or `testing.ts` beside `mod.ts` for a URL
 * import.
 *
 * @example
 * ```ts
 * import { AllocationStrategy, Reactor, TCPServerAddress, UDSServerAddress } from "./mod.ts";
 * import { findFreeTcpPort, tempUdsPath } from "./testing.ts";
 *
 * await using rtr = await Reactor.create();
 * const ampe = rtr.ampe();
 * const server = ampe.create();
 *
 * const tcp = ampe.get(AllocationStrategy.always)!;
 * new TCPServerAddress("127.0.0.1", await findFreeTcpPort()).format(tcp);
 * server.post(tcp);
 * ampe.put(await server.waitReceive(1000)); // WelcomeResponse: listening on TCP
 *
 * const uds = ampe.get(AllocationStrategy.always)!;
 * new UDSServerAddress(tempUdsPath()).format(uds);
 * server.post(uds);
 * ampe.put(await server.waitReceive(1000)); // WelcomeResponse: listening on the path
 * ```
 *
 * @module
 */

import process from "node:process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { AmpeError } from "./src/ampe_error.ts";
import { readEnv } from "./src/env.ts";
import { AmpeStatus } from "./src/status.ts";
import { loadNativeAsync } from "./src/native_port.ts";

const ANY_IPV4 = new TextEncoder().encode("0.0.0.0");
/** One counter per process, even if this module is loaded more than once. */
const COUNTER = Symbol.for("tofu.tempUdsPath.counter");
type CounterHolder = { [COUNTER]?: number };

/** Ports handed out by this process, so concurrent callers never get the same one. */
const GIVEN = Symbol.for("tofu.findFreeTcpPort.given");
type GivenHolder = { [GIVEN]?: Set<number> };
/**
 * Candidates lie below the ephemeral ranges of Linux (32768+), macOS and
 * Windows (49152+), so a client socket's automatic local port cannot take a
 * port between the check and the listen.
 */
const FIRST_CANDIDATE = 20000;
const CANDIDATES = 12000;

/**
 * A TCP port that was free a moment ago: a random port below the OS's
 * ephemeral range that could be bound on 0.0.0.0, never one this process got
 * before. Another process may still take it in between: that is inherent to
 * the method (spec §14).
 */
export async function findFreeTcpPort(): Promise<number> {
  const native = await loadNativeAsync();
  try {
    const holder = globalThis as GivenHolder;
    const given = holder[GIVEN] ??= new Set();
    for (let attempt = 0; attempt < 200; attempt++) {
      const port = FIRST_CANDIDATE + Math.floor(Math.random() * CANDIDATES);
      if (given.has(port)) continue;
      const sock = native.tcpListen(ANY_IPV4, port, 1);
      if (sock < 0) continue;
      native.close(sock, false);
      given.add(port);
      return port;
    }
    throw new AmpeError(
      AmpeStatus.listenFailed,
      "Cannot find a free TCP port: 200 candidates were taken",
    );
  } finally {
    native.unload();
  }
}

/**
 * A UDS path that is unique in this process and does not exist yet (it is
 * not created): `{TMPDIR or /tmp}/tofu_{pid}_{n}.port`.
 */
export function tempUdsPath(): string {
  const dir = (readEnv("TMPDIR") || (process.platform === "win32" ? tmpdir() : "/tmp"))
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
