"""The default rule pack `city` (contract v1). Rules become YAML data with the rule language."""

from __future__ import annotations

from datetime import timedelta

from hub.alerts.model import Severity
from hub.correlate.threshold import ThresholdRule

HYDROGEN_LEAK = ThresholdRule(
    name="hydrogen-leak",
    event_type="city.safety.hydrogen.reading",
    key_field="site_id",
    value_field="h2_ppm",
    # 4000 ppm is 10 % of hydrogen's lower explosive limit (4 % by volume): the usual first
    # alarm level of fixed H2 detectors. Three readings rule out one noisy sensor sample.
    min_value=4000.0,
    min_count=3,
    window=timedelta(seconds=60),
    severity=Severity.SEVERE,
    # 10000 ppm is 25 % of the LEL, where detectors' second stage trips ventilation and shutdown.
    escalate_value=10000.0,
    escalate_severity=Severity.EXTREME,
    category="Safety",
    departments=("safety",),
    headline=(
        "Hydrogen leak at site {key}: {count} readings >= {min_value:.0f} ppm "
        "within {window_s} s (max {max_value:.0f} ppm)"
    ),
)

THRESHOLD_RULES: tuple[ThresholdRule, ...] = (HYDROGEN_LEAK,)
