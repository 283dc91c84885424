"""Is a new version of a schema safe for the producers and consumers of the old one?

A change is **breaking** when a record that was valid before is refused now (a new required
field, a narrowed type or bound, a removed enum value, a new or changed pattern, unknown fields
no longer allowed), or when a consumer written for the old schema can be surprised (a removed
field, a field that became optional, a JSON type it never saw). Alerts and events are kept on
their topics for days, so old records meet new code: both directions matter. **Compatible**
changes widen what is accepted within the same JSON types: a new optional field, wider bounds,
new enum values, a dropped pattern.

The walk understands what pydantic emits: local ``$ref``s into ``$defs`` (with sibling
keywords), ``anyOf`` with ``{"type": "null"}`` for optional fields, ``allOf`` wrappers, and
``if``/``then`` conditionals (compared as a whole). Anything it cannot prove equal in a
constraint it reports as breaking: a false alarm costs a look, a missed break costs an outage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

#: Keywords that document rather than constrain; changing them is never a contract change.
_ANNOTATIONS = frozenset(
    {
        "$comment",
        "$id",
        "$schema",
        "$defs",
        "definitions",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
#: Keywords this module compares; any other keyword that changes is reported as unverifiable.
_UNDERSTOOD = _ANNOTATIONS | {
    "$ref", "type", "enum", "const", "anyOf", "oneOf", "allOf", "not", "if", "then", "else",
    "minLength", "maxLength", "pattern", "format", "contentEncoding", "contentMediaType",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "properties", "required", "additionalProperties", "propertyNames", "maxProperties",
    "minProperties", "dependentRequired", "patternProperties",
    "items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains",
}  # fmt: skip
_MAX_DEPTH = 64


@dataclass(frozen=True, order=True)
class SchemaChange:
    """One difference that matters: where (file and field path) and why."""

    file: str
    path: str
    reason: str
    breaking: bool

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.file else self.path
        return f"{where}: {self.reason}"


def compare_schemas(old: Any, new: Any, *, file: str = "") -> list[SchemaChange]:
    """Every contract-relevant change from ``old`` to ``new`` (two JSON Schema documents)."""
    walker = _Walker(old, new, file)
    walker.compare(old, new, "", 0)
    return sorted(set(walker.changes), key=lambda c: (c.file, not c.breaking, c.path, c.reason))


def compare_sets(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[SchemaChange]:
    """Compare two schema folders, given as ``{relative path: parsed document}``.

    ``*.json`` files are compared as JSON Schemas; an ``asyncapi.yaml`` by its channels and the
    messages on each. A file that disappears is breaking (its producers would be refused and its
    consumers would lose it); a new one is compatible.
    """
    changes: list[SchemaChange] = []
    for name in sorted(old):
        if name not in new:
            changes.append(
                SchemaChange(name, "(file)", "schema removed: its producers are refused now", True)
            )
        elif name.endswith(".json"):
            changes += compare_schemas(old[name], new[name], file=name)
        elif name.endswith((".yaml", ".yml")):
            changes += _compare_asyncapi(old[name], new[name], name)
    changes += [SchemaChange(n, "(file)", "new schema", False) for n in sorted(new) if n not in old]
    return changes


def _compare_asyncapi(old: Any, new: Any, file: str) -> list[SchemaChange]:
    def by_address(doc: Any) -> dict[str, set[str]]:
        channels = doc.get("channels", {}) if isinstance(doc, dict) else {}
        return {
            str(c.get("address")): set(c.get("messages") or {})
            for c in channels.values()
            if isinstance(c, dict)
        }

    before, after = by_address(old), by_address(new)
    changes: list[SchemaChange] = []
    for address, messages in sorted(before.items()):
        if address not in after:
            changes.append(SchemaChange(file, address, "channel (topic) removed", True))
            continue
        changes += [
            SchemaChange(file, f"{address} {m}", "message removed from the channel", True)
            for m in sorted(messages - after[address])
        ]
        changes += [
            SchemaChange(file, f"{address} {m}", "new message on the channel", False)
            for m in sorted(after[address] - messages)
        ]
    changes += [
        SchemaChange(file, a, "new channel (topic)", False)
        for a in sorted(after)
        if a not in before
    ]
    return changes


# --- the walk -----------------------------------------------------------------------------


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _show(values: Any) -> str:
    return ", ".join(_canon(v) for v in values)


class _Walker:
    def __init__(self, old_root: Any, new_root: Any, file: str) -> None:
        self.roots = (old_root, new_root)
        self.file = file
        self.changes: list[SchemaChange] = []
        self._active: set[tuple[str, str]] = set()

    def report(self, path: str, reason: str, *, breaking: bool = True) -> None:
        self.changes.append(SchemaChange(self.file, path or "(root)", reason, breaking))

    # -- resolution --

    def resolve(self, node: Any, side: int) -> tuple[Any, str]:
        """Follow local ``$ref``s (keeping sibling keywords) and fold ``allOf`` in."""
        trail: list[str] = []
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#") or ref in trail:
                break
            trail.append(ref)
            target = _pointer(self.roots[side], ref)
            if target is None:
                break
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if isinstance(target, dict) else target
        if isinstance(node, dict) and isinstance(node.get("allOf"), list):
            merged = {k: v for k, v in node.items() if k != "allOf"}
            for part in node["allOf"]:
                resolved, _ = self.resolve(part, side)
                merged = _merge(merged, resolved)
            node = merged
        return node, "|".join(trail)

    # -- comparison --

    def compare(self, old: Any, new: Any, path: str, depth: int) -> None:
        old, old_ref = self.resolve(old, 0)
        new, new_ref = self.resolve(new, 1)
        self._guarded((old_ref, new_ref), lambda: self._compare_resolved(old, new, path, depth))

    def _guarded(self, refs: tuple[str, str], compare: Callable[[], None]) -> None:
        """Run ``compare`` unless this pair of definitions is already being compared above
        (a recursive model), which would otherwise recurse until the depth limit."""
        if not any(refs):
            compare()
            return
        if refs in self._active:
            return
        self._active.add(refs)
        try:
            compare()
        finally:
            self._active.discard(refs)

    def _compare_resolved(self, old: Any, new: Any, path: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.report(path, "schema nested too deep to compare")
            return
        if old is False or new is True or _canon(old) == _canon(new):
            return
        if new is False:
            self.report(path, "no value is accepted any more")
            return
        if old is True:
            old = {}
        if not isinstance(old, dict) or not isinstance(new, dict):
            self.report(path, "schema is not an object; cannot compare")
            return
        if "$ref" in old or "$ref" in new:  # left unresolved: not a local reference
            if old.get("$ref") != new.get("$ref"):
                self.report(path, f"reference changed ({old.get('$ref')} -> {new.get('$ref')})")
            return
        if "not" in new and _canon(new["not"]) != _canon(old.get("not")):
            self.report(path, "a `not` constraint was added or changed")
        self._compare_conditionals(old, new, path)
        self._compare_alternatives(old, new, path, depth)

    def _compare_conditionals(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        words = ("if", "then", "else")
        if all(_canon(old.get(w)) == _canon(new.get(w)) for w in words):
            return
        if "if" in new or "then" in new or "else" in new:
            self.report(path, "a conditional requirement (if/then/else) was added or changed")
        else:
            self.report(path, "a conditional requirement was removed", breaking=False)

    def _compare_alternatives(
        self, old: dict[str, Any], new: dict[str, Any], path: str, depth: int
    ) -> None:
        old_branches = list(self._branches(old, 0, ""))
        new_branches = list(self._branches(new, 1, ""))
        old_types: set[str] = set().union(*(_types(b) for b, _ in old_branches))
        new_types: set[str] = set().union(*(_types(b) for b, _ in new_branches))
        for t in sorted(old_types):
            if not _covered(t, new_types):
                if t == "null":
                    self.report(path, "null is no longer accepted (the field was nullable)")
                elif t == "number" and "integer" in new_types:
                    self.report(path, "type narrowed from number to integer")
                elif t == "any":
                    self.report(path, f"narrowed from any value to {_show(sorted(new_types))}")
                else:
                    self.report(path, f"type {t} is no longer accepted")
        for t in sorted(new_types):
            if not _covered(t, old_types):
                if t == "null":
                    self.report(path, "null is now accepted: consumers that expect a value break")
                else:
                    self.report(
                        path,
                        f"type {t} is now accepted: consumers written for "
                        f"{', '.join(sorted(old_types))} break",
                    )
        for t in sorted(old_types):
            before = [b for b in old_branches if t in _types(b[0])]
            after = [b for b in new_branches if _covered(t, _types(b[0]))]
            if len(after) < len(before):
                self.report(path, f"an alternative of type {t} was removed")
            # Several alternatives of one JSON type (two object shapes, say) pair up in order.
            for (old_branch, old_ref), (new_branch, new_ref) in zip(before, after, strict=False):
                compare = partial(self._compare_typed, t, old_branch, new_branch, path, depth)
                self._guarded((old_ref, new_ref), compare)

    def _branches(
        self, schema: dict[str, Any], side: int, ref: str
    ) -> Iterator[tuple[dict[str, Any], str]]:
        """The alternatives of a schema, each with the definition it came from; keywords
        beside ``anyOf`` apply to every alternative."""
        for word in ("anyOf", "oneOf"):
            if isinstance(schema.get(word), list):
                rest = {k: v for k, v in schema.items() if k != word}
                for part in schema[word]:
                    resolved, trail = self.resolve(part, side)
                    if resolved is False:
                        continue
                    merged = _merge(rest, {} if resolved is True else resolved)
                    yield from self._branches(merged, side, trail or ref)
                return
        yield schema, ref

    def _compare_typed(
        self, t: str, old: dict[str, Any], new: dict[str, Any], path: str, depth: int
    ) -> None:
        for word in sorted((set(old) | set(new)) - _UNDERSTOOD):
            if _canon(old.get(word)) != _canon(new.get(word)):
                self.report(path, f"keyword {word} changed; cannot tell whether it narrows")
        self._compare_values(t, old, new, path)
        if t == "string" or t == "any":
            self._compare_strings(old, new, path)
        if t in ("number", "integer", "any"):
            self._compare_numbers(old, new, path)
        if t == "object" or t == "any":
            self._compare_objects(old, new, path, depth)
        if t == "array" or t == "any":
            self._compare_arrays(old, new, path, depth)

    def _compare_values(self, t: str, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        before, after = _values(old, t), _values(new, t)
        if after is None:
            if before is not None:
                self.report(path, "no longer limited to fixed values", breaking=False)
            return
        if before is None:
            self.report(path, f"narrowed to fixed values: {_show(after)}")
            return
        removed = [v for v in before if _canon(v) not in {_canon(a) for a in after}]
        added = [v for v in after if _canon(v) not in {_canon(b) for b in before}]
        if removed:
            self.report(path, f"allowed values removed: {_show(removed)}")
        if added:
            self.report(path, f"allowed values added: {_show(added)}", breaking=False)

    # -- per type --

    def _bound(
        self, path: str, word: str, old: Any, new: Any, *, tighter: str, unit: str = ""
    ) -> None:
        """A keyword where a larger (``tighter="up"``) or smaller value narrows."""
        if old == new:
            return
        if new is None:
            self.report(path, f"{word} {old}{unit} dropped", breaking=False)
            return
        if old is None:
            self.report(path, f"{word} {new}{unit} added")
            return
        narrowed = new > old if tighter == "up" else new < old
        verb = ("raised" if new > old else "lowered") + f" from {old}{unit} to {new}{unit}"
        self.report(path, f"{word} {verb}", breaking=narrowed)

    def _compare_strings(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        self._bound(path, "minLength", old.get("minLength"), new.get("minLength"), tighter="up")
        self._bound(path, "maxLength", old.get("maxLength"), new.get("maxLength"), tighter="down")
        for word in ("pattern", "format", "contentEncoding", "contentMediaType"):
            before, after = old.get(word), new.get(word)
            if before == after:
                continue
            if after is None:
                self.report(path, f"{word} {before!r} dropped", breaking=False)
            elif before is None:
                self.report(path, f"{word} {after!r} added")
            else:
                self.report(path, f"{word} changed from {before!r} to {after!r}")

    def _compare_numbers(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        for name, exclusive, lower in (
            ("minimum", "exclusiveMinimum", True),
            ("maximum", "exclusiveMaximum", False),
        ):
            before, after = _limit(old, name, exclusive), _limit(new, name, exclusive)
            if before == after:
                continue
            if after is None:
                self.report(path, f"{name} {_show_limit(before)} dropped", breaking=False)
            elif before is None:
                self.report(path, f"{name} {_show_limit(after)} added")
            else:
                verb = "raised" if after > before else "lowered"
                self.report(
                    path,
                    f"{name} {verb} from {_show_limit(before)} to {_show_limit(after)}",
                    breaking=_tighter(after, before, lower=lower),
                )
        before_m, after_m = old.get("multipleOf"), new.get("multipleOf")
        if before_m == after_m:
            return
        if after_m is None:
            self.report(path, f"multipleOf {before_m} dropped", breaking=False)
        elif before_m is not None and after_m and (before_m / after_m).is_integer():
            self.report(path, f"multipleOf {before_m} became {after_m}", breaking=False)
        else:
            self.report(path, f"multipleOf changed from {before_m} to {after_m}")

    def _compare_objects(
        self, old: dict[str, Any], new: dict[str, Any], path: str, depth: int
    ) -> None:
        old_props: dict[str, Any] = old.get("properties") or {}
        new_props: dict[str, Any] = new.get("properties") or {}
        old_req, new_req = set(old.get("required") or ()), set(new.get("required") or ())
        for name in old_props:
            here = _child(path, name)
            if name not in new_props:
                self.report(here, "field removed: consumers that read it break")
            else:
                self.compare(old_props[name], new_props[name], here, depth + 1)
        for name in new_props:
            if name not in old_props and name not in new_req:
                self.report(_child(path, name), "new optional field", breaking=False)
        for name in sorted(new_req - old_req):
            if name in old_props:
                self.report(
                    _child(path, name), "field became required: producers that omit it are refused"
                )
            else:
                self.report(
                    _child(path, name), "new required field: existing producers do not send it"
                )
        for name in sorted(old_req - new_req):
            if name in new_props:
                self.report(
                    _child(path, name),
                    "field is no longer required: consumers that rely on it break",
                )
        self._compare_additional(old, new, path, depth)
        if _canon(old.get("propertyNames", True)) != _canon(new.get("propertyNames", True)):
            self.compare(
                old.get("propertyNames", True),
                new.get("propertyNames", True),
                _child(path, "<field names>"),
                depth + 1,
            )
        self._bound(
            path,
            "maxProperties",
            old.get("maxProperties"),
            new.get("maxProperties"),
            tighter="down",
        )
        self._bound(
            path, "minProperties", old.get("minProperties"), new.get("minProperties"), tighter="up"
        )
        old_dep = old.get("dependentRequired") or {}
        for name, needs in (new.get("dependentRequired") or {}).items():
            added = set(needs) - set(old_dep.get(name, ()))
            if added:
                self.report(_child(path, name), f"now requires {', '.join(sorted(added))}")
        old_pat, new_pat = old.get("patternProperties") or {}, new.get("patternProperties") or {}
        for pattern in sorted(set(old_pat) | set(new_pat)):
            here = _child(path, f"<fields matching {pattern}>")
            if pattern not in new_pat:
                self.report(here, "pattern-matched fields no longer described", breaking=False)
            elif pattern not in old_pat:
                self.report(here, "fields matching a pattern are now constrained")
            else:
                self.compare(old_pat[pattern], new_pat[pattern], here, depth + 1)

    def _compare_additional(
        self, old: dict[str, Any], new: dict[str, Any], path: str, depth: int
    ) -> None:
        before = old.get("additionalProperties", True)
        after = new.get("additionalProperties", True)
        if _canon(before) == _canon(after):
            return
        here = _child(path, "<unknown fields>")
        if after is False:
            self.report(path, "additionalProperties true -> false: unknown fields are refused")
        elif before is False:
            self.report(path, "unknown fields are now allowed", breaking=False)
        else:
            self.compare(before, after, here, depth + 1)

    def _compare_arrays(
        self, old: dict[str, Any], new: dict[str, Any], path: str, depth: int
    ) -> None:
        here = f"{path}[]"
        if "items" in old or "items" in new:
            self.compare(old.get("items", True), new.get("items", True), here, depth + 1)
        old_prefix, new_prefix = old.get("prefixItems") or [], new.get("prefixItems") or []
        for i in range(max(len(old_prefix), len(new_prefix))):
            self.compare(
                old_prefix[i] if i < len(old_prefix) else old.get("items", True),
                new_prefix[i] if i < len(new_prefix) else new.get("items", True),
                f"{path}[{i}]",
                depth + 1,
            )
        self._bound(path, "minItems", old.get("minItems"), new.get("minItems"), tighter="up")
        self._bound(path, "maxItems", old.get("maxItems"), new.get("maxItems"), tighter="down")
        if new.get("uniqueItems") and not old.get("uniqueItems"):
            self.report(path, "items must now be unique")
        if "contains" in new and _canon(new["contains"]) != _canon(old.get("contains")):
            self.report(path, "a `contains` constraint was added or changed")


# --- helpers --------------------------------------------------------------------------------


def _pointer(root: Any, ref: str) -> Any:
    node = root
    for raw in ref.lstrip("#").split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _merge(base: Any, extra: Any) -> Any:
    """Fold one ``allOf`` part (or an ``anyOf`` branch) into the keywords around it."""
    if base is False or extra is False:
        return False
    if base is True:
        return extra
    if extra is True:
        return base
    out = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        elif key == "required" and isinstance(out.get(key), list):
            out[key] = sorted(set(out[key]) | set(value))
        else:
            out.setdefault(key, value)
    return out


def _types(schema: Any) -> set[str]:
    """The JSON types a branch admits; ``any`` when it does not restrict the type."""
    if schema is True or not isinstance(schema, dict):
        return {"any"}
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {str(t) for t in declared}
    values = _values(schema, None)
    if values is not None:
        return {_type_of(v) for v in values}
    return {"any"}


def _covered(t: str, types: set[str]) -> bool:
    return t in types or "any" in types or (t == "integer" and "number" in types)


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _values(schema: dict[str, Any], t: str | None) -> list[Any] | None:
    """The fixed values (``const``/``enum``) of a schema, those of type ``t`` only if given."""
    if "const" in schema:
        values = [schema["const"]]
    elif isinstance(schema.get("enum"), list):
        values = list(schema["enum"])
    else:
        return None
    if t is None or t == "any":
        return values
    return [v for v in values if _covered(_type_of(v), {t})]


Limit = tuple[float, bool]  # (value, exclusive)


def _limit(schema: dict[str, Any], inclusive: str, exclusive: str) -> Limit | None:
    limits: list[Limit] = []
    if isinstance(schema.get(inclusive), int | float):
        limits.append((float(schema[inclusive]), False))
    if isinstance(schema.get(exclusive), int | float):
        limits.append((float(schema[exclusive]), True))
    if not limits:
        return None
    lower = inclusive == "minimum"
    best = limits[0]
    for limit in limits[1:]:
        if _tighter(limit, best, lower=lower):
            best = limit
    return best


def _tighter(a: Limit, b: Limit, *, lower: bool) -> bool:
    """Whether limit ``a`` admits strictly less than ``b``."""
    if a[0] != b[0]:
        return a[0] > b[0] if lower else a[0] < b[0]
    return a[1] and not b[1]


def _show_limit(limit: Limit | None) -> str:
    if limit is None:
        return "none"
    value = int(limit[0]) if limit[0].is_integer() else limit[0]
    return f"{value} (exclusive)" if limit[1] else f"{value}"


__all__ = ["SchemaChange", "compare_schemas", "compare_sets"]
