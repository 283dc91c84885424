"""CAP 1.2 (and 1.1) XML and Atom feeds, parsed without trusting the sender.

Documents come from other agencies, so the parser refuses any DTD: that rules out entity
expansion bombs ("billion laughs") and external entities (XXE: local files, internal URLs)
before a single entity is expanded, and CAP never needs a DTD. Size is checked before parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

CAP_NAMESPACES = ("urn:oasis:names:tc:emergency:cap:1.2", "urn:oasis:names:tc:emergency:cap:1.1")
ATOM = "{http://www.w3.org/2005/Atom}"


class CapError(Exception):
    """A document that cannot be used, with a dead-letter reason and a detail for people."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Area:
    description: str
    polygons: tuple[str, ...]
    circles: tuple[str, ...]


@dataclass(frozen=True)
class Info:
    index: int
    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str
    expires: str
    parameters: dict[str, str]
    areas: tuple[Area, ...]


@dataclass(frozen=True)
class Alert:
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    references: str = ""
    infos: tuple[Info, ...] = field(default_factory=tuple)


def parse_xml(data: bytes, *, max_bytes: int) -> Element:
    if len(data) > max_bytes:
        raise CapError("too-large", f"document of {len(data)} bytes exceeds {max_bytes} bytes")
    try:
        root: Element = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise CapError(
            "unsafe-xml",
            f"{type(exc).__name__}: DTDs and entities are refused (entity bombs, external "
            "entities); CAP documents never need them",
        ) from None
    except ParseError as exc:
        raise CapError("invalid-xml", f"not well-formed XML: {exc}") from None
    return root


def cap_namespace(element: Element) -> str | None:
    for namespace in CAP_NAMESPACES:
        if element.tag == f"{{{namespace}}}alert":
            return namespace
    return None


def is_atom_feed(element: Element) -> bool:
    return element.tag == f"{ATOM}feed"


def _text(element: Element | None, name: str, ns: str) -> str:
    if element is None:
        return ""
    child = element.find(f"{{{ns}}}{name}")
    return (child.text or "").strip() if child is not None else ""


def _all(element: Element, name: str, ns: str) -> tuple[str, ...]:
    return tuple((c.text or "").strip() for c in element.findall(f"{{{ns}}}{name}") if c.text)


def parse_alert(root: Element) -> Alert:
    ns = cap_namespace(root)
    if ns is None:
        raise CapError(
            "not-cap",
            f"root element is {root.tag[:100]!r}, not a CAP 1.2 <alert> "
            f"({CAP_NAMESPACES[0]}) or an Atom feed",
        )
    values = {name: _text(root, name, ns) for name in ("identifier", "sender", "sent")}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise CapError("invalid-cap", f"<alert> lacks {', '.join(missing)}")
    infos = []
    for index, element in enumerate(root.findall(f"{{{ns}}}info")):
        parameters = {
            _text(p, "valueName", ns): _text(p, "value", ns)
            for p in element.findall(f"{{{ns}}}parameter")
        }
        areas = tuple(
            Area(
                description=_text(a, "areaDesc", ns),
                polygons=_all(a, "polygon", ns),
                circles=_all(a, "circle", ns),
            )
            for a in element.findall(f"{{{ns}}}area")
        )
        infos.append(
            Info(
                index=index,
                language=_text(element, "language", ns) or "en-US",
                categories=_all(element, "category", ns),
                event=_text(element, "event", ns),
                urgency=_text(element, "urgency", ns),
                severity=_text(element, "severity", ns),
                certainty=_text(element, "certainty", ns),
                headline=_text(element, "headline", ns),
                expires=_text(element, "expires", ns),
                parameters=parameters,
                areas=areas,
            )
        )
    return Alert(
        identifier=values["identifier"],
        sender=values["sender"],
        sent=values["sent"],
        status=_text(root, "status", ns),
        msg_type=_text(root, "msgType", ns),
        references=_text(root, "references", ns),
        infos=tuple(infos),
    )


@dataclass(frozen=True)
class FeedEntry:
    """An Atom entry: its CAP alert embedded in <content>, or links to CAP documents."""

    key: str
    embedded: Element | None
    links: tuple[str, ...]


def feed_entries(feed: Element) -> list[FeedEntry]:
    entries = []
    for n, entry in enumerate(feed.findall(f"{ATOM}entry")):
        key = f"{_atom_text(entry, 'id') or n}|{_atom_text(entry, 'updated')}"
        embedded = next((e for e in entry.iter() if cap_namespace(e) is not None), None)
        links = tuple(
            link.get("href", "")
            for link in entry.findall(f"{ATOM}link")
            if link.get("href") and _is_cap_link(link)
        )
        entries.append(FeedEntry(key=key, embedded=embedded, links=links))
    return entries


def _atom_text(element: Element, name: str) -> str:
    child = element.find(f"{ATOM}{name}")
    return (child.text or "").strip() if child is not None else ""


def _is_cap_link(link: Element) -> bool:
    kind = (link.get("type") or "").lower()
    if kind:
        return "cap" in kind
    return link.get("rel", "alternate") in ("alternate", "enclosure") and (
        link.get("href", "").lower().endswith((".xml", ".cap"))
    )
