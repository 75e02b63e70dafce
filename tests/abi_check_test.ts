// scripts/check/abi.ts, which scripts/check/native.sh runs: the real tofu.h and ffi/ agree, and each
// kind of drift between them is reported: a changed parameter list, a type that cannot cross, a
// function appended on one side only, a changed or added error code, a changed define.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { abiMismatches, TYPESCRIPT_SIDE, type TypeScriptSide } from "../scripts/check/abi.ts";

const HEADER = readFileSync(new URL("../native/tofu.h", import.meta.url), "utf8");

/** The problems of the real header altered by `from` → `to` (which must occur in it). */
function problemsWith(from: string, to: string, ts: TypeScriptSide = TYPESCRIPT_SIDE): string[] {
  assert.ok(HEADER.includes(from), `tofu.h no longer contains ${from}`);
  return abiMismatches(HEADER.replace(from, to), ts).problems;
}

const APPENDED = "TOFU_API int32_t tofu_next_call(int32_t code, uint8_t *out, int32_t cap);\n";

test("the repository's tofu.h and ffi/ agree", () => {
  const { problems, checked } = abiMismatches(HEADER);
  assert.deepEqual(problems, []);
  assert.ok(checked > 50, `only ${checked} things checked`);
});

test("a changed parameter list is reported with both sides", () => {
  const problems = problemsWith(
    "tofu_recv(int32_t sock, uint8_t *buf, int32_t off, int32_t len)",
    "tofu_recv(int32_t sock, int32_t off, uint8_t *buf, int32_t len)",
  );
  assert.deepEqual(problems, [
    "tofu_recv: symbols.ts takes (i32, buffer, i32, i32), tofu.h (i32, i32, buffer, i32) = " +
    "(int32_t, int32_t, uint8_t *, int32_t)",
  ]);
  assert.equal(
    problemsWith("tofu_close(int32_t sock, int32_t abortive)", "tofu_close(int32_t sock)").length,
    1,
  );
});

test("a type that cannot cross the boundary is reported", () => {
  const problems = problemsWith("int32_t tofu_local_port(", "int64_t tofu_local_port(");
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^tofu_local_port: a type that cannot cross the boundary: int64_t/);
});

test("a function appended to tofu.h is found without being listed anywhere", () => {
  const appended = problemsWith("\n#endif", `\n${APPENDED}#endif`);
  assert.deepEqual(appended, [
    "tofu_next_call is declared in tofu.h but missing from ffi/symbols.ts",
  ]);
  const withSymbol: TypeScriptSide = {
    ...TYPESCRIPT_SIDE,
    symbols: {
      ...TYPESCRIPT_SIDE.symbols,
      tofu_next_call: { params: ["i32", "buffer", "i32"], result: "i32" },
    },
  };
  assert.deepEqual(problemsWith("\n#endif", `\n${APPENDED}#endif`, withSymbol), []);
  assert.deepEqual(abiMismatches(HEADER, withSymbol).problems, [
    "tofu_next_call is in ffi/symbols.ts but not declared in tofu.h",
  ]);
});

test("error codes: a changed value, a new code, a code gone", () => {
  assert.deepEqual(problemsWith("TOFU_E_NOTCONN (-20)", "TOFU_E_NOTCONN (-21)"), [
    "NativeError.notConn is -20, tofu.h's TOFU_E_NOTCONN is -21",
  ]);
  assert.deepEqual(
    problemsWith("#define TOFU_E_OTHER", "#define TOFU_E_ISCONN (-21)\n#define TOFU_E_OTHER"),
    ["NativeError: TOFU_E_ISCONN (-21) is missing"],
  );
  const problems = problemsWith("#define TOFU_E_PIPE (-15)", "");
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^NativeError\.pipe \(-15\) is not in tofu\.h/);
});

test("backends, interest bits and the ABI version are compared too", () => {
  assert.deepEqual(problemsWith("#define TOFU_BACKEND_POLL 3", "#define TOFU_BACKEND_POLL 6"), [
    "BackendId.poll is 3, tofu.h's TOFU_BACKEND_POLL is 6",
  ]);
  assert.deepEqual(problemsWith("#define TOFU_INTEREST_WRITE 2", "#define TOFU_INTEREST_WRITE 4"), [
    "Interest.write is 2, tofu.h's TOFU_INTEREST_WRITE is 4",
  ]);
  const abi = /#define TOFU_ABI_VERSION (\d+)/.exec(HEADER)!;
  const next = Number(abi[1]) + 1;
  assert.deepEqual(problemsWith(abi[0], `#define TOFU_ABI_VERSION ${next}`), [
    `TOFU_ABI_VERSION is ${next} in tofu.h, ${abi[1]} in ffi/`,
  ]);
});

test("declarations in comments do not count", () => {
  assert.deepEqual(problemsWith("\n#endif", `\n/* ${APPENDED} */\n#endif`), []);
});
