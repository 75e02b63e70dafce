// What this host can do, checked once per test file, so that a case the host cannot run is skipped
// with the reason, never by a rule about platforms. A check only looks for a missing capability:
// any other failure is left to the tests, which then fail and say so.

import { loadNative, NativeError } from "../ffi/mod.ts";

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
