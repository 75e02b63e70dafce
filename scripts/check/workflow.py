#!/usr/bin/env python3
"""Parses the GitHub workflows with a YAML parser and checks the shape GitHub needs: every job has
runs-on and steps, every step has uses or run. ci.yml: the matrix covers the five platforms and
both runtimes, installs with `npm ci`, and the test job runs the README's test command.
release.yml: runs on version tags, publishes to npm with provenance and to JSR with the OIDC token
(id-token: write), only after a job that checks the tag against the version and runs the tests and
the package checks. Prints `workflow: N passed, M failed`."""
import os
import sys

import yaml

workflows = os.path.join(os.path.dirname(__file__), "..", "..", ".github", "workflows")
checks = []


def check(name, ok):
    checks.append(bool(ok))
    print(("ok   " if ok else "FAIL ") + name)


def load(file):
    """The parsed workflow, or None (after a FAIL line) when it cannot be parsed."""
    try:
        with open(os.path.join(workflows, file)) as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as error:
        check(f"{file} parses as YAML: {error}", False)
        return None
    check(f"{file} parses as YAML", isinstance(doc, dict))
    return doc if isinstance(doc, dict) else None


def triggers(doc):
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    return doc.get("on", doc.get(True)) or {}


def check_jobs(file, doc):
    jobs = doc.get("jobs") or {}
    check(f"{file} has jobs", isinstance(jobs, dict) and len(jobs) > 0)
    for name, job in jobs.items():
        steps = job.get("steps") or []
        check(f"{file} job {name}: runs-on and steps", bool(job.get("runs-on")) and len(steps) > 0)
        check(
            f"{file} job {name}: every step has exactly one of uses/run",
            all(isinstance(s, dict) and (("uses" in s) != ("run" in s)) for s in steps),
        )
    return jobs


def runs(job):
    return [s.get("run", "") for s in (job or {}).get("steps", [])]


ci = load("ci.yml")
if ci is not None:
    check("ci.yml has triggers", bool(triggers(ci)))
    jobs = check_jobs("ci.yml", ci)
    matrix = ((jobs.get("test") or {}).get("strategy") or {}).get("matrix") or {}
    want_os = {"ubuntu-24.04", "ubuntu-24.04-arm", "macos-15", "macos-15-intel", "windows-2025"}
    check("the test matrix covers Linux x64/arm64, macOS arm64/x64, Windows", set(matrix.get("os", [])) == want_os)
    check("the test matrix covers Deno and Bun", set(matrix.get("runtime", [])) == {"deno", "bun"})
    check("the test job runs the README's test command (npm test)", any(r.startswith("npm test") for r in runs(jobs.get("test"))))
    with open(os.path.join(os.path.dirname(__file__), "..", "..", ".ci", "run")) as f:
        ci_run = f.read()
    check("ci.yml and .ci/run both run the code checks with deno task check",
          "deno task check" in ci_run and
          any("deno task check" in r for job in jobs.values() for r in runs(job)))
    check("every ci.yml job installs with npm ci, never npm install",
          all(any("npm ci" in r for r in runs(job)) and not any("npm install" in r for r in runs(job))
              for job in jobs.values()))

release = load("release.yml")
if release is not None:
    tags = (triggers(release).get("push") or {}).get("tags") or []
    check("release.yml runs on pushed version tags (v*)", "v*" in tags)
    jobs = check_jobs("release.yml", release)
    verify = jobs.get("verify") or {}
    verify_runs = "\n".join(runs(verify))
    check("release.yml verify job checks the tag against package.json and deno.json",
          "GITHUB_REF_NAME" in verify_runs and "package.json" in verify_runs and "deno.json" in verify_runs)
    check("release.yml verify job runs the tests and the package checks",
          "npm test" in verify_runs and all(f"scripts/check/{name}.sh" in verify_runs
                                            for name in ("fresh_clone", "npm_runtimes", "npm_types", "bun_compile", "jsr")))

    def publisher(command):
        return [(name, job) for name, job in jobs.items() if any(command in r for r in runs(job))]

    npm = publisher("npm publish")
    check("release.yml has one npm publish job, with --provenance",
          len(npm) == 1 and any("--provenance" in r for r in runs(npm[0][1]) if "npm publish" in r))
    jsr = publisher("deno publish")
    check("release.yml has one JSR publish job", len(jsr) == 1)
    for name, job in npm + jsr:
        needs = job.get("needs")
        needs = [needs] if isinstance(needs, str) else (needs or [])
        check(f"release.yml job {name} publishes only after verify", "verify" in needs)
        check(f"release.yml job {name} may request the OIDC token (id-token: write)",
              (job.get("permissions") or {}).get("id-token") == "write")
    if npm:
        setup = [s for s in npm[0][1].get("steps", []) if str(s.get("uses", "")).startswith("actions/setup-node")]
        check("release.yml npm job points setup-node at the npm registry",
              any((s.get("with") or {}).get("registry-url") == "https://registry.npmjs.org" for s in setup))
    check("release.yml grants only read access by default",
          (release.get("permissions") or {}) == {"contents": "read"})

passed = sum(checks)
print(f"workflow: {passed} passed, {len(checks) - passed} failed")
sys.exit(0 if passed == len(checks) else 1)
