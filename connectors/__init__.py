"""Connectors that bring departments' systems onto the hub's Kafka topics."""
