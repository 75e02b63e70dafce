#!/usr/bin/env bash
# Checks the JSR package: `deno publish --dry-run` in the fresh clone that
# scripts/check/fresh_clone.sh made (or in a new clone of HEAD) must pass with no warning, and the
# package must carry the TypeScript sources and every prebuilt library (a JSR import downloads the
# library from jsr.io as a URL import does). Prints the package's size and `N passed, M failed`.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/package_common.sh"

clone="$package_out/clone"
if [ ! -d "$clone/.git" ]; then
  clone="$work/clone"
  git clone --quiet "$root" "$clone"
fi
(cd "$clone" && NO_COLOR=1 "$deno" publish --dry-run) >"$work/publish.log" 2>&1
status=$?
grep -vE '^(Check|   file://)' "$work/publish.log"
check "deno publish --dry-run passes" test "$status" -eq 0
# Anything besides the progress lines and the file list is a warning or an error.
check "deno publish --dry-run prints no warning" bash -c "! grep -vqE \
  '^(Check .*|   file://.*|Simulating publish of .*|Checking for slow types in the public API\.\.\.|Success Dry run complete)$' \
  '$work/publish.log'"
files="$(grep -E '^   file://' "$work/publish.log" | sed -E "s#^   file://$clone/##")"
check "the JSR package holds mod.ts, testing.ts and the TypeScript sources" \
  bash -c "grep -q '^mod.ts ' <<<'$files' && grep -q '^testing.ts ' <<<'$files' && grep -q '^src/engine.ts ' <<<'$files' && grep -q '^ffi/loader.ts ' <<<'$files'"
check "the JSR package holds the prebuilt library of every target" \
  test "$(grep -cE '^ffi/prebuilt/[^/]+/(libtofu\.(so|dylib)|tofu\.dll) ' <<<"$files")" -eq 7
check "the JSR package holds the LICENSE" grep -q '^LICENSE ' <<<"$files"
check "the JSR package holds no tests and no dist/" bash -c "! grep -qE '^(tests|dist|native)/' <<<'$files'"
total="$(sed -E 's/.*\(([0-9.]+)(B|KB|MB)\)$/\1 \2/' <<<"$files" |
  awk '{ n = $1; if ($2 == "KB") n *= 1024; if ($2 == "MB") n *= 1048576; s += n } END { printf "%d", s }')"
echo "JSR package: $(wc -l <<<"$files") files, about $total bytes"
finish jsr
