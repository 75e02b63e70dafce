#!/usr/bin/env bash
# Checks the npm package as a new Bun user meets it: `npm pack`, then in a fresh temporary project
# `bun add ./<tarball>` and examples/request_response.ts, its import rewritten to the package name:
# a server and a client in one process exchanging messages. No postinstall, no build. Then tries
# the same example and node_modules under Deno and says what happened (informational: Deno does not strip types of .ts files under node_modules).
# Prints one closing line `N passed, M failed`.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/node_modules/.bin"
bun="$bin/bun"
deno="$bin/deno"
[ -x "$bun" ] || bun="$(command -v bun)" || { echo "check_bun_add: bun is missing (npm install)"; exit 2; }
[ -x "$deno" ] || deno="$(command -v deno)" || deno=""
work="$(mktemp -d "${TMPDIR:-/tmp}/tofu_bun_add.XXXXXX")"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() { # check NAME COMMAND...
  local name="$1"
  shift
  if "$@"; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    failed=$((failed + 1))
  fi
}

# A new user's environment: nothing from this repository or this shell.
as_user() {
  env -i PATH="$(dirname "$bun"):/usr/local/bin:/usr/bin:/bin" HOME="$work/home" NO_COLOR=1 \
    DENO_DIR="$work/deno_dir" BUN_INSTALL_CACHE_DIR="$work/bun_cache" "$@"
}
mkdir -p "$work/home"

(cd "$root" && npm pack --silent --pack-destination "$work" >"$work/pack.log" 2>&1)
tarball="$(find "$work" -maxdepth 1 -name '*.tgz' | head -n 1)"
check "npm pack makes a tarball" test -n "$tarball"
[ -n "$tarball" ] || { echo "bun-add: $passed passed, $failed failed"; exit 1; }
echo "tarball: $(basename "$tarball") ($(stat -c %s "$tarball") bytes)"
listing="$(tar -tzf "$tarball")"
check "the tarball holds the prebuilt library of every target" \
  test "$(grep -cE '^package/ffi/prebuilt/[^/]+/(libtofu\.(so|dylib)|tofu\.dll)$' <<<"$listing")" -eq 7
check "the tarball holds no tests and no native sources" \
  bash -c "! grep -qE '^package/(tests|native)/' <<<'$listing'"
check "the package has no install-time scripts" \
  bash -c "! tar -xOzf '$tarball' package/package.json | grep -qE '\"(pre|post)?install\"|\"prepare\"'"

app="$work/app"
mkdir -p "$app"
printf '{ "name": "app", "private": true, "type": "module" }\n' >"$app/package.json"
(cd "$app" && as_user "$bun" add "$tarball") >"$work/add.log" 2>&1
add_status=$?
tail -n 3 "$work/add.log"
check "bun add ./<tarball> installs it" test "$add_status" -eq 0 -a -f "$app/node_modules/tofu-js/mod.ts"

# The app is examples/request_response.ts and its helper examples/pair.ts, importing the package
# by name instead of ../mod.ts; nothing else is changed.
for file in request_response.ts pair.ts; do
  sed 's#from "\.\./mod\.ts"#from "tofu-js"#' "$root/examples/$file" >"$app/$file"
done
if grep -nE 'from "\.\./' "$app/request_response.ts" "$app/pair.ts"; then
  echo "check_bun_add: the example imports more than ../mod.ts from the repository (above)"
  exit 2
fi
printf 'console.log("resolved:", import.meta.resolve("tofu-js"));\n' >"$app/resolve.ts"

# The example's last lines: the response to the request, then the server's channel_closed Signal
# after the bye.
exchanged() { # exchanged LOG
  grep -q '^client <- Response | app | success .*"4"$' "$1" &&
    grep -q '^server <- Signal | engine | channelClosed' "$1"
}

(cd "$app" && as_user "$bun" request_response.ts && as_user "$bun" resolve.ts) >"$work/bun.log" 2>&1
cat "$work/bun.log"
check "bun: server and client exchange messages from the installed package" exchanged "$work/bun.log"
check "bun: tofu-js resolves from the app's own node_modules" \
  grep -q "^resolved: file://$app/node_modules/tofu-js/" "$work/bun.log"

if [ -n "$deno" ]; then
  (cd "$app" && as_user "$deno" run --allow-ffi --allow-read --allow-env request_response.ts) \
    >"$work/deno.log" 2>&1
  if exchanged "$work/deno.log"; then
    echo "note: Deno runs the same node_modules install too"
  else
    echo "note: Deno cannot use the npm package (use the URL import); it says:"
    grep -m1 -E 'error|Error' "$work/deno.log" | sed 's/^/  /'
  fi
fi

echo "bun-add: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
