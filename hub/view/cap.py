"""CAP 1.2 export of an alert, for other agencies' systems (OASIS Common Alerting Protocol).

Built with xml.etree so escaping is the library's job. The message type follows the alert's
status: firing -> Alert, acknowledged -> Update, resolved -> Cancel; Update and Cancel reference
the original Alert message (sender, identifier, sent), whose `sent` is the alert's first event
time so that every export of one alert names the same original.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from hub.alerts.model import Alert

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
MEDIA_TYPE = "application/cap+xml"
DEFAULT_SENDER = "onenet-hub@city.invalid"
CAP_CATEGORIES = {
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
    "CBRNE", "Other",
}  # fmt: skip
MSG_TYPE = {"firing": "Alert", "acknowledged": "Update", "resolved": "Cancel"}
#: Radius of the CAP circle around an alert's location: the co-location rules' 500 m.
AREA_RADIUS_KM = 0.5


def cap_time(t: datetime) -> str:
    """CAP's dateTime: seconds precision, explicit offset, never "Z"."""
    return t.astimezone(UTC).replace(microsecond=0).isoformat()


def identifier(alert: Alert, status: str | None = None) -> str:
    base = f"urn:onenet:alert:{alert.alert_id}"
    return base if status in (None, "firing") else f"{base}:{status}"


def _sent(alert: Alert) -> datetime:
    lc = alert.lifecycle
    if alert.status == "acknowledged" and lc and lc.acknowledged_at:
        return lc.acknowledged_at
    if alert.status == "resolved" and lc and lc.resolved_at:
        return lc.resolved_at
    if alert.status == "firing":
        return alert.first_event_time
    return alert.last_event_time


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    el.text = text
    return el


def to_cap(alert: Alert, *, sender: str = DEFAULT_SENDER) -> bytes:
    """The CAP 1.2 XML document of an alert's current state (UTF-8, with declaration)."""
    ET.register_namespace("", CAP_NS)
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", identifier(alert, alert.status))
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_time(_sent(alert)))
    _sub(root, "status", "Actual")
    msg_type = MSG_TYPE[alert.status]
    _sub(root, "msgType", msg_type)
    _sub(root, "scope", "Public")
    if msg_type != "Alert":
        _sub(root, "references", f"{sender},{identifier(alert)},{cap_time(alert.first_event_time)}")

    info = ET.SubElement(root, f"{{{CAP_NS}}}info")
    _sub(info, "language", "en-US")
    _sub(info, "category", alert.category if alert.category in CAP_CATEGORIES else "Other")
    _sub(info, "event", alert.rule.replace("-", " "))
    _sub(info, "urgency", "Past" if alert.status == "resolved" else "Immediate")
    _sub(info, "severity", alert.severity.value)
    _sub(info, "certainty", "Observed")
    _sub(info, "effective", cap_time(alert.first_event_time))
    _sub(info, "senderName", "OneNet Hub city operations centre")
    _sub(info, "headline", alert.headline[:160])
    _sub(info, "description", _description(alert))
    if alert.lifecycle and alert.lifecycle.resolution_note and alert.status == "resolved":
        _sub(info, "instruction", f"Resolved: {alert.lifecycle.resolution_note}")
    for name, value in (
        ("alert_id", alert.alert_id),
        ("rule", alert.rule),
        ("key", alert.key),
        ("status", alert.status),
        ("departments", " ".join(alert.departments)),
        ("evidence_count", str(len(alert.evidence))),
    ):
        param = ET.SubElement(info, f"{{{CAP_NS}}}parameter")
        _sub(param, "valueName", name)
        _sub(param, "value", value)

    area = ET.SubElement(info, f"{{{CAP_NS}}}area")
    where = alert.district or alert.key
    _sub(area, "areaDesc", f"district {where}" if alert.district else where)
    if alert.location is not None:
        _sub(area, "circle", f"{alert.location.lat:.6f},{alert.location.lon:.6f} {AREA_RADIUS_KM}")
    if alert.district:
        geocode = ET.SubElement(area, f"{{{CAP_NS}}}geocode")
        _sub(geocode, "valueName", "district")
        _sub(geocode, "value", alert.district)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def _description(alert: Alert) -> str:
    lines = [
        alert.headline,
        f"Rule {alert.rule} on {alert.key}; {len(alert.evidence)} contributing events "
        f"between {cap_time(alert.first_event_time)} and {cap_time(alert.last_event_time)}.",
    ]
    if alert.departments:
        lines.append("Routed to: " + ", ".join(alert.departments) + ".")
    lc = alert.lifecycle
    if lc and lc.acknowledged_by:
        lines.append(f"Acknowledged by {lc.acknowledged_by}.")
    if lc and lc.resolved_by:
        lines.append(f"Resolved by {lc.resolved_by}.")
    return "\n".join(lines)
