"""The mistakes people make on the command line, run as they make them: the real `onenet`
in a subprocess, asserting the message, the exit code and that no traceback is shown."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.bootstrap import check_reachable
from hub.errors import UserError

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
