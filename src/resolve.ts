/**
 * Host name resolution for TCP addresses. Numeric addresses go straight to
 * the native library; names are resolved with the runtime's asynchronous
 * resolver (never a blocking getaddrinfo on the JS thread), and the first
 * answer is used, as tofu does (spec §5.4).
 *
 * @module
 */

import { lookup } from "node:dns/promises";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True for a numeric IPv4 address or an IPv6 address (anything with a colon). */
export function isNumericHost(host: string): boolean {
  return IPV4.test(host) || host.includes(":");
}

/** Names longer than this are rejected without asking the resolver (spec §5.4: host >= 256 bytes). */
const MAX_HOST_LENGTH = 255;

let warnedPermission = false;

/** The first address of `host`, or null if it does not resolve. */
export async function resolveHost(host: string): Promise<string | null> {
  if (host.length === 0 || host.length > MAX_HOST_LENGTH) return null;
  try {
    const answer = await lookup(host);
    return answer.address;
  } catch (err) {
    // Deno without --allow-net refuses every lookup (EPERM). The app only sees
    // invalid_address, so say once what is really missing.
    if ((err as { code?: string }).code === "EPERM" && !warnedPermission) {
      warnedPermission = true;
      console.warn(
        `tofu: cannot resolve host name "${host}": name lookups are not permitted ` +
          "(on Deno, run with --allow-net); connecting by numeric address works without it",
      );
    }
    return null;
  }
}
