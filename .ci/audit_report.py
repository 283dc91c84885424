"""Judge a pip-audit JSON report: fail on any vulnerability not accepted, audit skipped pins.

pip-audit skips a package when the index has no per-release JSON for it. PyPI's project JSON
(`/pypi/<name>/json`) lists the known vulnerabilities of the latest release, so a skipped pin
that *is* the latest release is audited from there; any other skipped pin is reported as not
audited, so the gap is visible rather than silently green.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def _default_index() -> str:
    """pip's own JSON API root, so the audit asks the index pip installs from."""
    from pip._internal.models.index import PyPI

    return str(PyPI.pypi_url)


INDEX = os.environ.get("ONENET_AUDIT_INDEX") or _default_index()


def accepted(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            vuln_id, _, reason = line.strip().partition(" ")
            out[vuln_id] = reason.strip()
    return out


def version_of(dep: dict[str, Any]) -> str | None:
    if "version" in dep:
        return str(dep["version"])
    reason = str(dep.get("skip_reason", ""))
    if reason.endswith(")") and "(" in reason:
        return reason.rsplit("(", 1)[1][:-1]
    return None


def project_json(name: str) -> dict[str, Any] | None:
    if not INDEX.startswith("https://"):
        raise SystemExit(f"ONENET_AUDIT_INDEX must be an https:// URL, not {INDEX!r}")
    try:
        # https only (checked above): no file: or custom scheme can reach urlopen.
        with urllib.request.urlopen(f"{INDEX}/{name}/json", timeout=30) as response:  # noqa: S310
            data: dict[str, Any] = json.load(response)
            return data
    except (urllib.error.URLError, OSError, ValueError):
        return None


def main(report_path: str, accepted_path: str) -> int:
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    ok_ids = accepted(Path(accepted_path))
    found: list[str] = []
    audited, not_audited = 0, []
    for dep in report["dependencies"]:
        name, version = dep["name"], version_of(dep)
        vulns = dep.get("vulns")
        if "editable" in str(dep.get("skip_reason", "")):
            continue  # this project itself, installed from the work tree
        if "skip_reason" in dep:
            project = project_json(name)
            latest = project["info"]["version"] if project else None
            if project is None or latest != version:
                not_audited.append(f"{name} {version} (latest {latest or 'unknown'})")
                continue
            vulns = [
                {"id": v["id"], "aliases": v.get("aliases", [])}
                for v in project.get("vulnerabilities", [])
                if not v.get("withdrawn")
            ]
        audited += 1
        for v in vulns or []:
            ids = {v["id"], *v.get("aliases", [])}
            known = sorted(ids & set(ok_ids))
            if known:
                print(f"accepted: {name} {version} {known[0]}: {ok_ids[known[0]]}")
            else:
                found.append(f"{name} {version}: {', '.join(sorted(ids))}")
    print(f"audited {audited} installed packages; {len(found)} with unaccepted vulnerabilities")
    if not_audited:
        print(f"not audited (the index has no per-release data): {', '.join(not_audited)}")
    for line in found:
        print(f"VULNERABLE {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
