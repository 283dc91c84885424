"""The safety bureau's inspection system writes one JSON export per day; publish it to the hub."""

import json
from pathlib import Path

from pydantic import BaseModel, Field

from connectors.sdk import Connector, Draft, Item, Sink


class Options(BaseModel):
    export: Path = Field(description="The inspection system's JSON export file.")
    district: str = Field("310101", description="District code of this bureau.")


class InspectionsConnector(Connector[Options]):
    name = "inspections"
    summary = "Inspection schedules and results from the safety bureau's export."
    Options = Options

    async def run(self, sink: Sink) -> None:
        records = json.loads(self.options.export.read_text())
        for n, rec in enumerate(records, start=1):
            if n <= (sink.resume_from or 0):
                continue  # published before a restart
            done = rec.get("result") is not None
            data = {
                "enterprise_id": rec.get("enterprise"),
                "site_id": rec.get("site"),
                "location": {"lat": rec.get("lat"), "lon": rec.get("lon")},
                **({"result": rec["result"]} if done else {"due_by": rec.get("due")}),
            }
            kind = "completed" if done else "scheduled"
            draft = Draft(
                type=f"city.safety.inspection.{kind}",
                data=data,
                id=f"{rec.get('inspection_no')}-{kind}",
                time=rec.get("recorded_at"),
                district=self.options.district,
            )
            await sink.send(Item(draft, origin=f"{self.options.export.name}:{n}", position=n))
