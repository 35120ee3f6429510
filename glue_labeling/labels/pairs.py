"""From labeled rows to labeled pairs (import), and from stored pairs back to labeling sets (export).

AWS's meaning of a labeling file: within one labeling set, rows with the same label match and
rows with different labels do not; different sets say nothing about each other. So a set of n
rows answers n(n-1)/2 pair questions, and the store keeps those answers, one row per pair.

A set is one `labeling_set_id` within one file: a labeling run names its sets set-001,
set-002... in every run, so the same id in two files (two runs under one prefix) is two sets.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping

import pyarrow as pa

from glue_labeling.labels.labeling_file import LabelRow, Problem
from glue_labeling.labels.store import LABELS_SCHEMA

# AWS: "Tasks larger than 50 rows ... may cause poor results or system failure". A set of n rows
# is n(n-1)/2 pairs; past this many rows a set is almost surely a whole file pasted as one set.
MAX_ROWS_PER_SET = 200

Record = tuple[int, str]  # (index of the input table, primary-key value)


def labeled_pairs(
    rows: list[LabelRow],
    sources: Mapping[str, list[int]],
    imported_by: str,
    imported_on: dt.datetime,
) -> tuple[pa.Table, list[Problem]]:
    """The pairs `rows` label (LABELS_SCHEMA), or the problems that forbid importing them.

    `sources` maps each key to the input table of each record holding it: one for a known
    key; none for a key not in the input; more for a key that does not name one record (twice
    in a table, or a linkage key in both tables). A pair answered twice in one import must get
    the same answer both times."""
    rows = sorted(rows, key=lambda row: (row.file, row.line))  # the first answer to a pair owns it
    problems = []
    resolved: list[tuple[LabelRow, Record]] = []
    for row in rows:
        found = sources.get(row.key, [])
        if len(found) == 1:
            resolved.append((row, (found[0], row.key)))
            continue
        if not found:
            message = f"primary key '{row.key}' is not in the transform's input"
        elif len(set(found)) < len(found):
            message = f"primary key '{row.key}' is not unique in the input table: which record is meant?"
        else:
            message = f"primary key '{row.key}' is in both input tables: which record is meant?"
        problems.append(Problem(row.file, row.line, message))
    sets: dict[tuple[str, str], list[tuple[LabelRow, Record]]] = defaultdict(list)
    for row, record in resolved:
        sets[(row.file, row.labeling_set_id)].append((row, record))
    problems += _set_problems(rows)
    answers: dict[tuple[Record, Record], tuple[bool, LabelRow, LabelRow]] = {}
    for members in sets.values():
        for (row_a, record_a), (row_b, record_b) in itertools.combinations(members, 2):
            if record_a == record_b:
                continue  # reported by _set_problems
            (left, left_row), (right, right_row) = sorted([(record_a, row_a), (record_b, row_b)])
            is_match = left_row.label == right_row.label
            earlier = answers.setdefault((left, right), (is_match, left_row, right_row))
            if earlier[0] != is_match:
                problems.append(_conflict(left, right, earlier, (is_match, left_row, right_row)))
    if problems:
        return LABELS_SCHEMA.empty_table(), sorted(set(problems))
    pairs = [
        {
            "left_source": left[0],
            "left_key": left[1],
            "right_source": right[0],
            "right_key": right[1],
            "is_match": is_match,
            "labeling_set_id": left_row.labeling_set_id,
            "left_label": left_row.label,
            "right_label": right_row.label,
            "label_file": left_row.file,
            "imported_by_task_run": imported_by,
            "imported_on": imported_on,
        }
        for (left, right), (is_match, left_row, right_row) in answers.items()
    ]
    return pa.Table.from_pylist(pairs, schema=LABELS_SCHEMA), []


def _set_problems(rows: Iterable[LabelRow]) -> list[Problem]:
    """Sets of one row, sets too large, and a record twice in a set (same or other label)."""
    members: dict[tuple[str, str], list[LabelRow]] = defaultdict(list)
    for row in rows:
        members[(row.file, row.labeling_set_id)].append(row)
    problems = []
    for (file, set_id), set_rows in members.items():
        if len(set_rows) < 2:
            problems.append(
                Problem(file, set_rows[0].line, f"labeling set '{set_id}' has one row; a set needs two or more")
            )
        elif len(set_rows) > MAX_ROWS_PER_SET:
            message = f"labeling set '{set_id}' has {len(set_rows)} rows; at most {MAX_ROWS_PER_SET}"
            problems.append(Problem(file, set_rows[0].line, message))
        first_line: dict[str, int] = {}
        for row in set_rows:
            if row.key in first_line:
                problems.append(
                    Problem(
                        file,
                        row.line,
                        f"record '{row.key}' is in labeling set '{set_id}' twice (lines {first_line[row.key]} and "
                        f"{row.line})",
                    )
                )
            first_line.setdefault(row.key, row.line)
    return problems


def _conflict(
    left: Record, right: Record, earlier: tuple[bool, LabelRow, LabelRow], later: tuple[bool, LabelRow, LabelRow]
) -> Problem:
    def answer(is_match: bool, row: LabelRow) -> str:
        return f"{'a match' if is_match else 'not a match'} in set '{row.labeling_set_id}' ({row.file} line {row.line})"

    later_row = max(later[1:], key=lambda row: row.line)
    return Problem(
        later_row.file,
        later_row.line,
        f"records '{left[1]}' and '{right[1]}' are labeled {answer(earlier[0], earlier[1])} and "
        f"{answer(later[0], later[1])}",
    )


def export_sets(pairs: pa.Table) -> list[dict[str, object]]:
    """Labeling-set rows {labeling_set_id, label, source, key} that, imported with
    ReplaceAllLabels, give back exactly `pairs` (LABELS_SCHEMA).

    The pairs of one imported set that are all still stored form a complete set again, written
    with its own id and labels. A set some of whose pairs a later import answered anew is no
    longer complete: putting its records back in one set would repeat the old answers, so each
    of its remaining pairs becomes a set of two rows. Ids stay as imported where they are unique;
    a repeated id (set-001 from two runs) gets a suffix ~2, ~3..."""
    groups: dict[tuple[object, ...], list[dict[str, object]]] = defaultdict(list)
    for pair in pairs.to_pylist():
        group = (pair["imported_on"], pair["imported_by_task_run"], pair["label_file"], pair["labeling_set_id"])
        groups[group].append(pair)
    exported: list[tuple[str, dict[Record, str]]] = []
    for group in sorted(groups, key=lambda g: tuple(str(part) for part in g)):
        members = groups[group]
        labels: dict[Record, str] = {}
        for pair in members:
            labels[(pair["left_source"], pair["left_key"])] = pair["left_label"]
            labels[(pair["right_source"], pair["right_key"])] = pair["right_label"]
        set_id = str(group[3])
        if len(members) == len(labels) * (len(labels) - 1) // 2:
            exported.append((set_id, labels))
        else:
            for pair in sorted(members, key=lambda p: (p["left_key"], p["right_key"])):
                exported.append(
                    (
                        set_id,
                        {
                            (pair["left_source"], pair["left_key"]): pair["left_label"],
                            (pair["right_source"], pair["right_key"]): pair["right_label"],
                        },
                    )
                )
    ids = _unique_ids([set_id for set_id, _ in exported])
    return [
        {"labeling_set_id": unique_id, "label": label, "source": record[0], "key": record[1]}
        for unique_id, (_, labels) in zip(ids, exported, strict=True)
        for record, label in sorted(labels.items())
    ]


def _unique_ids(wanted: list[str]) -> list[str]:
    """`wanted`, with every repeat of an id renamed to id~2, id~3... (never to an id also wanted)."""
    taken = set(wanted)
    used: set[str] = set()
    unique = []
    for set_id in wanted:
        candidate, suffix = set_id, 1
        while candidate in used or (candidate != set_id and candidate in taken):
            suffix += 1
            candidate = f"{set_id}~{suffix}"
        used.add(candidate)
        unique.append(candidate)
    return unique
