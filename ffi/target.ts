/**
 * Which prebuilt library fits this process: OS, CPU and (on Linux) C library.
 *
 * Target names are `<os>-<arch>` as in `scripts/build/native_common.sh`, with
 * `-gnu` or `-musl` on Linux: `linux-x64-gnu`, `linux-arm64-musl`,
 * `darwin-arm64`, `windows-x64`, ...
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";

/** A prebuilt library's target and its file name inside `ffi/prebuilt/<target>/`. */
export interface Target {
  /** e.g. `linux-x64-gnu`. */
  readonly name: string;
  /** e.g. `libtofu.so`. */
  readonly fileName: string;
}

/** The C library of a Linux process. */
export type Libc = "gnu" | "musl";

/** Target OS name and library file name per `process.platform`. */
const OSES: Readonly<Record<string, { name: string; fileName: string }>> = {
  linux: { name: "linux", fileName: "libtofu.so" },
  freebsd: { name: "freebsd", fileName: "libtofu.so" },
  darwin: { name: "darwin", fileName: "libtofu.dylib" },
  win32: { name: "windows", fileName: "tofu.dll" },
};

let detected: Libc | undefined;

/**
 * The C library this very process runs on, read once from its memory map
 * (the musl loader or glibc's `libc.so.6` is mapped); falls back to `ldd`'s
 * text, as napi-rs does, when the map cannot be read.
 */
export function detectLibc(): Libc {
  detected ??= readLibc();
  return detected;
}

function readLibc(): Libc {
  for (
    const [file, musl, gnu] of [
      ["/proc/self/maps", "ld-musl-", "libc.so.6"],
      ["/usr/bin/ldd", "musl", "GNU"],
    ] as const
  ) {
    let text: string;
    try {
      text = readFileSync(file, "latin1");
    } catch {
      continue;
    }
    if (text.includes(musl)) return "musl";
    if (text.includes(gnu)) return "gnu";
  }
  return "gnu";
}

/**
 * The prebuilt target for this process, or a sentence saying why there is
 * none. `libc` is asked for only on Linux.
 */
export function currentTarget(libc: () => Libc = detectLibc): Target | string {
  const { platform, arch } = process;
  const os = OSES[platform];
  if (os === undefined) return `no prebuilt library exists for the OS "${platform}"`;
  if (arch !== "x64" && arch !== "arm64") {
    return `no prebuilt library exists for the CPU "${arch}" on ${platform}`;
  }
  const name = platform === "linux" ? `linux-${arch}-${libc()}` : `${os.name}-${arch}`;
  return { name, fileName: os.fileName };
}
