"""City-operation alerts: the model, deterministic ids, and their CloudEvent form."""

from hub.alerts.ids import alert_id
from hub.alerts.model import ALERT_EVENT_TYPES, Alert, AlertChange, Severity

__all__ = ["ALERT_EVENT_TYPES", "Alert", "AlertChange", "Severity", "alert_id"]
