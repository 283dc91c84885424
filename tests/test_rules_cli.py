"""`onenet rules check|test` as a user runs them: exit codes, located errors, the shipped pack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ONENET = str(Path(sys.executable).parent / "onenet")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ONENET, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"NO_COLOR": "1", "COLUMNS": "200", "PATH": str(Path(sys.executable).parent)},
    )


def test_the_shipped_pack_checks_and_its_rule_tests_pass() -> None:
    checked = run("rules", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "pack city, 6 rules" in checked.stdout
    tested = run("rules", "test")
    assert tested.returncode == 0, tested.stdout
    assert " 0 failed" in tested.stdout
    assert "FAIL" not in tested.stdout


def test_a_broken_rule_file_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: local\n"
        "rules:\n"
        "  - name: noisy-sensor\n"
        "    kind: threshold\n"
        "    match: {type: city.safety.hydrogen.reading, where: {h2_ppm: {gtee: 5}}}\n"
        "    group_by: sensor_id\n"
        "    window: {size: 5 parsecs}\n"
        "    threshold: 10\n"
        "    severity: Minor\n"
        "    category: Safety\n"
        "    departments: [safety]\n"
        "    headline: noisy\n"
    )
    result = run("rules", "check", str(bad))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert f"{bad}:5: rules[0] (noisy-sensor).match.where.h2_ppm.gtee" in result.stdout
    assert f"{bad}:7: rules[0] (noisy-sensor).window.size" in result.stdout


def test_a_failing_rule_test_exits_1_and_says_why(tmp_path: Path) -> None:
    pack = Path(__file__).resolve().parent.parent / "hub" / "data" / "rules" / "city.yaml"
    (tmp_path / "city.yaml").write_text(pack.read_text())
    (tmp_path / "wrong.test.yaml").write_text(
        "rule_files: [city.yaml]\n"
        "tests:\n"
        "  - name: two readings are not a leak\n"
        "    events:\n"
        "      - {at: 0s, type: city.safety.hydrogen.reading, data: {site_id: A, sensor_id: s,"
        " h2_ppm: 5000, location: {lat: 31.2, lon: 121.4}}}\n"
        "      - {at: 1s, type: city.safety.hydrogen.reading, data: {site_id: A, sensor_id: s,"
        " h2_ppm: 5000, location: {lat: 31.2, lon: 121.4}}}\n"
        "    expect:\n"
        "      - {rule: hydrogen-leak, key: A}\n"
    )
    result = run("rules", "test", str(tmp_path))
    assert result.returncode == 1
    assert "FAIL wrong.test.yaml: two readings are not a leak" in result.stdout
    assert "expected an alert of hydrogen-leak for key A; none fired" in result.stdout
    assert "0 passed, 1 failed" in result.stdout


def test_no_such_path_is_a_usage_error() -> None:
    result = run("rules", "check", "nowhere.yaml")
    assert result.returncode == 2
    assert "nowhere.yaml: no such file or folder" in result.stdout


def test_an_unknown_event_type_is_named_with_its_rule(tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text(
        "name: local\n"
        "rules:\n"
        "  - name: leak-east\n"
        "    kind: threshold\n"
        "    match: {type: city.safety.hydrogen.readings}\n"
        "    group_by: site_id\n"
        "    window: {size: 60s}\n"
        "    threshold: 3\n"
        "    severity: Severe\n"
        "    category: Safety\n"
        "    departments: [safety]\n"
        "    headline: leak at {key}\n"
    )
    result = run("rules", "check", str(bad))
    assert result.returncode == 1
    assert f"{bad}:3: rules[0] (leak-east): unknown event type city.safety.hydrogen.readings" in (
        result.stdout
    )
