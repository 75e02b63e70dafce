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
  /** Hex SHA-256 of the library file itself, when recorded. */
  readonly sha256?: string;
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
 */
export function readManifestEntry(dir: string, target: string): ManifestEntry | undefined {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw error;
  }
  const manifest: unknown = JSON.parse(text);
  const targets = isRecord(manifest) ? manifest.targets : undefined;
  const entry = isRecord(targets) ? targets[target] : undefined;
  if (!isRecord(entry)) {
    throw new Error(`The manifest ${file} has no entry for the target "${target}"`);
  }
  const sourceHash = entry.sourceHash ?? (isRecord(manifest) ? manifest.sourceHash : undefined);
  const { file: libFile, sha256 } = entry;
  if (typeof libFile !== "string" || typeof sourceHash !== "string") {
    throw new Error(`The manifest ${file} entry "${target}" lacks "file" or "sourceHash"`);
  }
  return typeof sha256 === "string"
    ? { file: libFile, sourceHash, sha256 }
    : { file: libFile, sourceHash };
}

/** Hex SHA-256 of a file's bytes. */
export function fileSha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}
