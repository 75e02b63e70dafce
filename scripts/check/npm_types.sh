#!/usr/bin/env bash
# Checks the declarations of the packed npm tarball (scripts/check/fresh_clone.sh) as a TypeScript
# user meets them: in a fresh `bun init` project (strict tsconfig) with the tarball added and
# examples/request_response.ts importing `tofu-js` and `tofu-js/testing`, the project's own `tsc --noEmit` passes, also
# with skipLibCheck off (the declarations need no Deno or Bun types); a deliberate type error
# against each entry's API is reported, so the types are really read. Prints `N passed, M failed`.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/package_common.sh"

tarball="$(package_tarball)" || exit 2
app="$work/app"
mkdir -p "$app"
(cd "$app" && as_user "$bun" init -y && as_user "$bun" add "$tarball") >"$work/init.log" 2>&1
init_status=$?
tail -n 2 "$work/init.log"
tsc="$app/node_modules/.bin/tsc"
check "bun init + bun add ./<tarball>, with TypeScript" test "$init_status" -eq 0 -a -x "$tsc"
[ -x "$tsc" ] || finish npm-types
check "the bun init project is strict" grep -q '"strict": true' "$app/tsconfig.json"
copy_example "$app" "tofu-js"

(cd "$app" && as_user "$tsc" --noEmit) >"$work/tsc.log" 2>&1
status=$?
echo "tsc $(as_user "$tsc" --version): $(wc -l <"$work/tsc.log") lines of errors"
head -n 20 "$work/tsc.log"
check "tsc --noEmit passes" test "$status" -eq 0
(cd "$app" && as_user "$tsc" --noEmit --skipLibCheck false) >"$work/tsc_lib.log" 2>&1
status=$?
head -n 20 "$work/tsc_lib.log"
check "tsc --noEmit --skipLibCheck false passes (the declarations check too)" test "$status" -eq 0
(cd "$app" && as_user "$tsc" --noEmit --module nodenext --moduleResolution nodenext --skipLibCheck false) \
  >"$work/tsc_node.log" 2>&1
status=$?
head -n 20 "$work/tsc_node.log"
check "tsc --noEmit passes with moduleResolution nodenext too" test "$status" -eq 0
check "no error names Deno or Bun globals" bash -c "! grep -qE \"Cannot find name '(Deno|Bun)'\" '$work/tsc.log' '$work/tsc_lib.log' '$work/tsc_node.log'"

printf 'import { Reactor } from "tofu-js";\nconst engine: number = await Reactor.create();\n' >"$app/wrong.ts"
printf 'import { findFreeTcpPort } from "tofu-js/testing";\nconst port: string = await findFreeTcpPort();\n' \
  >"$app/wrong_testing.ts"
(cd "$app" && as_user "$tsc" --noEmit) >"$work/wrong.log" 2>&1
cat "$work/wrong.log"
check "a type error against tofu-js's API is reported" \
  grep -q "wrong.ts.*Type 'Reactor' is not assignable to type 'number'" "$work/wrong.log"
check "a type error against tofu-js/testing's API is reported" \
  grep -q "wrong_testing.ts.*Type 'number' is not assignable to type 'string'" "$work/wrong.log"
finish npm-types
