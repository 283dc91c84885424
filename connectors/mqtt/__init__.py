"""The `mqtt` connector: sensor gateways' MQTT topics as hydrogen readings.

`session` is the persistent paho-mqtt session, `payload` maps a message to a draft (a
custom mapping function receives an `MqttMessage`), `connector` acknowledges after Kafka.
"""

from connectors.mqtt.connector import MqttConnector, MqttOptions, default_client_id
from connectors.mqtt.payload import MqttMessage

__all__ = ["MqttConnector", "MqttMessage", "MqttOptions", "default_client_id"]
