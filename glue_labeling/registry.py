"""The transform registry: CreateMLTransform's documents, one Delta row per transform.

The row keeps the MLTransform document exactly as GetMLTransform returns it (JSON), next to
the columns that requests filter on.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

import pyarrow as pa

from glue_labeling.settings import Settings
from glue_labeling.store import DeltaRowStore

REGISTRY_SCHEMA = pa.schema(
    [
        ("transform_id", pa.string()),
        ("name", pa.string()),
        ("document", pa.string()),
    ]
)


class TransformRegistry:
    def __init__(self, settings: Settings) -> None:
        self._store = DeltaRowStore(settings.registry_location, REGISTRY_SCHEMA, "transform_id", settings, "registry")

    def exclusive(self) -> AbstractContextManager[None]:
        return self._store.exclusive()

    def get(self, transform_id: str) -> dict[str, Any] | None:
        row = self._store.get(transform_id)
        return json.loads(row["document"]) if row else None

    def by_name(self, name: str) -> dict[str, Any] | None:
        rows = self._store.rows(name=name)
        return json.loads(rows[0]["document"]) if rows else None

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(row["document"]) for row in self._store.rows()]

    def put(self, transform: dict[str, Any]) -> None:
        self._store.upsert(
            [
                {
                    "transform_id": transform["TransformId"],
                    "name": transform["Name"],
                    "document": json.dumps(transform, default=str),
                }
            ]
        )

    def delete(self, transform_id: str) -> None:
        self._store.delete(transform_id)
