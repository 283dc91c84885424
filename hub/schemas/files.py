"""Reading and writing schema folders: on disk, generated in memory, or at a git revision."""

from __future__ import annotations

import difflib
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from hub.errors import UserError
from hub.schemas.layout import GENERATED

#: Where the schemas live in the repository, which is also where `git show` looks for them.
SCHEMAS_DIR = Path("schemas")
MAX_DIFF_LINES = 20


def contract_files(names: list[str]) -> list[str]:
    """The files that carry the contract (compared for compatibility): ``v<N>/*.json`` and
    ``asyncapi.yaml``; the README is prose."""
    return sorted(
        n
        for n in names
        if n == "asyncapi.yaml" or (n.count("/") == 1 and n.startswith("v") and n.endswith(".json"))
    )


def _listing(directory: Path) -> list[str]:
    return [p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()]


def parse(name: str, text: str | bytes) -> Any:
    """A schema file's content as data; a broken file is the user's to fix, not a crash."""
    try:
        if name.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise UserError(
            f"{name} is not valid {'JSON' if name.endswith('.json') else 'YAML'}: {exc}",
            hint="restore it from git, or regenerate it with `onenet schemas export`",
        ) from None


def parse_all(files: Mapping[str, str]) -> dict[str, Any]:
    return {name: parse(name, files[name]) for name in contract_files(list(files))}


def load_dir(directory: Path) -> dict[str, Any]:
    """The contract files of a schema folder, parsed."""
    if not directory.is_dir():
        raise UserError(
            f"no schema folder at {directory}",
            hint="give the folder that holds v1/ and asyncapi.yaml (such as an unpacked release)",
            exit_code=2,
        )
    names = contract_files(_listing(directory))
    if not names:
        raise UserError(
            f"{directory} holds no schema files (v1/*.json, asyncapi.yaml)",
            hint="point at the schemas/ folder itself, not at the repository",
            exit_code=2,
        )
    return {name: parse(name, (directory / name).read_bytes()) for name in names}


# --- drift ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileState:
    path: str
    state: Literal["created", "updated", "unchanged", "removed", "missing", "differs", "stale"]
    diff: tuple[str, ...] = ()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return ""


def _stale(directory: Path, files: Mapping[str, str]) -> list[str]:
    """Generated files the models no longer produce (a removed type, a renamed file); files
    without the generated marker are someone's own and are left alone."""
    if not directory.is_dir():
        return []
    return [
        name
        for name in contract_files(_listing(directory))
        if name not in files and GENERATED in (_read_text(directory / name) or "")
    ]


def _short_diff(name: str, old: str, new: str) -> tuple[str, ...]:
    lines = list(
        difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            f"{name} (checked in)",
            f"{name} (from the models)",
            n=1,
            lineterm="",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more diff lines)"]
    return tuple(lines)


def drift(directory: Path, files: Mapping[str, str]) -> list[FileState]:
    """How the folder differs from the generated files (empty when it is up to date)."""
    out: list[FileState] = []
    for name, text in files.items():
        current = _read_text(directory / name)
        if current is None:
            out.append(FileState(name, "missing"))
        elif current != text:
            out.append(FileState(name, "differs", _short_diff(name, current, text)))
    out += [FileState(name, "stale") for name in _stale(directory, files)]
    return out


def write(directory: Path, files: Mapping[str, str]) -> list[FileState]:
    """Write what changed (byte-exact, ``\\n`` line ends) and remove stale generated files."""
    out: list[FileState] = []
    for name in _stale(directory, files):
        (directory / name).unlink()
        out.append(FileState(name, "removed"))
    for name, text in files.items():
        path = directory / name
        current = _read_text(path)
        if current == text:
            out.append(FileState(name, "unchanged"))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        out.append(FileState(name, "created" if current is None else "updated"))
    return out


# --- git ------------------------------------------------------------------------------------


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise UserError(
            "git is not installed", hint="install git, or compare folders: compat OLD_DIR"
        ) from None


def load_git(ref: str, *, cwd: Path | None = None, folder: Path = SCHEMAS_DIR) -> dict[str, Any]:
    """The contract files of ``folder`` (relative to the repository root) at revision ``ref``;
    an empty dict when that revision has no such folder (before the first release)."""
    here = cwd or Path.cwd()
    top = _git(["rev-parse", "--show-toplevel"], here)
    if top.returncode != 0:
        raise UserError(
            f"{here} is not inside a git repository",
            hint="run from the repository, or compare folders: onenet schemas compat OLD_DIR",
            exit_code=2,
        )
    root = Path(top.stdout.decode().strip())
    if (
        ref.startswith("-")
        or _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root).returncode != 0
    ):
        raise UserError(
            f"unknown git revision {ref!r}",
            hint="fetch it first (git fetch origin main), or check the name",
            exit_code=2,
        )
    listed = _git(
        ["ls-tree", "-r", "--name-only", "--full-tree", ref, "--", folder.as_posix()], root
    )
    prefix = folder.as_posix().rstrip("/") + "/"
    names = contract_files(
        [line.removeprefix(prefix) for line in listed.stdout.decode().splitlines()]
    )
    out: dict[str, Any] = {}
    for name in names:
        shown = _git(["show", f"{ref}:{prefix}{name}"], root)
        if shown.returncode != 0:
            raise UserError(
                f"cannot read {prefix}{name} at {ref}: {shown.stderr.decode().strip()}",
                hint="check that the revision is complete (a shallow clone may lack it)",
            )
        out[name] = parse(f"{ref}:{prefix}{name}", shown.stdout)
    return out
