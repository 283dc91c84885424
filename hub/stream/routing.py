"""Which rules a worker evaluates where the event arrives, and which go through re-keying.

A rule is *direct* when its key is, for every event type it reads, the field the hub keys
that domain's topic by (site_id for safety, request_id for service): its state then only ever
changes on the partition that owns the key, under that partition's watermark. Every other rule
(co-location by cell, groupings by district or department) always goes through the re-keying
topic, so no rule's state is updated along two paths with two different clocks.
"""

from __future__ import annotations

from hub.correlate.match import Match
from hub.correlate.spec import (
    AbsenceRule,
    ColocationRule,
    Escalation,
    RulePack,
    SequenceRule,
    ThresholdRule,
    _Rule,
)
from hub.events import domain_of

#: the data field each domain's topic is keyed by; security is keyed by an H3 cell
TOPIC_KEY_FIELD = {"safety": "site_id", "service": "request_id"}


def _types(matches: list[Match], escalations: list[Escalation]) -> set[str]:
    found = {t for m in matches for t in m.type}
    found |= {t for e in escalations if e.event is not None for t in e.event.type}
    return found


def _keyed_like_topics(key_field: str, types: set[str]) -> bool:
    return bool(types) and all(TOPIC_KEY_FIELD.get(domain_of(t)) == key_field for t in types)


def is_direct(rule: _Rule) -> bool:
    if isinstance(rule, ColocationRule):
        return False
    if isinstance(rule, ThresholdRule):
        if len(rule.group_by) != 1:
            return False
        return _keyed_like_topics(rule.group_by[0], _types([rule.match], rule.escalate))
    if isinstance(rule, AbsenceRule):
        return _keyed_like_topics(rule.key, _types([rule.start, rule.expect], rule.escalate))
    if isinstance(rule, SequenceRule):
        matches = [*rule.steps, *([rule.not_followed_by] if rule.not_followed_by else [])]
        return _keyed_like_topics(rule.key, _types(matches, rule.escalate))
    return False


def _domains(rule: _Rule) -> set[str]:
    matches: list[Match] = []
    if isinstance(rule, ThresholdRule):
        matches = [rule.match]
    elif isinstance(rule, AbsenceRule):
        matches = [rule.start, rule.expect]
    elif isinstance(rule, SequenceRule):
        matches = [*rule.steps, *([rule.not_followed_by] if rule.not_followed_by else [])]
    return {domain_of(t) for t in _types(matches, rule.escalate)}


def direct_rules(pack: RulePack) -> dict[str, str]:
    """Direct rules and the one domain each reads (its key field belongs to one domain only)."""
    out: dict[str, str] = {}
    for r in pack.rules:
        if r.enabled and is_direct(r):
            (domain,) = _domains(r)
            out[r.name] = domain
    return out
