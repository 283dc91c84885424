"""The thin Faust layer that wires the pure correlation code to Kafka."""
