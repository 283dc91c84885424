"""Event selectors of rule files: an event type (or several) and conditions on data fields.

match:
  type: city.safety.hydrogen.reading
  where:
    h2_ppm: {gte: 4000}
    location.lat: {between: [31.0, 31.5]}
    sensor_id: {in: [S1, S2]}
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.correlate.fact import Fact

Scalar = str | int | float | bool


class Condition(BaseModel):
    """One test on one field; several keys in one condition must all hold."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    eq: Scalar | None = None
    ne: Scalar | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    exists: bool | None = None
    matches: str | None = None

    @field_validator("matches")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return v

    @model_validator(mode="before")
    @classmethod
    def _scalar_means_eq(cls, v: Any) -> Any:
        return {"eq": v} if isinstance(v, str | int | float | bool) else v

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError(
                "a condition needs at least one of eq, ne, gt, gte, lt, lte, in, "
                "not_in, exists, matches"
            )
        return self

    def compile(self) -> Callable[[Any], bool]:
        tests: list[Callable[[Any], bool]] = []
        num = _number
        if self.eq is not None:
            eq = self.eq
            tests.append(lambda v: v == eq)
        if self.ne is not None:
            ne = self.ne
            tests.append(lambda v: v != ne)
        if self.gt is not None:
            gt = self.gt
            tests.append(lambda v: (n := num(v)) is not None and n > gt)
        if self.gte is not None:
            gte = self.gte
            tests.append(lambda v: (n := num(v)) is not None and n >= gte)
        if self.lt is not None:
            lt = self.lt
            tests.append(lambda v: (n := num(v)) is not None and n < lt)
        if self.lte is not None:
            lte = self.lte
            tests.append(lambda v: (n := num(v)) is not None and n <= lte)
        if self.in_ is not None:
            allowed = set(self.in_)
            tests.append(lambda v: _hashable(v) and v in allowed)
        if self.not_in is not None:
            banned = set(self.not_in)
            tests.append(lambda v: not (_hashable(v) and v in banned))
        if self.exists is not None:
            want = self.exists
            tests.append(lambda v: (v is not None) == want)
        if self.matches is not None:
            rx = re.compile(self.matches)
            tests.append(lambda v: isinstance(v, str) and rx.search(v) is not None)
        return lambda v: all(t(v) for t in tests)


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


def _hashable(v: Any) -> bool:
    return isinstance(v, str | int | float | bool)


class Match(BaseModel):
    """Which events a rule (or one role of a rule) takes."""

    model_config = ConfigDict(extra="forbid")

    type: list[str] = Field(min_length=1)
    where: dict[str, Condition] = Field(default_factory=dict)

    @field_validator("type", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _fields_exist(self) -> Match:
        """A condition on a field the type does not have never holds: a typo, said so."""
        from hub.correlate.eventfields import did_you_mean, filter_paths

        for path in self.where:
            for t in self.type:
                paths = filter_paths(t)
                if paths is not None and path not in paths:
                    raise ValueError(
                        f"where: {t} has no field {path}{did_you_mean(path, paths)} "
                        f"(fields: {', '.join(sorted(paths))})"
                    )
        return self

    def compile(self) -> Callable[[Fact], bool]:
        types = frozenset(self.type)
        checks = [(path, cond.compile()) for path, cond in self.where.items()]

        def matches(fact: Fact) -> bool:
            if fact.type not in types:
                return False
            return all(test(fact.get(path)) for path, test in checks)

        return matches
