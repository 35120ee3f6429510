"""Each transform's labels: one Delta table of labeled record pairs, written with delta-rs.

Why pairs: a label answers "do these two records match?", and that is what training reads and
what "a pair labeled again takes its newest answer" replaces. Each row keeps what a labeling file
needs to say it again (its set, both records' labels, the file), so an export can rebuild the
sets. Why delta-rs, as for the ledger: GetMLTransform reads the label counts without a JVM, and
the import job, which holds the checked labels in its driver, commits them in one step.

The table is `<labels_location>/<TransformId>`; Spark reads it as any Delta table.
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pyarrow.compute as pc

from glue_labeling.settings import Settings
from glue_labeling.store import DeltaRowStore

LABELS_SCHEMA = pa.schema(
    [
        # The two records, ordered (left < right): index of the input table (0, or 0/1 for a
        # linkage transform) and the primary-key value as text.
        ("left_source", pa.int32()),
        ("left_key", pa.string()),
        ("right_source", pa.int32()),
        ("right_key", pa.string()),
        ("is_match", pa.bool_()),
        # Where the answer came from, as the labeling file said it.
        ("labeling_set_id", pa.string()),
        ("left_label", pa.string()),
        ("right_label", pa.string()),
        ("label_file", pa.string()),
        ("imported_by_task_run", pa.string()),
        ("imported_on", pa.timestamp("us", tz="UTC")),
    ]
)
PAIR_KEY = ("left_source", "left_key", "right_source", "right_key")

# READY: a classifier can learn a boundary only from examples of both classes, and a handful of
# each (Zingg's trainer asks for 5 and 5) is where a first model stops being a guess. One labeled
# round of this service's labeling sets (10 sets of about 10 rows) yields more than this.
MIN_PAIRS_PER_CLASS = 5


@dataclasses.dataclass(frozen=True)
class LabelSummary:
    matches: int
    non_matches: int

    @property
    def pairs(self) -> int:
        return self.matches + self.non_matches

    @property
    def ready(self) -> bool:
        """Enough labels to train on: MIN_PAIRS_PER_CLASS matching and non-matching pairs."""
        return self.matches >= MIN_PAIRS_PER_CLASS and self.non_matches >= MIN_PAIRS_PER_CLASS


class LabelStore:
    def __init__(self, settings: Settings, transform_id: str) -> None:
        uri = f"{settings.labels_location.rstrip('/')}/{transform_id}"
        self._store = DeltaRowStore(uri, LABELS_SCHEMA, PAIR_KEY, settings, f"labels-{transform_id}")

    @property
    def uri(self) -> str:
        return self._store.uri

    def summary(self) -> LabelSummary:
        # A transform without labels has no table yet; a read must not create one.
        if not self._store.exists():
            return LabelSummary(0, 0)
        is_match = self._store.arrow(columns=["is_match"])["is_match"]
        matches = pc.sum(is_match).as_py() or 0
        return LabelSummary(matches, len(is_match) - matches)

    def pairs(self) -> pa.Table:
        """Every stored labeled pair (LABELS_SCHEMA)."""
        return self._store.arrow() if self._store.exists() else LABELS_SCHEMA.empty_table()

    def replace_all(self, pairs: pa.Table) -> None:
        """Forget every earlier label; keep `pairs` (one commit)."""
        self._store.replace(pairs)

    def add(self, pairs: pa.Table) -> None:
        """Add `pairs`; a pair labeled before takes its answer from `pairs` (one commit)."""
        self._store.upsert(pairs)

    def drop(self) -> None:
        """Remove the label table: AWS deletes a transform's labels with the transform."""
        self._store.drop()
