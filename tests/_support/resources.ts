/**
 * What this process holds, read from the OS and the runtime, so that tests
 * and the soak script can prove nothing leaks: open descriptors (all, or of
 * one kind), resident memory, live native handles; and a full garbage
 * collection where the runtime offers one.
 *
 * @module
 */

import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import process from "node:process";
import { loadNative } from "../../ffi/mod.ts";

/** Descriptors that are sockets (what `/proc/self/fd/N` links to). */
export const SOCKET_FDS: RegExp = /^socket:/;

/**
 * Open descriptors of this process, or only those whose `/proc/self/fd` link
 * matches `kind`; -1 where that cannot be counted (not Linux).
 */
export function openFds(kind?: RegExp): number {
  // Only Linux's own: under Wine, /proc/self/fd lists the Wine host process's
  // descriptors, which come and go with Wine's own work.
  if (process.platform !== "linux") return -1;
  let fds: string[];
  try {
    fds = readdirSync("/proc/self/fd");
  } catch {
    return -1;
  }
  if (kind === undefined) return fds.length;
  let n = 0;
  for (const fd of fds) {
    try {
      if (kind.test(readlinkSync(`/proc/self/fd/${fd}`))) n++;
    } catch {
      // closed while listing (e.g. the directory's own descriptor)
    }
  }
  return n;
}

/** Resident set size of this process in bytes (VmRSS on Linux, else the runtime's figure). */
export function rssBytes(): number {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    if (m !== null) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return process.memoryUsage().rss;
}

/** Live native handles (sockets, pollers) of the shared native library. */
export function nativeHandleCount(): number {
  const native = loadNative();
  try {
    return native.handleCount();
  } finally {
    native.unload();
  }
}

/** Asks the runtime for a full garbage collection where it offers one; true if it did. */
export function collectGarbage(): boolean {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun !== undefined) {
    g.Bun.gc(true);
    return true;
  }
  if (typeof g.gc === "function") {
    g.gc();
    return true;
  }
  return false;
}

/** Name of the running runtime. */
export function runtimeName(): "deno" | "bun" | "node" {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "node";
}
