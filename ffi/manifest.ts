/**
 * The checksum manifest of the prebuilt libraries (`ffi/prebuilt/manifest.json`):
 * which native sources each library was built from, and the file's own digest.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** What the manifest records about one target's library. */
export interface ManifestEntry {
  /** The library file, relative to the prebuilt directory. */
  readonly file: string;
  /** Hex SHA-256 of the native sources (what `tofu_source_hash()` must report). */
  readonly sourceHash: string;
  /** Hex SHA-256 of the library file itself. */
  readonly sha256: string;
}

/** The manifest's file name inside the prebuilt directory. */
export const MANIFEST_FILE = "manifest.json";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads the manifest entry of `target` from `dir`. Returns `undefined` when
 * there is no manifest at all (a development tree before the first build);
 * throws when the manifest cannot be read, is malformed, or lacks the target.
 *
 * The manifest holds `sourceHash` once for all libraries and a `targets`
 * array of `{ target, file, sha256, ... }`.
 */
export function readManifestEntry(dir: string, target: string): ManifestEntry | undefined {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw error;
  }
  const manifest: unknown = JSON.parse(text);
  if (!isRecord(manifest) || !Array.isArray(manifest.targets)) {
    throw new Error(`The manifest ${path} has no "targets" list`);
  }
  const entry: unknown = manifest.targets.find((t) => isRecord(t) && t.target === target);
  if (!isRecord(entry)) {
    throw new Error(`The manifest ${path} has no entry for the target "${target}"`);
  }
  const { sourceHash } = manifest;
  const { file, sha256 } = entry;
  if (typeof sourceHash !== "string" || typeof file !== "string" || typeof sha256 !== "string") {
    throw new Error(
      `The manifest ${path} lacks "sourceHash", or "file" or "sha256" of "${target}"`,
    );
  }
  return { file, sourceHash, sha256 };
}

/** Hex SHA-256 of a file's bytes. */
export function fileSha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}
