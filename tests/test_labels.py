"""Labels: StartImportLabelsTaskRun and StartExportLabelsTaskRun, their jobs run in this process
on the session's SparkSession (tests/_in_process.py), and the label counts GetMLTransform shows.

The input is a 12-record table (labels.people, key `id`) and, for linkage, a second table
(labels.people_b) sharing two keys with it. Each test has its own control plane and labels.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from _in_process import InProcessLauncher, run_job

from glue_labeling.catalog import LocalCatalog
from glue_labeling.labels.labeling_file import LabelRow, Problem, parse_labeling_file
from glue_labeling.labels.pairs import MAX_ROWS_PER_SET, export_sets, labeled_pairs
from glue_labeling.labels.store import LABELS_SCHEMA, MIN_PAIRS_PER_CLASS, LabelStore
from glue_labeling.service import GlueLabelingService
from glue_labeling.settings import Settings

HEADER = "labeling_set_id,label,id,name,city"
PEOPLE = "id,name,city\n" + "".join(f"{i},name{i},city{i % 3}\n" for i in range(1, 13))
PEOPLE_B = "id,name,city\n" + "".join(f"{i},name{i},city{i % 3}\n" for i in (11, 12, 13, 14))
# Round 1: set-001 {1,2,3 | 4}: 3 matches, 3 non-matches; set-002 {5,6 | 7}: 1 match, 2 non-matches.
ROUND_1 = [
    ("set-001", "A", 1),
    ("set-001", "A", 2),
    ("set-001", "A", 3),
    ("set-001", "B", 4),
    ("set-002", "x", 5),
    ("set-002", "x", 6),
    ("set-002", "X", 7),  # labels are case-sensitive: X is not x
]
ROUND_1_PAIRS = {
    ("1", "2", True),
    ("1", "3", True),
    ("2", "3", True),
    ("1", "4", False),
    ("2", "4", False),
    ("3", "4", False),
    ("5", "6", True),
    ("5", "7", False),
    ("6", "7", False),
}


@pytest.fixture(scope="module")
def labels_catalog(spark: Any, base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("labels-catalog")
    state = dataclasses.replace(base_settings, state_dir=str(root / "state"))
    catalog = LocalCatalog(state)
    for table, content in (("people", PEOPLE), ("people_b", PEOPLE_B)):
        (root / f"{table}.csv").write_text(content)
        catalog.register(spark, "labels", table, str(root / f"{table}.csv"), "csv")
    return state.catalog_location


@pytest.fixture
def state(settings: Settings, labels_catalog: str) -> Settings:
    return dataclasses.replace(settings, catalog_uri=labels_catalog)


@pytest.fixture
def service(state: Settings) -> GlueLabelingService:
    return GlueLabelingService(state, launcher=InProcessLauncher())


def create_transform(service: GlueLabelingService, tables: tuple[str, ...] = ("people",), key: str = "id") -> str:
    return service.create_ml_transform(
        {
            "Name": "labels-" + "-".join(tables),
            "InputRecordTables": [{"DatabaseName": "labels", "TableName": table} for table in tables],
            "Parameters": {"TransformType": "FIND_MATCHES", "FindMatchesParameters": {"PrimaryKeyColumnName": key}},
            "Role": "local",
        }
    )["TransformId"]


def labeling_file(path: Path, rows: list[tuple[str, str, int | str]], header: str = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [header] + [f"{set_id},{label},{key},name{key},city" for set_id, label, key in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def store_round_1(service: GlueLabelingService, transform_id: str, tmp_path: Path) -> None:
    """ROUND_1's labels, stored as an import would store them (without running one)."""
    content = labeling_file(tmp_path / "round-1.csv", ROUND_1).read_bytes()
    rows, _ = parse_labeling_file("round-1.csv", content, "id", ["id", "name", "city"])
    pairs, _ = labeled_pairs(rows, {row.key: [0] for row in rows}, "tsk-earlier", dt.datetime.now(dt.timezone.utc))
    service.labels(transform_id).add(pairs)


def import_labels(spark: Any, service: GlueLabelingService, transform_id: str, uri: str, replace: bool) -> dict:
    """Start an import, run its job here, and return GetMLTaskRun's answer."""
    task_run_id = service.start_import_labels_task_run(
        {"TransformId": transform_id, "InputS3Path": uri, "ReplaceAllLabels": replace}
    )["TaskRunId"]
    run_job(spark, service.settings, task_run_id)
    return service.get_ml_task_run({"TransformId": transform_id, "TaskRunId": task_run_id})


def export_labels(spark: Any, service: GlueLabelingService, transform_id: str, uri: str) -> dict:
    task_run_id = service.start_export_labels_task_run({"TransformId": transform_id, "OutputS3Path": uri})["TaskRunId"]
    run_job(spark, service.settings, task_run_id)
    return service.get_ml_task_run({"TransformId": transform_id, "TaskRunId": task_run_id})


def stored(service: GlueLabelingService, transform_id: str) -> set[tuple[str, str, bool]]:
    pairs = service.labels(transform_id).pairs().to_pylist()
    return {(p["left_key"], p["right_key"], p["is_match"]) for p in pairs}


def read_export(location: Path) -> tuple[list[list[str]], list[dict[str, str]]]:
    """(the headers of the exported files, their rows)."""
    files = sorted(location.glob("labeling_set=*/*.csv"))
    headers = [next(csv.reader(path.open(encoding="utf-8"))) for path in files]
    rows = [row for path in files for row in csv.DictReader(path.open(encoding="utf-8"))]
    return headers, rows


# -- the labeling file and the pairs, without Spark ----------------------------------------


def test_a_row_is_located_by_the_line_it_starts_on() -> None:
    content = b'\xef\xbb\xbflabeling_set_id,label,id\n s1 , A ,1\ns1,"A\nB",2\n\ns1,A,3\n'
    rows, problems = parse_labeling_file("f.csv", content, "ID", ["id"])
    assert problems == []
    assert [(row.line, row.labeling_set_id, row.label, row.key) for row in rows] == [
        (2, "s1", "A", "1"),
        (3, "s1", "A\nB", "2"),
        (6, "s1", "A", "3"),
    ]


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        (b"", 1, "no header"),
        (b"labeling_set_id,label,id\ns1,A,1\ns1,A,\n", 3, "empty id"),
        (b'labeling_set_id,label,id\ns1,A,"1\n', 2, "not valid CSV"),
        (b"labeling_set_id,label,id,id\n", 1, "appear more than once"),
        (b"labeling_set_id,label,id,nickname\n", 1, "nickname are not in the transform's input table"),
        (b"labeling_set_id,label,id\ns1,A,1\ns1,A,\xe9t\xe9\n", 3, "not UTF-8"),
    ],
    ids=["empty-file", "empty-key", "open-quote", "repeated-column", "unknown-column", "latin-1"],
)
def test_file_problems_name_their_line(content: bytes, line: int, problem: str) -> None:
    _rows, problems = parse_labeling_file("f.csv", content, "id", ["id", "name"])
    assert len(problems) == 1
    assert problems[0].line == line and problem in problems[0].message


def test_an_oversized_set_is_refused() -> None:
    rows = [LabelRow("f.csv", line, "s1", "A", str(line)) for line in range(2, MAX_ROWS_PER_SET + 3)]
    pairs, problems = labeled_pairs(rows, {row.key: [0] for row in rows}, "tsk-1", dt.datetime.now(dt.timezone.utc))
    assert pairs.num_rows == 0
    assert problems == [Problem("f.csv", 2, f"labeling set 's1' has {MAX_ROWS_PER_SET + 1} rows; at most 200")]


@pytest.mark.parametrize(
    ("sources", "problem"),
    [
        ({}, "primary key '7' is not in the transform's input"),
        ({"7": [0, 0]}, "primary key '7' is not unique in the input table: which record is meant?"),
        ({"7": [0, 1]}, "primary key '7' is in both input tables: which record is meant?"),
    ],
)
def test_a_key_must_name_one_record(sources: dict[str, list[int]], problem: str) -> None:
    rows = [LabelRow("f.csv", 2, "s1", "A", "1"), LabelRow("f.csv", 3, "s1", "A", "7")]
    pairs, problems = labeled_pairs(rows, {"1": [0], **sources}, "tsk-1", dt.datetime.now(dt.timezone.utc))
    assert pairs.num_rows == 0 and problems == [Problem("f.csv", 3, problem)]


def test_export_sets_rebuild_whole_sets_and_split_the_rest() -> None:
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

    def pair(left: str, right: str, labels: tuple[str, str], set_id: str, run: str) -> dict[str, Any]:
        return {
            "left_source": 0,
            "left_key": left,
            "right_source": 0,
            "right_key": right,
            "is_match": labels[0] == labels[1],
            "labeling_set_id": set_id,
            "left_label": labels[0],
            "right_label": labels[1],
            "label_file": f"{run}.csv",
            "imported_by_task_run": run,
            "imported_on": when,
        }

    pairs = [
        # tsk-1's set-001 {1,2 | 3} lost its pair 1-2 to tsk-2: two pairs of it remain.
        pair("1", "3", ("A", "B"), "set-001", "tsk-1"),
        pair("2", "3", ("A", "B"), "set-001", "tsk-1"),
        # tsk-2's set-001 is whole: {1 | 2}.
        pair("1", "2", ("P", "Q"), "set-001", "tsk-2"),
    ]
    rows = export_sets(pa.Table.from_pylist(pairs, schema=LABELS_SCHEMA))
    sets: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        sets.setdefault(row["labeling_set_id"], []).append((row["key"], row["label"]))
    assert sets == {
        "set-001": [("1", "A"), ("3", "B")],
        "set-001~2": [("2", "A"), ("3", "B")],
        "set-001~3": [("1", "P"), ("2", "Q")],
    }


# -- import -------------------------------------------------------------------------------


def test_import_stores_the_pairs_each_set_labels(spark: Any, service: GlueLabelingService, tmp_path: Path) -> None:
    transform_id = create_transform(service)
    assert service.get_ml_transform({"TransformId": transform_id})["LabelCount"] == 0
    uri = f"file://{labeling_file(tmp_path / 'round-1.csv', ROUND_1)}"

    run = import_labels(spark, service, transform_id, uri, replace=False)

    assert run["Status"] == "SUCCEEDED", run.get("ErrorString")
    assert run["Properties"] == {
        "TaskType": "IMPORT_LABELS",
        "ImportLabelsTaskRunProperties": {"InputS3Path": uri, "Replace": False},
    }
    assert stored(service, transform_id) == ROUND_1_PAIRS
    assert service.ledger.get(run["TaskRunId"])["records_read"] == len(ROUND_1)
    transform = service.get_ml_transform({"TransformId": transform_id})
    assert transform["LabelCount"] == len(ROUND_1_PAIRS)
    assert transform["Status"] == "NOT_READY"  # 4 matching pairs: one short of MIN_PAIRS_PER_CLASS


def rows(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


BAD_FILES = [
    pytest.param("id,name,city\n1,a,b\n2,a,b\n", 1, "the first two columns must be", id="no-leading-columns"),
    pytest.param("labeling_set,label,id\ns1,A,1\ns1,A,2\n", 1, "found 'labeling_set', 'label'", id="misnamed"),
    pytest.param("label,labeling_set_id,id\nA,s1,1\nA,s1,2\n", 1, "found 'label', 'labeling_set_id'", id="swapped"),
    pytest.param("labeling_set_id,label,name\ns1,A,a\ns1,A,b\n", 1, "no column 'id'", id="no-key-column"),
    pytest.param(rows("s1,A,1,a,b", "s1,A,99,a,b"), 3, "primary key '99' is not in the", id="unknown-key"),
    pytest.param(rows("s1,A,1,a,b", "s1,,2,a,b"), 3, "empty label", id="empty-label"),
    pytest.param(rows("s1,A,1,a,b", "s1,  ,2,a,b"), 3, "empty label", id="blank-label"),
    pytest.param(rows("s1,A,1,a,b", "s1,A,2,a,b", "s2,A,3,a,b"), 4, "set 's2' has one row", id="one-row-set"),
    pytest.param(
        rows("s1,A,1,a,b", "s1,B,2,a,b", "s1,A,1,a,b"), 4, "record '1' is in labeling set 's1' twice", id="dup"
    ),
    pytest.param(
        rows("s1,A,1,a,b", "s1,A,2,a,b", "s2,A,1,a,b", "s2,B,2,a,b"),
        5,
        "labeled a match in set 's1'",
        id="answered-twice",
    ),
    pytest.param(rows("s1,A,1,a,b", "s1,A,2,a"), 3, "expected 5 fields as in the header, found 4", id="short-row"),
]


@pytest.mark.parametrize(("content", "line", "problem"), BAD_FILES)
def test_a_bad_file_fails_the_run_and_imports_nothing(
    spark: Any, service: GlueLabelingService, tmp_path: Path, content: str, line: int, problem: str
) -> None:
    transform_id = create_transform(service)
    store_round_1(service, transform_id, tmp_path)
    bad = tmp_path / "bad" / "labels.csv"
    bad.parent.mkdir()
    bad.write_text(content, encoding="utf-8")

    # ReplaceAllLabels: had anything been stored, the earlier labels would be gone.
    run = import_labels(spark, service, transform_id, f"file://{bad}", replace=True)

    assert run["Status"] == "FAILED"
    assert f"file://{bad} line {line}: " in run["ErrorString"], run["ErrorString"]
    assert problem in run["ErrorString"] and "nothing was imported" in run["ErrorString"]
    assert stored(service, transform_id) == ROUND_1_PAIRS


def test_one_bad_file_under_a_prefix_imports_none_of_the_files(
    spark: Any, service: GlueLabelingService, tmp_path: Path
) -> None:
    transform_id = create_transform(service)
    labeling_file(tmp_path / "labels" / "a-good.csv", ROUND_1)
    bad = labeling_file(tmp_path / "labels" / "b-bad.csv", [("s1", "A", 8), ("s1", "", 9)])

    run = import_labels(spark, service, transform_id, f"file://{tmp_path / 'labels'}", replace=False)

    assert run["Status"] == "FAILED" and f"{bad} line 3: empty label" in run["ErrorString"]
    assert stored(service, transform_id) == set()
    assert service.get_ml_transform({"TransformId": transform_id})["LabelCount"] == 0


@pytest.mark.parametrize(("path", "problem"), [("missing", "no file or prefix at"), ("empty", "no .csv file at")])
def test_nothing_to_import_fails_the_run(
    spark: Any, service: GlueLabelingService, tmp_path: Path, path: str, problem: str
) -> None:
    transform_id = create_transform(service)
    (tmp_path / "empty").mkdir()
    run = import_labels(spark, service, transform_id, f"file://{tmp_path / path}", replace=False)
    assert run["Status"] == "FAILED" and problem in run["ErrorString"]


def test_adding_keeps_earlier_labels_and_the_newest_answer_wins(
    spark: Any, service: GlueLabelingService, tmp_path: Path
) -> None:
    transform_id = create_transform(service)
    store_round_1(service, transform_id, tmp_path)
    # Round 2 says 1 and 2 do not match after all, and 1 and 10 do.
    round_2 = labeling_file(tmp_path / "r2.csv", [("s9", "P", 1), ("s9", "Q", 2), ("s9", "P", 10)])

    assert import_labels(spark, service, transform_id, f"file://{round_2}", replace=False)["Status"] == "SUCCEEDED"

    expected = (ROUND_1_PAIRS - {("1", "2", True)}) | {("1", "2", False), ("1", "10", True), ("10", "2", False)}
    assert stored(service, transform_id) == expected
    assert service.get_ml_transform({"TransformId": transform_id})["LabelCount"] == len(expected)


def test_replacing_forgets_every_earlier_label(spark: Any, service: GlueLabelingService, tmp_path: Path) -> None:
    transform_id = create_transform(service)
    store_round_1(service, transform_id, tmp_path)
    round_2 = labeling_file(tmp_path / "r2.csv", [("s9", "P", 11), ("s9", "P", 12)])

    run = import_labels(spark, service, transform_id, f"file://{round_2}", replace=True)

    assert run["Properties"]["ImportLabelsTaskRunProperties"]["Replace"] is True
    assert stored(service, transform_id) == {("11", "12", True)}
    assert service.get_ml_transform({"TransformId": transform_id})["LabelCount"] == 1


def test_the_transform_is_ready_with_enough_pairs_of_each_kind(
    spark: Any, service: GlueLabelingService, tmp_path: Path
) -> None:
    transform_id = create_transform(service)
    other = create_transform(service, ("people", "people_b"))
    store_round_1(service, transform_id, tmp_path)
    summary = service.labels(transform_id).summary()
    assert (summary.matches, summary.non_matches) == (MIN_PAIRS_PER_CLASS - 1, 5)
    assert service.get_ml_transform({"TransformId": transform_id})["Status"] == "NOT_READY"

    one_more_match = labeling_file(tmp_path / "r2.csv", [("s3", "A", 8), ("s3", "A", 9)])
    import_labels(spark, service, transform_id, f"file://{one_more_match}", replace=False)

    assert service.get_ml_transform({"TransformId": transform_id})["Status"] == "READY"
    ready = service.get_ml_transforms({"Filter": {"Status": "READY"}})["Transforms"]
    assert [(t["TransformId"], t["LabelCount"]) for t in ready] == [(transform_id, len(ROUND_1_PAIRS) + 1)]
    assert service.get_ml_transform({"TransformId": other})["Status"] == "NOT_READY"


def test_the_sets_of_several_labeling_runs_under_one_prefix_stay_apart(
    spark: Any, service: GlueLabelingService, tmp_path: Path
) -> None:
    """A labeling run's layout: <prefix>/<TaskRunId>/labeling_set=<id>/part-*.csv. Two runs both
    name a set set-001; an unfinished run's _staging/ and the _SUCCESS markers are not read."""
    transform_id = create_transform(service)
    prefix = tmp_path / "labeling-sets"
    part = Path("labeling_set=set-001") / "part-00000.csv"
    labeling_file(prefix / "tsk-a" / part, [("set-001", "A", 1), ("set-001", "A", 2)])
    labeling_file(prefix / "tsk-b" / part, [("set-001", "B", 3), ("set-001", "C", 4)])
    labeling_file(prefix / "_staging" / "tsk-c" / part, [("set-001", "", 5)])
    (prefix / "tsk-a" / "_SUCCESS").touch()

    run = import_labels(spark, service, transform_id, f"file://{prefix}/", replace=False)

    assert run["Status"] == "SUCCEEDED", run.get("ErrorString")
    assert stored(service, transform_id) == {("1", "2", True), ("3", "4", False)}


def test_linkage_keys_resolve_to_their_table(spark: Any, service: GlueLabelingService, tmp_path: Path) -> None:
    transform_id = create_transform(service, ("people", "people_b"))
    good = labeling_file(tmp_path / "good.csv", [("s1", "A", 1), ("s1", "A", 13)])
    assert import_labels(spark, service, transform_id, f"file://{good}", replace=False)["Status"] == "SUCCEEDED"
    pair = service.labels(transform_id).pairs().to_pylist()[0]
    assert (pair["left_source"], pair["left_key"], pair["right_source"], pair["right_key"]) == (0, "1", 1, "13")

    ambiguous = labeling_file(tmp_path / "ambiguous.csv", [("s1", "A", 1), ("s1", "A", 11)])
    run = import_labels(spark, service, transform_id, f"file://{ambiguous}", replace=False)
    assert run["Status"] == "FAILED"
    assert f"{ambiguous} line 3: primary key '11' is in both input tables" in run["ErrorString"]


def test_import_from_s3(spark: Any, service: GlueLabelingService, s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket="labels-in")
    good = labeling_file(tmp_path / "round-1.csv", ROUND_1)
    s3.put_object(Bucket="labels-in", Key="team/round-1.csv", Body=good.read_bytes())
    s3.put_object(Bucket="labels-in", Key="bad/round-2.csv", Body=f"{HEADER}\ns1,A,1,a,b\n".encode())
    transform_id = create_transform(service)

    run = import_labels(spark, service, transform_id, "s3://labels-in/team/", replace=False)
    assert run["Status"] == "SUCCEEDED", run.get("ErrorString")
    assert stored(service, transform_id) == ROUND_1_PAIRS

    run = import_labels(spark, service, transform_id, "s3://labels-in/bad/round-2.csv", replace=True)
    assert run["Status"] == "FAILED"
    assert "s3://labels-in/bad/round-2.csv line 2: labeling set 's1' has one row" in run["ErrorString"]
    assert stored(service, transform_id) == ROUND_1_PAIRS


# -- export -------------------------------------------------------------------------------


def test_export_then_import_with_replace_is_a_round_trip(
    spark: Any, service: GlueLabelingService, tmp_path: Path
) -> None:
    transform_id = create_transform(service)
    import_labels(spark, service, transform_id, f"file://{labeling_file(tmp_path / 'r1.csv', ROUND_1)}", False)
    # Round 2 answers 1-2 anew: round 1's set-001 is no longer whole.
    round_2 = labeling_file(tmp_path / "r2.csv", [("set-001", "P", 1), ("set-001", "Q", 2)])
    import_labels(spark, service, transform_id, f"file://{round_2}", replace=False)
    before = service.labels(transform_id).pairs()

    run = export_labels(spark, service, transform_id, f"file://{tmp_path / 'export'}")

    assert run["Status"] == "SUCCEEDED", run.get("ErrorString")
    assert run["Properties"] == {
        "TaskType": "EXPORT_LABELS",
        "ExportLabelsTaskRunProperties": {"OutputS3Path": f"file://{tmp_path / 'export'}"},
    }
    location = tmp_path / "export" / run["TaskRunId"]
    assert (location / "_SUCCESS").exists() and not (tmp_path / "export" / "_staging" / run["TaskRunId"]).exists()
    headers, rows = read_export(location)
    assert all(header == HEADER.split(",") for header in headers)
    assert {row["name"] for row in rows} <= {f"name{i}" for i in range(1, 13)}  # data from the input table

    reimported = import_labels(spark, service, transform_id, f"file://{location}/", replace=True)

    assert reimported["Status"] == "SUCCEEDED", reimported.get("ErrorString")
    after = service.labels(transform_id).pairs()
    assert {(p["left_key"], p["right_key"], p["is_match"]) for p in after.to_pylist()} == {
        (p["left_key"], p["right_key"], p["is_match"]) for p in before.to_pylist()
    }
    # A second export of the re-imported labels writes the same sets.
    again = export_labels(spark, service, transform_id, f"file://{tmp_path / 'export-2'}")
    _, rows_again = read_export(tmp_path / "export-2" / again["TaskRunId"])
    assert sorted(tuple(row.values()) for row in rows_again) == sorted(tuple(row.values()) for row in rows)


def test_the_primary_key_is_matched_case_insensitively(
    spark: Any, service: GlueLabelingService, tmp_path: Path
) -> None:
    """PrimaryKeyColumnName "ID" names the input's column `id`, as CreateMLTransform accepted it."""
    transform_id = create_transform(service, key="ID")
    labels = f"file://{labeling_file(tmp_path / 'r1.csv', ROUND_1)}"
    assert import_labels(spark, service, transform_id, labels, replace=False)["Status"] == "SUCCEEDED"

    run = export_labels(spark, service, transform_id, f"file://{tmp_path / 'export'}")

    headers, rows = read_export(tmp_path / "export" / run["TaskRunId"])
    assert headers[0] == HEADER.split(",")
    assert sorted(int(row["id"]) for row in rows) == sorted(key for _, _, key in ROUND_1)


def test_export_without_labels_writes_an_empty_labeling_set(
    spark: Any, service: GlueLabelingService, tmp_path: Path
) -> None:
    transform_id = create_transform(service)
    run = export_labels(spark, service, transform_id, f"file://{tmp_path / 'export'}")
    assert run["Status"] == "SUCCEEDED", run.get("ErrorString")
    assert (tmp_path / "export" / run["TaskRunId"] / "_SUCCESS").exists()
    assert read_export(tmp_path / "export" / run["TaskRunId"]) == ([], [])


def test_labels_live_in_a_delta_table_per_transform(spark: Any, service: GlueLabelingService, tmp_path: Path) -> None:
    transform_id = create_transform(service)
    store_round_1(service, transform_id, tmp_path)
    uri = LabelStore(service.settings, transform_id).uri
    assert uri == f"{service.settings.labels_location}/{transform_id}"
    frame = spark.read.format("delta").load(uri)
    assert frame.count() == len(ROUND_1_PAIRS) and set(frame.columns) == set(LABELS_SCHEMA.names)


@pytest.mark.parametrize("on_s3", [False, True], ids=["local", "s3"])
def test_deleting_a_transform_deletes_its_labels(
    spark: Any, state: Settings, s3: Any, tmp_path: Path, on_s3: bool
) -> None:
    if on_s3:
        s3.create_bucket(Bucket="labels-deleted")
        state = dataclasses.replace(state, labels_uri="s3://labels-deleted/labels")
    service = GlueLabelingService(state, launcher=InProcessLauncher())
    transform_id = create_transform(service)
    labels = f"file://{labeling_file(tmp_path / 'r1.csv', ROUND_1)}"
    assert import_labels(spark, service, transform_id, labels, replace=False)["Status"] == "SUCCEEDED"
    prefix = f"labels/{transform_id}/"

    def table_files() -> list[str]:
        if on_s3:
            return [
                item["Key"] for item in s3.list_objects_v2(Bucket="labels-deleted", Prefix=prefix).get("Contents", [])
            ]
        return [str(path) for path in Path(state.labels_location, transform_id).glob("**/*")]

    assert table_files()

    service.delete_ml_transform({"TransformId": transform_id})
    recreated = create_transform(service)

    assert table_files() == []
    assert service.get_ml_transform({"TransformId": recreated})["LabelCount"] == 0
    assert not LabelStore(state, transform_id).summary().pairs
