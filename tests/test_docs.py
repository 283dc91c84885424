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


def test_the_architecture_tree_names_every_package_and_nothing_that_is_gone() -> None:
    root = Path(__file__).resolve().parent.parent
    page = (root / "docs" / "architecture.md").read_text()
    tree = page.split("## Packages", 1)[1].split("```", 2)[1]
    packages = sorted(
        f"{init.parent.relative_to(root)}/"
        for top in ("hub", "connectors")
        for init in (root / top).glob("*/__init__.py")
    )
    assert [p for p in packages if p not in tree] == []
    named = [ln.split()[0] for ln in tree.splitlines() if ln.startswith(("hub/", "connectors/"))]
    assert named
    assert [n for n in named if not (root / n.rstrip(",")).exists()] == []
