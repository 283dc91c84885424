"""The README documents every setting the code reads."""

from __future__ import annotations

from pathlib import Path

from hub.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    missing = [
        f"ONENET_{name.upper()}"
        for name in Settings.model_fields
        if f"ONENET_{name.upper()}" not in README
    ]
    assert missing == []


def test_readme_opens_with_the_two_commands() -> None:
    head = README.split("## ", 1)[0]
    assert "make demo" in head
    assert "make test" in head


def test_the_connector_guide_shows_the_example_that_the_tests_run() -> None:
    root = Path(__file__).resolve().parent.parent
    guide = (root / "docs" / "connectors.md").read_text()
    example = "examples/city-inspections/city_inspections/connector.py"
    marker = f"<!-- example: {example} -->\n```python\n"
    shown = guide.split(marker, 1)[1].split("```", 1)[0]
    source = (root / example).read_text()
    assert shown == source
    assert len([ln for ln in source.splitlines() if ln.strip()]) <= 40
