#!/usr/bin/env python3
"""Parses .github/workflows/ci.yml with a YAML parser and checks the shape GitHub needs: every job
has runs-on and steps, every step has uses or run, the matrix covers the five platforms and both
runtimes, and the test job runs the README's test command. Prints `workflow: N passed, M failed`."""
import os
import sys

import yaml

path = os.path.join(os.path.dirname(__file__), "..", ".github", "workflows", "ci.yml")
checks = []


def check(name, ok):
    checks.append(ok)
    print(("ok   " if ok else "FAIL ") + name)


try:
    with open(path) as f:
        doc = yaml.safe_load(f)
    check("ci.yml parses as YAML", isinstance(doc, dict))
except (OSError, yaml.YAMLError) as error:
    print(f"FAIL ci.yml cannot be parsed: {error}")
    print("workflow: 0 passed, 1 failed")
    sys.exit(1)

# PyYAML reads the key `on` as the boolean True (YAML 1.1).
check("ci.yml has triggers", bool(doc.get("on", doc.get(True))))
jobs = doc.get("jobs") or {}
check("ci.yml has jobs", isinstance(jobs, dict) and len(jobs) > 0)
for name, job in jobs.items():
    steps = job.get("steps") or []
    check(f"job {name}: runs-on and steps", bool(job.get("runs-on")) and len(steps) > 0)
    check(
        f"job {name}: every step has exactly one of uses/run",
        all(isinstance(s, dict) and (("uses" in s) != ("run" in s)) for s in steps),
    )

matrix = ((jobs.get("test") or {}).get("strategy") or {}).get("matrix") or {}
want_os = {"ubuntu-24.04", "ubuntu-24.04-arm", "macos-15", "macos-15-intel", "windows-2025"}
check("the test matrix covers Linux x64/arm64, macOS arm64/x64, Windows", set(matrix.get("os", [])) == want_os)
check("the test matrix covers Deno and Bun", set(matrix.get("runtime", [])) == {"deno", "bun"})
runs = [s.get("run", "") for s in (jobs.get("test") or {}).get("steps", [])]
check("the test job runs the README's test command (npm test)", any(r.startswith("npm test") for r in runs))

passed = sum(checks)
print(f"workflow: {passed} passed, {len(checks) - passed} failed")
sys.exit(0 if passed == len(checks) else 1)
