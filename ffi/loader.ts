/**
 * Finds, opens and verifies the native library, once per process.
 *
 * Where the library comes from, in order: the `path` option, else the
 * `TOFU_NATIVE_LIB` environment variable, else the prebuilt library for this
 * OS, CPU and C library: the one the entry module embedded (see
 * `embedded.ts`), else the one under `ffi/prebuilt/`. When this module was imported
 * from an http(s) URL, {@linkcode loadNativeAsync} first downloads that
 * prebuilt library into the Deno cache (see `remote.ts`). A given path or variable is
 * authoritative: when it fails, nothing else is tried, so a typo never loads a
 * different binary silently. The loaded library must report the ABI version
 * this code speaks, and a prebuilt one must match the checksum manifest.
 *
 * @module
 */

import process from "node:process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { openBunLibrary } from "./bun.ts";
import { denoPermissionAdvice, openDenoLibrary } from "./deno.ts";
import { embeddedLibrary } from "./embedded.ts";
import { fileSha256, type ManifestEntry, readManifestEntry } from "./manifest.ts";
import { PREBUILT_FILES, PREBUILT_SOURCE_HASH } from "./prebuilt_manifest.ts";
import { denoCacheDir, fetchPrebuilt, isRemoteUrl, remotePermissionAdvice } from "./remote.ts";
import type { Native } from "./native.ts";
import { NativeBinding, type OpenedLibrary } from "./native_binding.ts";
import { ABI_VERSION } from "./symbols.ts";
import { currentTarget } from "./target.ts";

/** The environment variable that names the library file to load. */
export const NATIVE_LIB_ENV = "TOFU_NATIVE_LIB";

/**
 * Where the prebuilt libraries and their manifest live; `undefined` when this
 * module was not loaded from local files (e.g. imported from an https URL),
 * since a library cannot be opened from a URL.
 */
export const PREBUILT_DIR: string | undefined = import.meta.url.startsWith("file:")
  ? fileURLToPath(new URL("./prebuilt/", import.meta.url))
  : undefined;

/** Options of {@linkcode loadNative}. */
export interface LoadOptions {
  /** Load exactly this library file (overrides `TOFU_NATIVE_LIB` and the prebuilt). */
  readonly path?: string;
  /** Look for prebuilt libraries and `manifest.json` here instead of `ffi/prebuilt/` (tests). */
  readonly prebuiltDir?: string;
  /** Require this ABI version instead of {@linkcode ABI_VERSION} (tests). */
  readonly abiVersion?: number;
}

/** One place the loader looked, and why it did not load from there. */
export interface LoadAttempt {
  /** `path option`, `TOFU_NATIVE_LIB` or `prebuilt <target>`. */
  readonly source: string;
  /** The file tried, when there was one. */
  readonly path?: string;
  /** Why it failed. */
  readonly reason: string;
}

/**
 * The native library could not be loaded; `attempts` lists every place tried.
 *
 * @example
 * ```ts
 * import { loadNative, NativeLoadError } from "./loader.ts";
 * try {
 *   loadNative({ path: "/nowhere/libtofu.so" });
 * } catch (error) {
 *   if (error instanceof NativeLoadError) console.error(error.attempts);
 * }
 * ```
 */
export class NativeLoadError extends Error {
  /** Every place tried, in order, with its reason. */
  readonly attempts: readonly LoadAttempt[];

  /** Builds the message from the attempts and an optional advice line. */
  constructor(attempts: readonly LoadAttempt[], advice?: string) {
    const lines = attempts.map(({ source, path, reason }) =>
      `  - ${source}${path === undefined ? "" : ` (${path})`}: ${reason}`
    );
    super(
      ["The tofu native library could not be loaded:", ...lines, ...(advice ? [advice] : [])]
        .join("\n"),
    );
    this.name = "NativeLoadError";
    this.attempts = attempts;
  }
}

/** A library file to try. */
interface Candidate {
  readonly source: string;
  readonly path: string;
  /** Set for a prebuilt library: what the manifest says about it (none in a fresh tree). */
  readonly manifest?: ManifestEntry | undefined;
}

/** The prebuilt library of a module imported from a URL: it must be downloaded first. */
interface RemoteCandidate {
  readonly source: string;
  readonly target: string;
}

/** The runtime's way to open a library. */
type Opener = (path: string) => OpenedLibrary;

/** Libraries loaded by this process, by file path; shared by every engine. */
const loaded = new Map<string, NativeBinding>();

function isDeno(): boolean {
  return typeof (globalThis as { Deno?: { dlopen?: unknown } }).Deno?.dlopen === "function";
}

function runtimeOpener(): Opener | string {
  if (isDeno()) return openDenoLibrary;
  if (typeof process.versions.bun === "string") return openBunLibrary;
  const node = process.versions.node;
  const runtime = typeof node === "string" ? `Node.js ${node}` : "this runtime";
  return `${runtime} is not supported: tofu-js needs the FFI of Deno or Bun; run it with one of them`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads `TOFU_NATIVE_LIB`; a denied read (Deno without --allow-env) is an attempt. */
function envPath(attempts: LoadAttempt[]): string | undefined {
  try {
    const value = process.env[NATIVE_LIB_ENV];
    if (value !== undefined && value !== "") return value;
    attempts.push({ source: NATIVE_LIB_ENV, reason: "not set" });
    return undefined;
  } catch (error) {
    attempts.push({ source: NATIVE_LIB_ENV, reason: `cannot be read: ${messageOf(error)}` });
    return undefined;
  }
}

/** The one library file to try, or `undefined` with the reasons in `attempts`. */
function pickCandidate(
  options: LoadOptions,
  attempts: LoadAttempt[],
): Candidate | RemoteCandidate | undefined {
  if (options.path !== undefined) {
    return { source: "path option", path: options.path };
  }
  attempts.push({ source: "path option", reason: "not given" });
  const fromEnv = envPath(attempts);
  if (fromEnv !== undefined) return { source: NATIVE_LIB_ENV, path: fromEnv };

  // Deno ships for glibc only, so there is nothing to detect there.
  const target = currentTarget(isDeno() ? () => "gnu" : undefined);
  if (typeof target === "string") {
    attempts.push({ source: "prebuilt", reason: target });
    return undefined;
  }
  const source = `prebuilt ${target.name}`;
  const embedded = options.prebuiltDir === undefined ? embeddedCandidate(target.name) : undefined;
  if (embedded !== undefined) return embedded;
  const dir = options.prebuiltDir ?? PREBUILT_DIR;
  if (dir === undefined) {
    if (isRemoteUrl(import.meta.url)) return { source: `remote ${source}`, target: target.name };
    attempts.push({
      source,
      reason: `this module was loaded from ${import.meta.url}, not from local files; ` +
        `set ${NATIVE_LIB_ENV} or pass a path`,
    });
    return undefined;
  }
  let manifest: ManifestEntry | undefined;
  try {
    manifest = readManifestEntry(dir, target.name);
  } catch (error) {
    attempts.push({ source, reason: `the manifest cannot be used: ${messageOf(error)}` });
    return undefined;
  }
  const path = join(dir, manifest?.file ?? join(target.name, target.fileName));
  return { source, path, manifest };
}

/** The library the entry module embedded for `target`, checked against the built-in manifest. */
function embeddedCandidate(target: string): Candidate | undefined {
  const path = embeddedLibrary(target);
  const entry = PREBUILT_FILES[target];
  if (path === undefined || entry === undefined) return undefined;
  const manifest = { file: entry.file, sha256: entry.sha256, sourceHash: PREBUILT_SOURCE_HASH };
  return { source: `embedded ${target}`, path, manifest };
}

/** Checks the file before it is loaded; returns a reason when it must not be. */
function checkFile(candidate: Candidate): string | undefined {
  if (candidate.manifest === undefined) return undefined;
  const expected = candidate.manifest.sha256;
  let actual: string;
  try {
    actual = fileSha256(candidate.path);
  } catch (error) {
    return `cannot be read to verify its checksum: ${messageOf(error)}`;
  }
  return actual === expected
    ? undefined
    : `the file's SHA-256 is ${actual}, the manifest says ${expected}`;
}

/**
 * Checks the opened library: its ABI version, and its source hash when one is
 * expected; returns a reason when it must not be used.
 */
function checkLibrary(
  native: Native,
  abiVersion: number,
  expected: string | undefined,
): string | undefined {
  const abi = native.abiVersion();
  if (abi !== abiVersion) {
    return `ABI version mismatch: the library has ABI version ${abi}, this TypeScript code needs ${abiVersion}`;
  }
  if (expected === undefined) return undefined;
  const actual = native.sourceHash();
  return actual === expected
    ? undefined
    : `source hash mismatch: the library was built from sources ${actual}, the manifest says ${expected}`;
}

/**
 * Loads the native library (see the module documentation for where from)
 * and returns the process's shared instance. Call `unload()` once per call of
 * `loadNative` when done; the library closes after the last one.
 *
 * On Deno this needs `--allow-ffi`, plus `--allow-read` for the prebuilt
 * manifest and `--allow-env=TOFU_NATIVE_LIB` to honour the variable.
 *
 * @throws {NativeLoadError} listing every attempt when no library could be used.
 *
 * @example
 * ```ts
 * import { loadNative } from "./loader.ts";
 * const native = loadNative();
 * console.log(native.abiVersion(), native.path);
 * native.unload();
 * ```
 */
export function loadNative(options: LoadOptions = {}): Native {
  const attempts: LoadAttempt[] = [];
  const open = usableOpener(attempts);
  const picked = open === undefined ? undefined : pickCandidate(options, attempts);
  return finishLocal(open, picked, options, attempts);
}

/** Opens a local candidate, or throws with every attempt (a URL import needs the async loader). */
function finishLocal(
  open: Opener | undefined,
  picked: Candidate | RemoteCandidate | undefined,
  options: LoadOptions,
  attempts: LoadAttempt[],
): Native {
  if (open !== undefined && picked !== undefined) {
    if ("path" in picked) {
      const native = openCandidate(open, picked, options, attempts);
      if (native !== undefined) return native;
    } else {
      attempts.push({
        source: picked.source,
        reason: "this module was imported from a URL, so the library must be downloaded first: " +
          "use loadNativeAsync() (Reactor.create does) or set " + NATIVE_LIB_ENV,
      });
    }
  }
  throw new NativeLoadError(attempts, localAdvice(options));
}

/**
 * Like {@linkcode loadNative}, and also works when this module was imported
 * from an http(s) URL (Deno): the prebuilt library for this platform is then
 * fetched from the same base URL, verified against the SHA-256 built into
 * `prebuilt_manifest.ts`, stored atomically in the Deno cache dir and reused
 * from there, offline too. `Reactor.create` uses this.
 *
 * @throws {NativeLoadError} listing every attempt, and the Deno permission
 * flags that are missing, when no library could be used.
 *
 * @example
 * ```ts
 * import { loadNativeAsync } from "./loader.ts";
 * const native = await loadNativeAsync();
 * console.log(native.path);
 * native.unload();
 * ```
 */
export async function loadNativeAsync(options: LoadOptions = {}): Promise<Native> {
  const attempts: LoadAttempt[] = [];
  const open = usableOpener(attempts);
  const picked = open === undefined ? undefined : pickCandidate(options, attempts);
  if (open === undefined || picked === undefined || "path" in picked) {
    return finishLocal(open, picked, options, attempts);
  }
  let cacheDir: string | undefined;
  try {
    cacheDir = denoCacheDir();
    const fetched = await fetchPrebuilt(picked.target, { cacheDir });
    const manifest = {
      file: fetched.path,
      sha256: fetched.sha256,
      sourceHash: PREBUILT_SOURCE_HASH,
    };
    const candidate = { source: picked.source, path: fetched.path, manifest };
    const native = openCandidate(open, candidate, options, attempts);
    if (native !== undefined) return native;
  } catch (error) {
    attempts.push({ source: picked.source, reason: messageOf(error) });
  }
  throw new NativeLoadError(attempts, remotePermissionAdvice(import.meta.url, cacheDir));
}

function localAdvice(options: LoadOptions): string | undefined {
  return isDeno() ? denoPermissionAdvice(options.prebuiltDir ?? PREBUILT_DIR) : undefined;
}

/** The runtime's opener, or `undefined` with the reason in `attempts`. */
function usableOpener(attempts: LoadAttempt[]): Opener | undefined {
  const open = runtimeOpener();
  if (typeof open !== "string") return open;
  attempts.push({ source: "runtime", reason: open });
  return undefined;
}

/** Opens or reuses one candidate; `undefined` with the reason in `attempts` when it cannot. */
function openCandidate(
  open: Opener,
  candidate: Candidate,
  options: LoadOptions,
  attempts: LoadAttempt[],
): NativeBinding | undefined {
  const { source, path } = candidate;
  const reject = (reason: string): undefined => {
    attempts.push({ source, path, reason });
    return undefined;
  };
  const abiVersion = options.abiVersion ?? ABI_VERSION;

  const cached = loaded.get(path);
  if (cached !== undefined) {
    // Its file and sources were verified when it was first loaded.
    const mismatch = checkLibrary(cached, abiVersion, undefined);
    if (mismatch !== undefined) return reject(mismatch);
    cached.retain();
    return cached;
  }

  const badFile = checkFile(candidate);
  if (badFile !== undefined) return reject(badFile);
  let opened: OpenedLibrary;
  try {
    opened = open(path);
  } catch (error) {
    return reject(`cannot be opened: ${messageOf(error)}`);
  }
  const native = new NativeBinding(path, opened, () => loaded.delete(path));
  const mismatch = checkLibrary(native, abiVersion, candidate.manifest?.sourceHash);
  if (mismatch !== undefined) {
    native.unload();
    return reject(mismatch);
  }
  loaded.set(path, native);
  return native;
}
