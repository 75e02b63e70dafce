/**
 * The prebuilt library of a module imported from an http(s) URL (Deno only).
 *
 * A library cannot be opened from a URL, so it is fetched from the same base
 * URL the module came from (`<base>/ffi/prebuilt/<target>/<file>`, which pins
 * it to the imported version), checked against the SHA-256 built into
 * `prebuilt_manifest.ts`, and stored atomically (temp file, then rename) in
 * `<Deno cache dir>/tofu/<version>/<target>-<sha256 prefix>/`. A verified file
 * already there is used without any network access.
 *
 * Deno permissions this needs: `--allow-env` (to find the cache dir),
 * `--allow-read` and `--allow-write` on the cache dir, `--allow-net` to the
 * module's host (only when the library is not cached yet) and `--allow-ffi`.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { PREBUILT_FILES, PREBUILT_VERSION, type PrebuiltFile } from "./prebuilt_manifest.ts";

/** True when `url` (by default this module's own URL) is an http(s) URL. */
export function isRemoteUrl(url: string = import.meta.url): boolean {
  return url.startsWith("https:") || url.startsWith("http:");
}

/** The environment variables the cache dir is derived from, per platform. */
function cacheEnvNames(): string[] {
  if (process.platform === "win32") return ["DENO_DIR", "LOCALAPPDATA"];
  if (process.platform === "darwin") return ["DENO_DIR", "HOME"];
  return ["DENO_DIR", "XDG_CACHE_HOME", "HOME"];
}

function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The Deno cache dir, as Deno itself chooses it: `DENO_DIR`, else
 * `$XDG_CACHE_HOME/deno` or `~/.cache/deno` (Linux), `~/Library/Caches/deno`
 * (macOS), `%LOCALAPPDATA%\deno` (Windows). Throws when it cannot be known.
 */
export function denoCacheDir(): string {
  const denoDir = env("DENO_DIR");
  if (denoDir !== undefined) return denoDir;
  if (process.platform === "win32") {
    const local = env("LOCALAPPDATA");
    if (local !== undefined) return join(local, "deno");
  } else if (process.platform === "darwin") {
    const home = env("HOME");
    if (home !== undefined) return join(home, "Library", "Caches", "deno");
  } else {
    const xdg = env("XDG_CACHE_HOME");
    if (xdg !== undefined) return join(xdg, "deno");
    const home = env("HOME");
    if (home !== undefined) return join(home, ".cache", "deno");
  }
  throw new Error(`Cannot find the Deno cache dir: none of ${cacheEnvNames().join(", ")} is set`);
}

/** Where the library of `target` is cached under `cacheDir`, or an error naming the target. */
export function cachedLibraryPath(target: string, cacheDir: string): string {
  const entry = prebuiltEntry(target);
  const fileName = entry.file.slice(entry.file.lastIndexOf("/") + 1);
  return join(
    cacheDir,
    "tofu",
    PREBUILT_VERSION,
    `${target}-${entry.sha256.slice(0, 16)}`,
    fileName,
  );
}

function prebuiltEntry(target: string): PrebuiltFile {
  const entry = PREBUILT_FILES[target];
  if (entry === undefined) {
    throw new Error(`No prebuilt library of version ${PREBUILT_VERSION} exists for "${target}"`);
  }
  return entry;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** What {@linkcode fetchPrebuilt} did. */
export interface FetchedLibrary {
  /** The verified library file in the cache. */
  readonly path: string;
  /** The URL it was (or would have been) downloaded from. */
  readonly url: string;
  /** Its hex SHA-256, as the built-in manifest says. */
  readonly sha256: string;
  /** True when a verified copy was already cached and nothing was downloaded. */
  readonly cached: boolean;
}

/** Options of {@linkcode fetchPrebuilt}. */
export interface FetchOptions {
  /** The URL the module was loaded from (default: this module's URL). */
  readonly moduleUrl?: string;
  /** The cache dir (default: {@linkcode denoCacheDir}). */
  readonly cacheDir?: string;
}

/**
 * Returns a verified copy of the prebuilt library of `target` in the cache,
 * downloading it first when there is none. A download whose SHA-256 differs
 * from the built-in manifest is refused and nothing is written.
 *
 * @throws {Error} naming the URL and both digests on a checksum mismatch, the
 * HTTP status on a failed download, and Deno's own permission error otherwise.
 */
export async function fetchPrebuilt(
  target: string,
  options: FetchOptions = {},
): Promise<FetchedLibrary> {
  const entry = prebuiltEntry(target);
  const url = new URL(`./prebuilt/${entry.file}`, options.moduleUrl ?? import.meta.url).href;
  const path = cachedLibraryPath(target, options.cacheDir ?? denoCacheDir());
  if (existsSync(path) && sha256(readFileSync(path)) === entry.sha256) {
    return { path, url, sha256: entry.sha256, cached: true };
  }

  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`Cannot download the tofu library from ${url}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(
      `Cannot download the tofu library from ${url}: HTTP ${response.status} ${response.statusText}`,
    );
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const actual = sha256(bytes);
  if (actual !== entry.sha256) {
    throw new Error(
      `The tofu library downloaded from ${url} has SHA-256 ${actual}, ` +
        `the manifest built into this version (${PREBUILT_VERSION}) says ${entry.sha256}; ` +
        "it was not cached",
    );
  }
  storeAtomically(path, bytes);
  return { path, url, sha256: entry.sha256, cached: false };
}

/**
 * Writes `bytes` to a temp file beside `path`, then renames it into place, so
 * no reader ever sees a partial file and a loaded library is never rewritten
 * in place (macOS kills processes whose mapped dylib changes).
 */
function storeAtomically(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temp, bytes, { mode: 0o755 });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Where Deno keeps its cache by default, as a shell expression for the
 * advice when the environment cannot be read (so the cache dir is unknown).
 */
function defaultCacheDirText(): string {
  if (process.platform === "win32") return "%LOCALAPPDATA%\\deno";
  if (process.platform === "darwin") return "$HOME/Library/Caches/deno";
  return "$HOME/.cache/deno";
}

/**
 * The Deno flags the URL-import path needs and this process was not granted,
 * all of them in one sentence (so a user fixes them in one round), or
 * `undefined` when all are granted. `cacheDir` is `undefined` when it could
 * not be found (the env flag is then missing): the cache flags then name
 * Deno's default cache dir as a shell expression, and `$DENO_DIR` as the
 * alternative.
 */
export function remotePermissionAdvice(
  moduleUrl: string,
  cacheDir: string | undefined,
): string | undefined {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno?.permissions === undefined) return undefined;
  const granted = (descriptor: Deno.PermissionDescriptor): boolean =>
    deno.permissions.querySync(descriptor).state === "granted";
  const host = new URL(moduleUrl).host;
  const flags: string[] = [];
  const envMissing = cacheEnvNames().filter((variable) => !granted({ name: "env", variable }));
  if (envMissing.length > 0) {
    flags.push(`--allow-env=${envMissing.join(",")} (to find the Deno cache dir)`);
  }
  if (!granted({ name: "net", host })) {
    flags.push(`--allow-net=${host} (to download the library once)`);
  }
  const root = cacheDir === undefined ? undefined : join(cacheDir, "tofu");
  const shown = root ?? join(defaultCacheDirText(), "tofu");
  const where = root === undefined ? ` (or $DENO_DIR/tofu when DENO_DIR is set)` : "";
  const cacheNeeds: ["read" | "write" | "ffi", string][] = [
    ["read", "to verify the cached library"],
    ["write", "to cache the library"],
    ["ffi", "to open it"],
  ];
  for (const [name, why] of cacheNeeds) {
    // Without the cache dir, only a grant for every path is known to be enough.
    const enough = root === undefined ? granted({ name }) : granted({ name, path: root });
    if (!enough) flags.push(`--allow-${name}=${shown} (${why})`);
  }
  if (flags.length === 0) return undefined;
  return `Deno permissions not granted: ${flags.join(", ")}${where}`;
}
