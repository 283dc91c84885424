"""The CI's judgement of a pip-audit report: unaccepted vulnerabilities fail, accepted pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "audit_report.py"


def judge(tmp_path: Path, accepted: str) -> subprocess.CompletedProcess[str]:
    report = {
        "dependencies": [
            {"name": "safe", "version": "1.0", "vulns": []},
            {"name": "onenet-hub", "skip_reason": "distribution marked as editable"},
            {
                "name": "leaky",
                "version": "2.0",
                "vulns": [{"id": "PYSEC-2026-1", "aliases": ["CVE-2026-0001"]}],
            },
        ],
        "fixes": [],
    }
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    (tmp_path / "accepted.txt").write_text(accepted, encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(tmp_path / "report.json"),
            str(tmp_path / "accepted.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_an_unaccepted_vulnerability_fails_the_audit(tmp_path: Path) -> None:
    done = judge(tmp_path, "# none accepted\n")
    assert done.returncode == 1, done.stdout
    assert "VULNERABLE leaky 2.0: CVE-2026-0001, PYSEC-2026-1" in done.stdout
    assert "audited 2 installed packages" in done.stdout


def test_an_accepted_vulnerability_is_listed_with_its_reason(tmp_path: Path) -> None:
    done = judge(tmp_path, "CVE-2026-0001  only reachable through a feature the hub never uses\n")
    assert done.returncode == 0, done.stdout
    assert "accepted: leaky 2.0 CVE-2026-0001: only reachable through a feature" in done.stdout
