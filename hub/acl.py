"""Per-department principals and the prefixed ACLs that confine each one (docs/security.md).

A department's connector may only write its own domain's events topic (and the dead-letter
topic, for what it rejects), so a compromised or misconfigured connector cannot forge another
department's events. The workers read events and commands and write alerts, dead letters and
their own `<app id>-` topics and group; the control view reads alerts and events and writes
commands. Everything else is denied by the broker's authorizer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from hub.settings import Settings, get_settings
from hub.topics import DOMAINS, Topics

Resource = Literal["topic", "group"]
Pattern = Literal["literal", "prefixed"]
Operation = Literal["READ", "WRITE", "CREATE", "DESCRIBE", "DESCRIBE_CONFIGS", "ALL"]


@dataclass(frozen=True)
class Grant:
    """One ALLOW rule: `principal` may do `operation` on resources named (or prefixed) `name`."""

    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation


def default_departments() -> dict[str, str]:
    return {d: f"dept-{d}" for d in DOMAINS}


def plan(
    settings: Settings,
    *,
    departments: Mapping[str, str],
    workers: str,
    view: str,
) -> list[Grant]:
    """The grants for the given users: `departments` maps a domain to its SASL user."""
    t = Topics(settings.topic_prefix)
    events = f"{settings.topic_prefix}.events."
    grants: list[Grant] = []

    def allow(user: str, resource: Resource, name: str, pattern: Pattern, *ops: Operation) -> None:
        grants.extend(Grant(f"User:{user}", resource, name, pattern, op) for op in ops)

    for domain, user in departments.items():
        allow(user, "topic", t.events(domain), "prefixed", "WRITE", "DESCRIBE")
        allow(user, "topic", t.deadletter, "prefixed", "WRITE", "DESCRIBE")
    allow(workers, "topic", events, "prefixed", "READ", "DESCRIBE")
    allow(workers, "topic", t.commands, "literal", "READ", "DESCRIBE")
    allow(workers, "topic", t.alerts, "literal", "READ", "WRITE", "DESCRIBE")
    allow(workers, "topic", t.deadletter, "literal", "WRITE", "DESCRIBE")
    allow(workers, "topic", f"{settings.app_id}-", "prefixed", "ALL")
    allow(workers, "group", settings.app_id, "prefixed", "READ", "DESCRIBE")
    allow(view, "topic", events, "prefixed", "READ", "DESCRIBE")
    allow(view, "topic", t.alerts, "literal", "READ", "DESCRIBE")
    allow(view, "topic", t.commands, "literal", "WRITE", "DESCRIBE")
    # Reference data: read by both; written by whoever runs `onenet reference load` (an
    # administrator, like `onenet topics create`).
    allow(workers, "topic", t.sites, "literal", "READ", "DESCRIBE")
    allow(view, "topic", t.sites, "literal", "READ", "DESCRIBE")
    return grants


def _acl(grant: Grant) -> Any:
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourceType,
    )

    return ACL(
        principal=grant.principal,
        host="*",
        operation=ACLOperation[grant.operation],
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(
            ResourceType[grant.resource.upper()],
            grant.name,
            ACLResourcePatternType[grant.pattern.upper()],
        ),
    )


def apply(
    bootstrap: str, grants: list[Grant], settings: Settings | None = None, timeout: float = 30.0
) -> None:
    """Create the ACLs (creating an existing one is a no-op); raise on any the broker refuses."""
    from hub.errors import UserError
    from hub.kafka import admin

    client = admin(bootstrap, settings)
    try:
        result = client.create_acls([_acl(g) for g in grants])
        failed = result.get("failed") or []
        if failed:
            acl, error = failed[0]
            raise UserError(
                f"the broker refused {len(failed)} ACLs, first {acl}: {error}",
                hint="apply ACLs as a super user of a cluster with an authorizer "
                "(docs/security.md)",
            )
        _wait_visible(client, grants, timeout)
    finally:
        client.close()


def _key(acl: Any) -> tuple[str, str, str, str, str]:
    pattern = acl.resource_pattern
    return (
        acl.principal,
        pattern.resource_type.name.lower(),
        pattern.resource_name,
        pattern.pattern_type.name.lower(),
        acl.operation.name,
    )


def _wait_visible(client: Any, grants: list[Grant], timeout: float) -> None:
    """The authorizer learns new ACLs from the metadata log a moment later: wait for them."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    from hub.errors import UserError

    every = ACLFilter(
        principal=None,
        host=None,
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    wanted = {(g.principal, g.resource, g.name, g.pattern, g.operation) for g in grants}
    deadline = time.monotonic() + timeout
    while True:
        acls, _error = client.describe_acls(every)
        if wanted <= {_key(a) for a in acls}:
            return
        if time.monotonic() > deadline:
            raise UserError(
                f"the ACLs were accepted but not in effect after {timeout:.0f} s",
                hint="check the broker's log; run `onenet acl apply` again",
            )
        time.sleep(0.1)


acl_app = typer.Typer(
    help="Kafka ACLs of the hub's principals (see docs/security.md).", no_args_is_help=True
)


def _departments(values: list[str] | None) -> dict[str, str]:
    from hub.errors import UserError

    out = default_departments()
    for value in values or []:
        domain, sep, user = value.partition("=")
        if not sep or domain not in DOMAINS or not user:
            raise UserError(
                f"invalid --department {value!r}",
                hint=f"use DOMAIN=USER with DOMAIN one of {', '.join(DOMAINS)}",
                exit_code=2,
            )
        out[domain] = user
    return out


@acl_app.command("apply")
def apply_command(
    department: Annotated[
        list[str] | None,
        typer.Option(
            help="DOMAIN=USER: the department's SASL user, repeatable [default: dept-DOMAIN]"
        ),
    ] = None,
    workers: Annotated[str, typer.Option(help="SASL user of the workers.")] = "onenet-worker",
    view: Annotated[str, typer.Option(help="SASL user of the control view.")] = "onenet-view",
    dry_run: Annotated[bool, typer.Option(help="Print the ACLs, change nothing.")] = False,
) -> None:
    """Allow each principal what it needs on the hub's topics and groups, nothing more."""
    from hub.bootstrap import resolve_bootstrap

    settings = get_settings()
    grants = plan(settings, departments=_departments(department), workers=workers, view=view)
    table = Table(title="ACLs (ALLOW, any host)")
    for column in ("principal", "resource", "pattern", "name", "operation"):
        table.add_column(column)
    for g in grants:
        table.add_row(g.principal, g.resource, g.pattern, g.name, g.operation)
    err = Console(stderr=True, soft_wrap=True)
    err.print(table)
    if dry_run:
        return
    bootstrap = resolve_bootstrap(settings)
    apply(bootstrap, grants)
    err.print(f"applied {len(grants)} ACLs on {bootstrap}")
