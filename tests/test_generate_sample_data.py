"""The generator's harder settings: households (strangers that share a home) and moves
(duplicates at a new home). The default output is covered by every test that generates data."""

from __future__ import annotations

import sys

import pytest
from pyspark.sql import SparkSession

from glue_labeling.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
from generate_sample_data import generate

HOME = ("street_number", "address", "suburb", "postcode", "state", "phone")


def _rows(spark: SparkSession, **harder: float) -> dict[str, dict]:
    records, truth = generate(spark, 1000, seed=3, **harder)
    return {row.record_id: row.asDict() for row in records.join(truth, "record_id").collect()}


def _originals(rows: dict[str, dict]) -> dict[str, dict]:
    """Each entity's first record by record id. Not necessarily its original, which the output
    does not mark; used only where any record of the entity will do."""
    first: dict[str, dict] = {}
    for key in sorted(rows):
        first.setdefault(rows[key]["entity_id"], rows[key])
    return first


def test_households_make_strangers_share_a_home(spark: SparkSession) -> None:
    plain = _originals(_rows(spark))
    harder = _originals(_rows(spark, household_rate=0.3))

    def sharing_home(entities: dict[str, dict]) -> int:
        """Entities whose surname and whole address another entity has too."""
        homes: dict[tuple, set[str]] = {}
        for entity, row in entities.items():
            if all(row[c] is not None for c in ("surname", *HOME)):
                homes.setdefault(tuple(row[c] for c in ("surname", *HOME)), set()).add(entity)
        return sum(len(members) for members in homes.values() if len(members) > 1)

    assert sharing_home(plain) == 0
    # A third of the ~700 entities are members, and corruption or a missing value hides a few.
    assert sharing_home(harder) > 150


def test_moved_duplicates_keep_the_person_and_change_the_home(spark: SparkSession) -> None:
    plain, moved = _rows(spark), _rows(spark, moved_rate=1.0)
    assert plain.keys() == moved.keys()
    changed_home = kept_person = 0
    for key, before in plain.items():
        after = moved[key]
        assert after["entity_id"] == before["entity_id"]
        if before["suburb"] is not None and after["suburb"] is not None and after["address"] != before["address"]:
            changed_home += 1
            kept_person += after["email"] == before["email"] and after["date_of_birth"] == before["date_of_birth"]
    # Every duplicate moved (300 of 1000 records), the originals stayed; the person's own columns
    # are drawn as before (corruptions and missing values aside, as in the plain data).
    assert 250 <= changed_home <= 300
    assert kept_person == changed_home


def test_harder_rates_are_checked(spark: SparkSession) -> None:
    with pytest.raises(ValueError):
        generate(spark, 10, household_rate=1.0)
