/**
 * What this host can do, checked once per test file, so that a case the host cannot run is skipped
 * with the reason, never by a rule about platforms. A check only looks for a missing capability:
 * any other failure is left to the tests, which then fail and say so.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { type AddressInfo, connect, createServer } from "node:net";
import process from "node:process";
import { loadNative, NativeError } from "../../ffi/mod.ts";

/** Names of the OS errors a capability check can meet (the rest are shown as numbers). */
const OS_ERROR_NAMES: Record<number, string> = {
  97: "EAFNOSUPPORT", // Linux
  47: "EAFNOSUPPORT", // macOS, BSD
  10047: "WSAEAFNOSUPPORT", // Windows
};

/**
 * Why Unix domain sockets cannot be used here, or `false` when they can: one real UDS listen on a
 * fresh temporary path (Wine 8, for one, has no AF_UNIX at all).
 */
export const UDS_SKIP: string | false = probeUds();

function probeUds(): string | false {
  const native = loadNative();
  try {
    const sock = native.udsListen(new Uint8Array(0), 1);
    if (sock >= 0) {
      native.close(sock, true);
      return false;
    }
    if (sock !== NativeError.afNoSupport) return false;
    const os = native.lastOsError();
    return `AF_UNIX unsupported: socket() failed with ${OS_ERROR_NAMES[os] ?? "OS error"} (${os})`;
  } finally {
    native.unload();
  }
}

/** The skip option of a case over transport `t`: the reason when the host cannot run it. */
export function skipFor(t: "tcp" | "uds"): { skip: string | false } {
  return { skip: t === "uds" ? UDS_SKIP : false };
}

/**
 * The transports this host can run, for cases where the transport is incidental (a leak check, an
 * idle-CPU check, a stress mix): they run over what the host has instead of being skipped whole.
 */
export const HOST_TRANSPORTS: readonly ("tcp" | "uds")[] = UDS_SKIP ? ["tcp"] : ["tcp", "uds"];

/**
 * Why an abortive TCP close cannot be observed here, or `false` when it can: a `node:net` server
 * resets its first connection (`resetAndDestroy`, SO_LINGER {1, 0} underneath) and the client must
 * see ECONNRESET. Wine 8 ends such a connection orderly (FIN) whatever SO_LINGER says. Checked
 * through the runtime's own sockets, not tofu's, so that a bug of ours cannot turn into a skip.
 */
export async function abortiveCloseSkip(): Promise<string | false> {
  const server = createServer((sock) => sock.resetAndDestroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const ending = await new Promise<string>((resolve) => {
      const client = connect({ port, host: "127.0.0.1" });
      client.on("data", () => {});
      client.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
      client.on("end", () => {
        client.destroy();
        resolve("end");
      });
    });
    return ending === "ECONNRESET"
      ? false
      : `an abortive close (SO_LINGER {1, 0}) does not reset here: the peer saw ${ending}`;
  } finally {
    server.close();
  }
}

/**
 * Why a child runtime cannot be started under a descriptor limit here, or `false` when it can:
 * bash sets `ulimit -n` and then becomes this very runtime (what the descriptor-limit cases do).
 * A Windows runtime has no bash to start, or cannot be started from it.
 */
export function fdLimitSkip(limit: number): string | false {
  const run = spawnSync(
    "bash",
    ["-c", `ulimit -n ${limit} && exec "$0" --version`, process.execPath],
    { encoding: "utf8", timeout: 30_000 },
  );
  if (run.status === 0) return false;
  const why = run.error?.message ?? (run.stderr.trim() || `exit status ${run.status}`);
  return `cannot start this runtime from bash under ulimit -n ${limit}: ${why}`;
}
