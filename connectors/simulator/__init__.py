"""The simulator connector: a seeded city's department feeds, with scenarios injected that
must raise known alerts (and their ground truth), for the demo, benchmarks and rule tests.

Without Kafka: `generate(seed, count=..., scenarios=[...])` yields the drafts, `write_jsonl`
writes them as complete CloudEvents, `Simulation(...).truths` holds the expected alerts.
"""

from connectors.simulator.city import City, build_city
from connectors.simulator.connector import SimulatorConnector, SimulatorOptions
from connectors.simulator.scenarios import SCENARIOS
from connectors.simulator.schedule import DEMO_MIX
from connectors.simulator.simulation import Simulation, generate, to_cloudevent, write_jsonl
from connectors.simulator.truth import GroundTruth, read_truths

__all__ = [
    "DEMO_MIX",
    "SCENARIOS",
    "City",
    "GroundTruth",
    "Simulation",
    "SimulatorConnector",
    "SimulatorOptions",
    "build_city",
    "generate",
    "read_truths",
    "to_cloudevent",
    "write_jsonl",
]
