"""`make audit`: pip-audit over the pinned dependencies, honest about what it could not check.

pip-audit asks a vulnerability service (PyPI's JSON API by default, or OSV) about every pin
in requirements/constraints.txt. On a closed network the service may not answer: OSV's host
does not resolve, and a registry mirror may serve no per-version JSON, so that pip-audit
reports every package as "not found" and still exits 0 with "No known vulnerabilities".
This script tells those cases apart:

- a known vulnerability: listed, exit 1;
- nothing could be audited (no service): a clear message, exit 0, or 1 with AUDIT_STRICT=1;
- some packages skipped: listed as not audited, the rest judged.

AUDIT_SERVICE=osv picks OSV instead of PyPI.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements" / "constraints.txt"
OVERALL_TIMEOUT_SECONDS = 180


def main() -> int:
    strict = os.environ.get("AUDIT_STRICT", "0") == "1"
    service = os.environ.get("AUDIT_SERVICE", "pypi")
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(REQUIREMENTS),
        # Every line is pinned with ==: no resolver, no virtualenv, no downloads.
        "--no-deps",
        "--disable-pip",
        "--vulnerability-service",
        service,
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--timeout",
        "10",
    ]
    try:
        result = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
            command, capture_output=True, text=True, check=False, timeout=OVERALL_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        # A network that drops packets instead of refusing them: 10 s a package, 100 packages.
        return not_audited(f"pip-audit had no answer within {OVERALL_TIMEOUT_SECONDS} s", strict)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return not_audited(f"pip-audit could not reach the {service} service: {reason}", strict)

    dependencies = report["dependencies"]
    skipped = [dependency for dependency in dependencies if "skip_reason" in dependency]
    vulnerable = [dependency for dependency in dependencies if dependency.get("vulns")]
    audited = len(dependencies) - len(skipped)
    if vulnerable:
        print(f"audit: known vulnerabilities in {len(vulnerable)} pinned package(s):")
        for dependency in vulnerable:
            for vulnerability in dependency["vulns"]:
                fixed = ", ".join(vulnerability.get("fix_versions") or []) or "no fix yet"
                print(
                    f"  {dependency['name']} {dependency['version']}: {vulnerability['id']}"
                    f" (fixed in {fixed})"
                )
        return 1
    if not audited:
        return not_audited(
            f"the {service} service knew none of the {len(dependencies)} pinned packages"
            " (a registry mirror without per-version JSON, or no network)",
            strict,
        )
    if skipped:
        names = ", ".join(dependency["name"] for dependency in skipped)
        print(f"audit: not audited (unknown to {service}): {names}")
    print(f"audit: no known vulnerabilities in {audited} pinned packages ({service}).")
    return 0


def not_audited(reason: str, strict: bool) -> int:
    print(f"audit: DEPENDENCIES NOT AUDITED: {reason}.")
    print("audit: run `make audit` where pypi.org or api.osv.dev answers (AUDIT_SERVICE=osv).")
    return 1 if strict else 0


if __name__ == "__main__":
    sys.exit(main())
