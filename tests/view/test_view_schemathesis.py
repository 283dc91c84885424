"""Property-based checks of the API against its own OpenAPI document, on a real broker.

Stateless: every operation gets generated requests (an operator's token) and each response
must not be a server error, must have a documented status code, and must match its schema.
The stream is left out: it never ends, which is its contract.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from hub.view.app import create_app
from hub.view.config import ViewSettings
from tests.view.support import (
    CommandApplier,
    Hub,
    RunningView,
    bearer,
    make_alert,
    serve_view,
    write_tokens,
)


@pytest.fixture(scope="module")
def running(hub: Hub) -> Iterator[RunningView]:
    hub.publish_alert(make_alert("fuzz-1", departments=["safety"]))
    with CommandApplier(hub), serve_view(hub) as v:
        yield v


def _spec() -> dict[str, Any]:
    """The app's own document; the test then checks it against the served one."""
    app = create_app(ViewSettings(view_tokens_file=write_tokens(_TOKENS)), bootstrap=None)
    return app.openapi()


# schemathesis' own strategies trip this hypothesis deprecation; nothing of ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

_TOKENS = Path(tempfile.mkdtemp(prefix="onenet-view-")) / "tokens.toml"
schema = schemathesis.openapi.from_dict(_spec()).exclude(path="/api/stream")


def test_served_document_is_the_one_tested(running: RunningView) -> None:
    served = httpx.get(f"{running.url}/openapi.json").json()
    assert served == _spec()


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_openapi(case: Any, running: RunningView) -> None:
    case.call_and_validate(
        base_url=running.url,
        headers=bearer("operator"),
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
