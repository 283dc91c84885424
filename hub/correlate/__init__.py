"""Correlation: pure rule state machines and the event-time watermark; no Kafka in here."""
