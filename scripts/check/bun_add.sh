#!/usr/bin/env bash
# Checks the npm package as a new Bun user meets it: in a fresh temporary project, `bun add
# ./<tarball>` (the tarball scripts/check/fresh_clone.sh packed from a fresh clone, or one packed
# here when there is none) and examples/request_response.ts, its import rewritten to the package
# name: a server and a client in one process exchanging messages. No postinstall, no build.
# Deno and Node with the same tarball: scripts/check/npm_runtimes.sh.
# Prints one closing line `N passed, M failed`.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/package_common.sh"

if ! tarball="$(package_tarball 2>/dev/null)"; then
  (cd "$root" && npm pack --silent --pack-destination "$work" >"$work/pack.log" 2>&1)
  tarball="$(find "$work" -maxdepth 1 -name '*.tgz' | head -n 1)"
fi
check "there is a tarball" test -n "$tarball"
[ -n "$tarball" ] || finish bun-add
echo "tarball: $(basename "$tarball") ($(stat -c %s "$tarball") bytes)"

app="$work/app"
mkdir -p "$app"
printf '{ "name": "app", "private": true, "type": "module" }\n' >"$app/package.json"
(cd "$app" && as_user "$bun" add "$tarball") >"$work/add.log" 2>&1
add_status=$?
tail -n 3 "$work/add.log"
check "bun add ./<tarball> installs it" \
  test "$add_status" -eq 0 -a -f "$app/node_modules/tofu-js/dist/bun.js"

copy_example "$app" "tofu-js"
printf 'console.log("resolved:", import.meta.resolve("tofu-js"));\n' >"$app/resolve.ts"
(cd "$app" && as_user "$bun" request_response.ts && as_user "$bun" resolve.ts) >"$work/bun.log" 2>&1
cat "$work/bun.log"
check "bun: server and client exchange messages from the installed package" exchanged "$work/bun.log"
check "bun: tofu-js resolves to the package's Bun entry in the app's own node_modules" \
  grep -q "^resolved: file://$app/node_modules/tofu-js/dist/bun.js$" "$work/bun.log"
finish bun-add
