#!/usr/bin/env bash
# Checks the packed npm tarball (scripts/check/fresh_clone.sh) on Deno and Node as a new user meets
# it: a fresh app installs it with `npm install ./<tarball>`, then
#   - Deno runs examples/request_response.ts importing `npm:tofu-js`: the compiled JavaScript from
#     node_modules (Deno does not strip types there) exchanges a request and a response;
#   - Node imports `tofu-js` and gets an AmpeError saying Node is not supported, naming Deno and Bun.
# Prints one closing line `N passed, M failed`.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/package_common.sh"

tarball="$(package_tarball)" || exit 2
app="$work/app"
mkdir -p "$app"
printf '{ "name": "app", "private": true, "type": "module" }\n' >"$app/package.json"
(cd "$app" && as_user npm install --no-audit --no-fund "$tarball") >"$work/install.log" 2>&1
install_status=$?
tail -n 2 "$work/install.log"
check "npm install ./<tarball> in a fresh app" \
  test "$install_status" -eq 0 -a -f "$app/node_modules/tofu-js/dist/mod.js"

copy_example "$app" "npm:tofu-js"
printf 'console.log("resolved:", import.meta.resolve("npm:tofu-js"));\n' >"$app/resolve.ts"
(cd "$app" && as_user "$deno" run --allow-ffi --allow-read --allow-env request_response.ts &&
  as_user "$deno" run resolve.ts) >"$work/deno.log" 2>&1
cat "$work/deno.log"
check "deno: request_response.ts importing npm:tofu-js exchanges messages" exchanged "$work/deno.log"
check "deno: npm:tofu-js is the package's JavaScript (dist/mod.js)" \
  grep -q "^resolved: file://$app/node_modules/tofu-js/dist/mod.js$" "$work/deno.log"

(cd "$app" && as_user node --input-type=module -e '
  try {
    await import("tofu-js");
    console.log("imported without an error");
  } catch (error) {
    console.log(`${error.name} ${error.code}: ${error.message}`);
  }') >"$work/node.log" 2>&1
cat "$work/node.log"
check "node: importing tofu-js throws an AmpeError saying Node is not supported" \
  grep -q '^AmpeError UnsupportedRuntime: .*does not support Node.js' "$work/node.log"
check "node: the error names Deno and Bun" bash -c "grep -q Deno '$work/node.log' && grep -q Bun '$work/node.log'"
finish npm-runtimes
