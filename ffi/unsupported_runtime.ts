/**
 * The npm package's entry for Node.js (its `node` export condition). tofu
 * needs the FFI of Deno or Bun, which Node.js does not have, so importing the
 * package there fails at once with an `AmpeError` that says so, instead of a
 * confusing error later.
 *
 * @module
 */

import { AmpeError } from "../src/ampe_error.ts";
import { AmpeStatus } from "../src/status.ts";

/** What a runtime other than Deno and Bun is told. */
export const UNSUPPORTED_RUNTIME_MESSAGE: string =
  "tofu-js does not support Node.js: it needs the FFI of Deno or Bun. " +
  "Run your app with Deno (`deno run`, importing `npm:tofu-js` or the URL/JSR module) " +
  "or with Bun (`bun run`).";

throw new AmpeError(AmpeStatus.notImplementedYet, UNSUPPORTED_RUNTIME_MESSAGE, {
  code: "UnsupportedRuntime",
});
