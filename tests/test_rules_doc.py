"""docs/rules.md tells the truth: its packs load, its rule tests pass, its copy of the default
pack is the shipped one, and the command output it shows is what the commands print.

Blocks are marked with an HTML comment right before the fence:

- `<!-- pack -->` or `<!-- pack: NAME.yaml -->`: a complete rule pack (``yaml``), loaded
  with `hub.correlate.loader.load_text`; a named one is also a file the other blocks may use.
- `<!-- pack-test: NAME.test.yaml -->`: a rule test (``yaml``) of the packs it names in
  `rule_files`, run with `hub.correlate.ruletest`; every case must pass.
- `<!-- file: NAME -->`: a file the command examples use (a broken pack, a failing test).
- `<!-- city-rule -->`: one rule of the default pack, as a one-item YAML list.
- `<!-- output -->`: a ``console`` block: `$ onenet rules ...`, then exactly what it prints,
  run in a folder holding every named block.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from hub.correlate.cli import app as rules_cli
from hub.correlate.loader import RuleFileError, load_text
from hub.correlate.pack import load_pack
from hub.correlate.ruletest import run_file

DOC = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
TEXT = DOC.read_text(encoding="utf-8")

_BLOCK = re.compile(
    r"<!--\s*(?P<mark>[a-z-]+)(?::\s*(?P<name>\S+))?\s*-->[ \t]*\n(?:[ \t]*\n)*"
    r"```(?P<lang>[a-z]*)\n(?P<body>.*?)^```",
    re.DOTALL | re.MULTILINE,
)
_FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```", re.DOTALL | re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Block:
    mark: str
    name: str | None
    lang: str
    body: str
    line: int

    def __str__(self) -> str:
        return f"{self.mark}{':' + self.name if self.name else ''}@rules.md:{self.line}"


def _blocks() -> list[Block]:
    return [
        Block(m["mark"], m["name"], m["lang"], m["body"], TEXT.count("\n", 0, m.start("body")) + 1)
        for m in _BLOCK.finditer(TEXT)
    ]


BLOCKS = _blocks()
MARKS = {"pack", "pack-test", "file", "city-rule", "output"}


def _marked(mark: str) -> list[Block]:
    return [b for b in BLOCKS if b.mark == mark]


def _files() -> dict[str, str]:
    files: dict[str, str] = {}
    for b in BLOCKS:
        if b.mark in ("pack", "pack-test", "file") and b.name:
            assert b.name not in files, f"{b}: a second block named {b.name}"
            files[b.name] = b.body
    return files


def _write_files(folder: Path) -> None:
    for name, body in _files().items():
        (folder / name).write_text(body, encoding="utf-8")


def test_the_doc_has_its_marked_blocks() -> None:
    assert {b.mark for b in BLOCKS} <= MARKS, "an unknown marker (typo?)"
    assert len(_marked("pack")) >= 5
    assert _marked("pack-test")
    assert len(_marked("city-rule")) == 6
    assert _marked("output")
    for b in BLOCKS:
        want = "console" if b.mark == "output" else "yaml"
        assert b.lang == want, f"{b}: a {b.mark} block must be ```{want}"
        if b.mark in ("pack-test", "file"):
            assert b.name, f"{b}: needs a file name"


def test_every_pack_shaped_yaml_block_is_marked() -> None:
    """A documented pack cannot dodge these tests by losing its marker."""
    marked = {b.body for b in BLOCKS}
    for m in _FENCE.finditer(TEXT):
        body = m["body"]
        pack_shaped = re.search(r"^rules:", body, re.M) and re.search(r"^name:", body, re.M)
        if m["lang"] == "yaml" and pack_shaped:
            line = TEXT.count("\n", 0, m.start("body")) + 1
            assert body in marked, f"rules.md:{line}: a pack without <!-- pack --> marker"


@pytest.mark.parametrize("block", _marked("pack"), ids=str)
def test_documented_pack_is_valid(block: Block) -> None:
    pack = load_text(block.body, block.name or str(block))
    assert pack.rules


@pytest.mark.parametrize("block", _marked("pack-test"), ids=str)
def test_documented_rule_test_passes(block: Block, tmp_path: Path) -> None:
    spec = yaml.safe_load(block.body)
    named = {b.name for b in _marked("pack")}
    for f in spec["rule_files"]:
        assert f in named, f"{block}: rule file {f} is not a <!-- pack: {f} --> block"
    _write_files(tmp_path)
    assert block.name is not None
    results = run_file(tmp_path / block.name)
    assert results
    failures = [f"{r.name}: {line}" for r in results for line in r.failures]
    assert failures == []


def test_documented_city_rules_are_the_shipped_ones() -> None:
    shipped = {r.name: r for r in load_pack().rules}
    seen: list[str] = []
    for block in _marked("city-rule"):
        items = yaml.safe_load(block.body)
        assert isinstance(items, list), f"{block}: the rule as a one-item YAML list"
        assert len(items) == 1, f"{block}: one rule per block"
        pack = load_text(
            yaml.safe_dump({"name": "doc", "rules": items}, sort_keys=False), str(block)
        )
        (rule,) = pack.rules
        assert rule.name in shipped, f"{block}: {rule.name} is not in city.yaml"
        assert rule == shipped[rule.name], f"{block}: differs from city.yaml"
        seen.append(rule.name)
    assert sorted(seen) == sorted(shipped), "every rule of the default pack is documented once"


@pytest.mark.parametrize("block", _marked("output"), ids=str)
def test_documented_output_is_what_the_command_prints(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command, *expected = block.body.rstrip("\n").split("\n")
    assert command.startswith("$ onenet rules "), f"{block}: starts with `$ onenet rules ...`"
    args = shlex.split(command.removeprefix("$ onenet rules "))
    _write_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(rules_cli, args)
    printed = [line.rstrip() for line in _ANSI.sub("", result.output).rstrip("\n").split("\n")]
    assert printed == [line.rstrip() for line in expected]
    failing = any(line.startswith(("FAIL", "broken")) for line in expected)
    assert result.exit_code == (1 if failing else 0)


def test_broken_examples_are_refused_by_the_loader() -> None:
    for block in _marked("file"):
        if block.name and block.name.startswith("broken"):
            with pytest.raises(RuleFileError):
                load_text(block.body, block.name)
