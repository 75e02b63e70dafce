/**
 * Checks that the TypeScript side of the native boundary says what
 * `native/tofu.h` declares, so that a changed C signature fails a check
 * instead of crashing at the first call:
 *
 * - every `TOFU_API` function is in `ffi/symbols.ts` with the same parameter
 *   and result types (`int32_t` → `i32`, a pointer → `buffer`, a function
 *   pointer typedef → `function`), and the table has nothing more;
 * - `NativeError` holds exactly the `TOFU_E_*` codes (names compared without
 *   case and underscores), `BackendId` the `TOFU_BACKEND_*` ids, `Interest`
 *   the `TOFU_INTEREST_*` bits, and `ABI_VERSION`, `SENDV_SLOTS`,
 *   `SENDV_MAX_SEGS` their `#define`s.
 *
 * Functions appended to the header are found like the others: nothing here
 * lists them.
 *
 * Usage: deno run --allow-read scripts/check/abi.ts [path/to/tofu.h]
 * (also with bun). Prints one line per mismatch and `abi: N passed, M failed`;
 * exits 1 on a mismatch.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { ABI_VERSION, SENDV_MAX_SEGS, SENDV_SLOTS, SYMBOLS } from "../../ffi/symbols.ts";
import { BackendId, Interest, NativeError } from "../../ffi/native.ts";

/** What the TypeScript side declares, as plain data (a test may pass an altered copy). */
export interface TypeScriptSide {
  symbols: Readonly<
    Record<string, { readonly params: readonly string[]; readonly result: string }>
  >;
  nativeError: Readonly<Record<string, number>>;
  backendId: Readonly<Record<string, number>>;
  interest: Readonly<Record<string, number>>;
  defines: Readonly<Record<string, number>>;
}

/** The repository's own TypeScript side. */
export const TYPESCRIPT_SIDE: TypeScriptSide = {
  symbols: SYMBOLS,
  nativeError: NativeError,
  backendId: BackendId,
  interest: Interest,
  defines: {
    TOFU_ABI_VERSION: ABI_VERSION,
    TOFU_SENDV_SLOTS: SENDV_SLOTS,
    TOFU_SENDV_MAX_SEGS: SENDV_MAX_SEGS,
  },
};

/** One C declaration: `TOFU_API <result> <name>(<params>);`. */
interface CFunction {
  name: string;
  result: string;
  params: string[];
}

function withoutComments(c: string): string {
  return c.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
}

/** The neutral type of one C parameter or result type, or null when it has none. */
function neutralType(cType: string, functionTypes: Set<string>): string | null {
  const type = cType.replace(/\bconst\b/g, "").replace(/\s+/g, " ").trim();
  if (type.includes("*")) return "buffer";
  if (type === "int32_t") return "i32";
  if (functionTypes.has(type)) return "function";
  return null;
}

/** The C type of a parameter declaration (`const uint8_t *buf` → `const uint8_t *`). */
function typeOfParam(param: string): string {
  const trimmed = param.trim();
  const name = /\b\w+\s*$/.exec(trimmed);
  // A parameter without a name (`int32_t`) is all type.
  if (name === null || /^(const\s+)?\w+$/.test(trimmed)) return trimmed;
  return trimmed.slice(0, name.index).trim();
}

function parseFunctions(c: string): CFunction[] {
  const out: CFunction[] = [];
  for (const m of c.matchAll(/\bTOFU_API\s+([^;()]*?)\b(tofu_\w+)\s*\(([^)]*)\)\s*;/g)) {
    const params = m[3]!.trim();
    out.push({
      name: m[2]!,
      result: m[1]!.trim(),
      params: params === "void" || params === "" ? [] : params.split(",").map(typeOfParam),
    });
  }
  return out;
}

function parseDefines(c: string, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  const pattern = new RegExp(`^#define (${prefix}\\w*)\\s+\\(?(-?\\d+)\\)?\\s*$`, "gm");
  for (const m of c.matchAll(pattern)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** Loose name comparison: `TOFU_E_BADHANDLE` ~ `badHandle`, `TOFU_BACKEND_WSAPOLL` ~ `wsapoll`. */
function loose(name: string): string {
  return name.replace(/_/g, "").toLowerCase();
}

/** Compares a `#define` family with a TypeScript table; the table is keyed by loose name. */
function compareTable(
  what: string,
  defines: Map<string, number>,
  prefix: string,
  table: Readonly<Record<string, number>>,
  problems: string[],
): number {
  const ts = new Map(Object.entries(table).map(([k, v]) => [loose(k), { k, v }]));
  let checked = 0;
  for (const [define, value] of defines) {
    const key = loose(define.slice(prefix.length));
    const entry = ts.get(key);
    checked++;
    if (entry === undefined) problems.push(`${what}: ${define} (${value}) is missing`);
    else if (entry.v !== value) {
      problems.push(`${what}.${entry.k} is ${entry.v}, tofu.h's ${define} is ${value}`);
    }
    ts.delete(key);
  }
  for (const { k, v } of ts.values()) {
    problems.push(`${what}.${k} (${v}) is not in tofu.h (no ${prefix}${k.toUpperCase()})`);
  }
  return checked;
}

/** Every mismatch between `header` (the text of tofu.h) and `ts`; empty when they agree. */
export function abiMismatches(
  header: string,
  ts: TypeScriptSide = TYPESCRIPT_SIDE,
): { problems: string[]; checked: number } {
  const c = withoutComments(header);
  const problems: string[] = [];
  const functionTypes = new Set(
    [...c.matchAll(/typedef\s+[^;()]*\(\s*\*\s*(\w+)\s*\)\s*\([^)]*\)\s*;/g)].map((m) => m[1]!),
  );
  const functions = parseFunctions(c);
  if (functions.length === 0) problems.push("tofu.h declares no TOFU_API function");
  const names = new Set(functions.map((f) => f.name));
  for (const f of functions) {
    const symbol = ts.symbols[f.name];
    const result = neutralType(f.result, functionTypes);
    const params = f.params.map((p) => neutralType(p, functionTypes));
    if (result === null || params.includes(null)) {
      problems.push(
        `${f.name}: a type that cannot cross the boundary: ${f.result}(${f.params.join(", ")})`,
      );
      continue;
    }
    if (symbol === undefined) {
      problems.push(`${f.name} is declared in tofu.h but missing from ffi/symbols.ts`);
      continue;
    }
    if (symbol.result !== result) {
      problems.push(`${f.name}: symbols.ts returns ${symbol.result}, tofu.h ${f.result}`);
    }
    if (symbol.params.join(",") !== params.join(",")) {
      problems.push(
        `${f.name}: symbols.ts takes (${symbol.params.join(", ")}), tofu.h (${
          params.join(", ")
        }) = (${f.params.join(", ")})`,
      );
    }
  }
  for (const name of Object.keys(ts.symbols)) {
    if (!names.has(name)) problems.push(`${name} is in ffi/symbols.ts but not declared in tofu.h`);
  }
  let checked = functions.length;
  const errors = parseDefines(c, "TOFU_E_");
  if (errors.size === 0) problems.push("tofu.h defines no TOFU_E_ code");
  checked += compareTable("NativeError", errors, "TOFU_E_", ts.nativeError, problems);
  const backends = parseDefines(c, "TOFU_BACKEND_");
  backends.delete("TOFU_BACKEND_LAST"); // an alias of the last one, not a backend
  checked += compareTable("BackendId", backends, "TOFU_BACKEND_", ts.backendId, problems);
  const interest = parseDefines(c, "TOFU_INTEREST_");
  checked += compareTable("Interest", interest, "TOFU_INTEREST_", ts.interest, problems);
  for (const [define, value] of Object.entries(ts.defines)) {
    const declared = parseDefines(c, define).get(define);
    checked++;
    if (declared !== value) problems.push(`${define} is ${declared} in tofu.h, ${value} in ffi/`);
  }
  return { problems, checked };
}

if (import.meta.main) {
  const headerPath = process.argv[2] ??
    new URL("../../native/tofu.h", import.meta.url).pathname;
  const { problems, checked } = abiMismatches(readFileSync(headerPath, "utf8"));
  for (const problem of problems) console.log(`FAIL ${problem}`);
  console.log(`abi: ${checked - problems.length} passed, ${problems.length} failed`);
  process.exit(problems.length === 0 ? 0 : 1);
}
