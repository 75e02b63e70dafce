#!/usr/bin/env bash
# Checks the repository as a fresh clone meets it, and packs the npm artifact the other package
# checks use: clones the committed HEAD into .ci/out/package/clone, runs `npm ci` there (the
# lockfile must be complete: no `npm install` fallback), checks that a later `npm install` leaves
# package-lock.json unchanged, then `npm pack` (its prepack builds dist/ with scripts/build/npm.mjs)
# into .ci/out/package/ and checks what the tarball holds. Prints the tarball's size and one
# closing line `N passed, M failed`. Uncommitted changes are not in a clone: commit first.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/package_common.sh"

clone="$package_out/clone"
rm -rf "$package_out"
mkdir -p "$package_out"
echo "fresh clone of $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD || echo ' (uncommitted changes are not in it)')"
git clone --quiet "$root" "$clone"

(cd "$clone" && npm ci --no-audit --no-fund) >"$work/ci.log" 2>&1
ci_status=$?
tail -n 3 "$work/ci.log"
check "npm ci installs from the committed lockfile" test "$ci_status" -eq 0
check "npm ci brings the pinned deno, bun and tsc" \
  test -x "$clone/node_modules/.bin/deno" -a -x "$clone/node_modules/.bin/bun" -a -x "$clone/node_modules/.bin/tsc"

(cd "$clone" && npm install --no-audit --no-fund) >"$work/install.log" 2>&1
install_status=$?
check "npm install afterwards leaves package-lock.json unchanged" \
  bash -c "[ $install_status -eq 0 ] && git -C '$clone' diff --quiet -- package-lock.json"
git -C "$clone" diff --stat -- package-lock.json

(cd "$clone" && npm pack --pack-destination "$package_out") >"$work/pack.log" 2>&1
pack_status=$?
grep -E '^build_npm|ERR' "$work/pack.log"
tarball="$(find "$package_out" -maxdepth 1 -name 'tofu-js-*.tgz' | head -n 1)"
check "npm pack builds dist/ and makes a tarball" test "$pack_status" -eq 0 -a -n "$tarball"
[ -n "$tarball" ] || finish fresh-clone
listing="$(tar -tzf "$tarball")"
unpacked="$(tar -xOzf "$tarball" | wc -c)"
echo "npm tarball: $(basename "$tarball"): $(stat -c %s "$tarball") bytes packed, $unpacked bytes unpacked, $(wc -l <<<"$listing") files"
check "the tarball holds the JavaScript, the declarations, the runtime entries and testing" \
  bash -c "grep -qx package/dist/mod.js <<<'$listing' && grep -qx package/dist/mod.d.ts <<<'$listing' &&
    grep -qx package/dist/bun.js <<<'$listing' && grep -qx package/dist/node.js <<<'$listing' &&
    grep -qx package/dist/testing.js <<<'$listing' && grep -qx package/dist/testing.d.ts <<<'$listing' &&
    grep -qx package/dist/testing_bun.js <<<'$listing'"
check "the tarball holds the prebuilt library of every target" \
  test "$(grep -cE '^package/dist/ffi/prebuilt/[^/]+/(libtofu\.(so|dylib)|tofu\.dll)$' <<<"$listing")" -eq 7
check "the tarball holds no TypeScript sources, tests or native sources" \
  bash -c "! grep -E '\.ts$' <<<'$listing' | grep -vqE '\.d\.ts$' && ! grep -qE '^package/(tests|native|src|ffi)/' <<<'$listing'"
check "the tarball holds the LICENSE" grep -qx package/LICENSE <<<"$listing"
check "the package has no install-time scripts" \
  bash -c "! tar -xOzf '$tarball' package/package.json | grep -qE '\"(pre|post)?install\"|\"prepare\"'"
finish fresh-clone
