"""The mistakes people make on the command line, run as they make them: the real `onenet`
in a subprocess, asserting the message, the exit code and that no traceback is shown."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import Counter, Gauge, Histogram

from hub import metrics
from hub.bootstrap import check_reachable
from hub.errors import UserError
from hub.kafka import TopicSpec, ensure_topics
from hub.observe import start_observability_server
from hub.topics import Topics

ONENET = str(Path(sys.executable).parent / "onenet")
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def onenet(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    base = {
        "NO_COLOR": "1",
        "COLUMNS": "200",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(cwd),
        "ONENET_STATE_DIR": str(cwd / ".onenet"),
    }
    return subprocess.run(
        [ONENET, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env={**base, **(env or {})},
    )


def mistake(result: subprocess.CompletedProcess[str], code: int, *expected: str) -> str:
    """Assert a short user-facing error: the exit code, the texts, no traceback."""
    text = result.stdout + result.stderr
    assert result.returncode == code, text
    assert "Traceback" not in text, text
    assert "error:" in result.stderr, text
    for part in expected:
        assert part in result.stderr, text
    return result.stderr


# --- onenet.toml and ONENET_CONFIG ----------------------------------------------------------


def test_a_misspelt_key_is_an_error_that_suggests_the_right_one(tmp_path: Path) -> None:
    (tmp_path / "onenet.toml").write_text('topic_prefix = "city"\npartitons = 6\n')
    stderr = mistake(
        onenet("topics", "create", cwd=tmp_path),
        2,
        "onenet.toml:2: unknown setting `partitons`",
        "hint: did you mean `partitions`?",
    )
    assert len(stderr.splitlines()) <= 3


def test_an_unknown_table_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "onenet.toml").write_text('[kafka]\nbootstrap_servers = "k:9092"\n')
    mistake(
        onenet("topics", "create", cwd=tmp_path),
        2,
        "onenet.toml:1: unknown table [kafka]",
        "did you mean `kafka_bootstrap_servers = ...` at the top level?",
    )


def test_a_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "onenet.toml").write_text('topic_prefix = "city"\npartitions = \n')
    mistake(
        onenet("topics", "create", cwd=tmp_path),
        2,
        "onenet.toml:2:14: TOML syntax error: Invalid value",
    )


def test_a_settings_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    (tmp_path / "onenet.toml").write_bytes(b'partitions = 3\ntopic_prefix = "\xff"\n')
    mistake(onenet("topics", "create", cwd=tmp_path), 2, "onenet.toml:2:17: not UTF-8 (byte 0xff)")


def test_a_value_of_the_wrong_type_names_the_key_and_the_value(tmp_path: Path) -> None:
    (tmp_path / "onenet.toml").write_text('partitions = "six"\n')
    mistake(
        onenet("topics", "create", cwd=tmp_path),
        2,
        "onenet.toml:1: invalid value for `partitions`",
        "valid integer",
        "(got 'six')",
    )


def test_a_bad_variable_is_named_as_the_variable(tmp_path: Path) -> None:
    mistake(
        onenet("topics", "create", cwd=tmp_path, env={"ONENET_PARTITIONS": "many"}),
        2,
        "invalid setting ONENET_PARTITIONS",
        "(got 'many')",
        "hint: fix the variable ONENET_PARTITIONS",
    )


def test_onenet_config_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    mistake(
        onenet("topics", "create", cwd=tmp_path, env={"ONENET_CONFIG": str(missing)}),
        2,
        f"ONENET_CONFIG names {missing}, which does not exist",
        "hint: point ONENET_CONFIG at an onenet.toml file",
    )


def test_the_views_keys_are_accepted_by_every_command(tmp_path: Path) -> None:
    """One file serves every process: the view's keys are no typo for the worker's settings."""
    (tmp_path / "onenet.toml").write_text("view_sla_target_percent = 95\npartitions = 2\n")
    result = onenet("topics", "create", cwd=tmp_path)
    # It gets past the settings to the broker, which is not running here.
    mistake(result, 1, "no Kafka broker configured")


# --- usage and shared options ---------------------------------------------------------------


def test_an_unknown_option_is_a_usage_error_with_a_hint(tmp_path: Path) -> None:
    mistake(
        onenet("topics", "create", "--partitons", "3", cwd=tmp_path),
        2,
        "error: No such option: --partitons",
        "hint: see `onenet topics create --help`",
    )


def test_log_level_is_one_spelling_everywhere(tmp_path: Path) -> None:
    for args in (["worker", "--help"], ["view", "--help"], ["rules", "check", "--help"]):
        shown = onenet(*args, "--log-level", "debug", cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert "--log-level" in shown.stdout
    assert onenet("rules", "check", "--log-level", "warning", cwd=tmp_path).returncode == 0
    assert onenet("--log-level=error", "rules", "check", cwd=tmp_path).returncode == 0
    mistake(
        onenet("rules", "check", "--log-level", "loud", cwd=tmp_path),
        2,
        "--log-level needs one of debug, info, warning, error, not 'loud'",
    )
    old = onenet("worker", "--loglevel", "debug", cwd=tmp_path)
    mistake(old, 2, "No such option: --loglevel")


def test_connector_run_name_help_shows_that_connectors_options(tmp_path: Path) -> None:
    shown = onenet("connector", "run", "simulator", "--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Usage: onenet connector run simulator [OPTIONS]" in shown.stdout
    for option in ("--seed", "--time-scale", "--instance", "--metrics-port", "--log-level"):
        assert option in shown.stdout
    replay = onenet("connector", "run", "replay", "--help", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    assert "--seed" not in replay.stdout
    listing = onenet("connector", "run", "--help", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "simulator" in listing.stdout
    mistake(
        onenet("connector", "run", "simulator", "--sede", "1", cwd=tmp_path),
        2,
        "No such option: --sede",
        "hint: see `onenet connector run simulator --help`",
    )
    mistake(
        onenet("connector", "run", "--seed", "1", cwd=tmp_path),
        2,
        "needs a connector name before its options",
    )


def test_an_unexpected_exception_shows_its_traceback_only_at_debug(tmp_path: Path) -> None:
    """A state folder that is a file reaches code that does not expect it."""
    state = tmp_path / "state"
    state.write_text("not a folder\n")
    env = {"ONENET_STATE_DIR": str(state)}
    short = onenet("broker", "start", cwd=tmp_path, env=env)
    mistake(short, 1, "error: unexpected NotADirectoryError", "--log-level debug")
    assert len(short.stderr.splitlines()) == 2
    full = onenet("broker", "start", "--log-level", "debug", cwd=tmp_path, env=env)
    assert full.returncode == 1
    assert "Traceback (most recent call last)" in full.stderr
    assert "NotADirectoryError" in full.stderr


# --- the broker -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_alerts_tail_with_no_broker_names_the_address_and_how_to_start_one(
    tmp_path: Path,
) -> None:
    address = f"127.0.0.1:{free_port()}"
    result = onenet("alerts", "tail", cwd=tmp_path, env={"KAFKA_BOOTSTRAP_SERVERS": address})
    stderr = mistake(
        result,
        1,
        f"error: cannot reach the Kafka broker at {address} (Connection refused)",
        "`onenet broker start`",
    )
    assert len(stderr.splitlines()) == 2


def test_a_peer_that_does_not_answer_as_kafka_is_given_up_after_the_timeout(
    tmp_path: Path,
) -> None:
    """A port that accepts connections and stays silent: the check waits the set timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        result = onenet(
            "publish",
            str(SAMPLES / "city-sample.jsonl"),
            cwd=tmp_path,
            env={"KAFKA_BOOTSTRAP_SERVERS": address, "ONENET_KAFKA_CONNECT_TIMEOUT_S": "1"},
        )
        took = time.monotonic() - started
    mistake(result, 1, f"cannot reach the Kafka broker at {address} (no answer within 1 s)")
    assert took < 30, took  # the client library alone would retry for a minute


def test_the_check_passes_against_a_real_broker(kafka_bootstrap: str) -> None:
    check_reachable(kafka_bootstrap, 5.0)
    with pytest.raises(UserError, match="cannot reach"):
        check_reachable(f"127.0.0.1:{free_port()}", 1.0)


# --- ports ------------------------------------------------------------------------------------


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def test_a_worker_metrics_port_in_use_names_the_port_and_its_setting(
    tmp_path: Path, busy_port: int
) -> None:
    env = {"ONENET_WORKER_WEB_PORT": str(busy_port)}
    stderr = mistake(
        onenet("worker", cwd=tmp_path, env=env),
        1,
        f"error: port {busy_port} on 127.0.0.1 is in use",
        "--metrics-port or ONENET_WORKER_WEB_PORT",
    )
    assert len(stderr.splitlines()) == 2
    mistake(
        onenet("worker", "--metrics-port", str(busy_port), cwd=tmp_path),
        1,
        f"port {busy_port} on 127.0.0.1 is in use",
    )


def test_a_view_port_in_use_names_the_port_and_the_option(tmp_path: Path, busy_port: int) -> None:
    mistake(
        onenet("view", "--port", str(busy_port), cwd=tmp_path),
        1,
        f"error: cannot listen on 127.0.0.1:{busy_port}: the port is in use",
        "pick another port with --port",
    )


def test_a_connector_metrics_port_in_use_names_the_option(tmp_path: Path, busy_port: int) -> None:
    mistake(
        onenet("connector", "run", "simulator", "--metrics-port", str(busy_port), cwd=tmp_path),
        1,
        f"error: port {busy_port} on 127.0.0.1 is in use",
        "--metrics-port",
    )


# --- metrics: each process its own families, no _created -------------------------------------


def families(exposition: str) -> set[str]:
    """Family names as prometheus_client spells them (a counter's without `_total`)."""
    found = re.findall(r"^# TYPE (\S+) (\S+)", exposition, flags=re.MULTILINE)
    return {name.removesuffix("_total") if kind == "counter" else name for name, kind in found}


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


@pytest.mark.parametrize("role", sorted(metrics.ROLES))
def test_each_role_exports_its_own_families_and_no_created_series(role: str) -> None:
    server = start_observability_server(0, role=role)
    try:
        text = scrape(f"{server.url}/metrics")
    finally:
        server.stop()
    onenet_families = {f for f in families(text) if f.startswith("onenet_")}
    own = {c._name for c in (*metrics.COMMON, *metrics.ROLES[role])}  # type: ignore[attr-defined]
    assert onenet_families == own
    assert "_created" not in text
    assert "process_cpu_seconds_total" in text


def test_every_metric_belongs_to_a_process() -> None:
    """A metric no role exports would be defined and never scraped (publish has no /metrics)."""
    owned = {id(c) for cs in (metrics.COMMON, *metrics.ROLES.values()) for c in cs}
    defined = [v for v in vars(metrics).values() if isinstance(v, Counter | Gauge | Histogram)]
    orphans = [m._name for m in defined if id(m) not in owned]
    assert orphans == ["onenet_events_published"]


def test_a_running_connector_serves_only_connector_metrics(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The real command, scraped while it runs."""
    port = free_port()
    prefix = f"cli{port}"
    ensure_topics(kafka_bootstrap, [TopicSpec(t, 1, 1) for t in Topics(prefix).all()])
    proc = subprocess.Popen(
        [ONENET, "connector", "run", "simulator", "--rate", "50", "--metrics-port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(tmp_path),
            "ONENET_STATE_DIR": str(tmp_path / ".onenet"),
            "ONENET_TOPIC_PREFIX": prefix,
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        },
    )
    try:
        deadline = time.monotonic() + 90
        text = ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                text = scrape(f"http://127.0.0.1:{port}/metrics")
            except OSError:
                text = ""
            if "onenet_connector_events_published_total{" in text:
                break
            time.sleep(0.2)
        assert "onenet_connector_events_published_total{" in text, proc.stderr
        found = {f for f in families(text) if f.startswith("onenet_")}
        assert found == {
            c._name  # type: ignore[attr-defined]
            for c in (*metrics.COMMON, *metrics.ROLES["connector"])
        }
        assert "_created" not in text
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


# --- rule files -------------------------------------------------------------------------------

UNKNOWN_FIELD = """\
name: local
rules:
  - name: leak
    kind: threshold
    severity: Severe
    category: Safety
    departments: [safety]
    headline: leak
    match: {type: city.safety.hydrogen.reading}
    group_by: site_id
    window: {size: 60s, type: sliding}
    threshold: 3
    colour: red
"""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"name: local\nrules: [\n", "bad.yaml:3: not valid YAML"),
        (UNKNOWN_FIELD.encode(), "bad.yaml:13: rules[0] (leak).colour: Extra inputs"),
        (b"name: local\n# caf\xe9\nrules: []\n", "bad.yaml:2: not UTF-8 (byte 0xe9)"),
    ],
    ids=["syntax", "unknown-field", "not-utf8"],
)
def test_a_worker_with_a_bad_rule_file_stops_before_connecting(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_bytes(content)
    # No broker and a port in use: the rule file is what it must complain about.
    stderr = mistake(
        onenet("worker", cwd=tmp_path, env={"ONENET_RULES_PATH": str(rules)}),
        1,
        "error: the worker's rule file is invalid:",
        expected,
        f"hint: fix it and check it with `onenet rules check {rules}`",
    )
    assert len(stderr.splitlines()) == 2


def test_rules_check_prints_values_with_rich_markup_literally(tmp_path: Path) -> None:
    rules = tmp_path / "markup.yaml"
    rules.write_text('name: "l[/]x"\nrules:\n  - name: a\n    kind: "[/]"\n')
    result = onenet("rules", "check", str(rules), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Input tag '[/]' found using 'kind'" in result.stdout
    assert f"{rules}:1: name:" in result.stdout


def test_rules_check_names_a_non_utf8_file_and_its_line(tmp_path: Path) -> None:
    rules = tmp_path / "latin1.yaml"
    rules.write_bytes(b"name: local\nrules: []\n# Gr\xfc\xdfe\n")
    result = onenet("rules", "check", str(rules), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert f"{rules}:3: not UTF-8 (byte 0xfc)" in result.stdout
