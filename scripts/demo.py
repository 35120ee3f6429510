"""The main job end to end on embedded defaults (README command 1).

Generates sample person records, registers them as `demo.people` in the local catalog,
registers a FindMatches transform over them (once), calls StartMLLabelingSetGenerationTaskRun,
follows the run in the ledger printing each status change, and shows where the labeling set is.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from generate_sample_data import generate

from glue_labeling.cli import wait_for_run
from glue_labeling.client import GlueLabelingClient
from glue_labeling.contract import GlueError
from glue_labeling.settings import PROJECT_ROOT
from glue_labeling.spark import get_or_create_session

TRANSFORM_NAME = "demo-people-find-matches"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", default=f"file://{PROJECT_ROOT / 'demo-output' / 'labeling-sets'}")
    args = parser.parse_args(argv)

    client = GlueLabelingClient()
    data_dir = Path(client.service.settings.state_dir) / "demo-data" / f"people-{args.rows}-{args.seed}"
    spark = get_or_create_session(client.service.settings, app_name="glue-labeling demo")
    if not (data_dir / "records" / "_delta_log").exists():
        records, truth = generate(spark, args.rows, seed=args.seed)
        records.write.format("delta").mode("overwrite").save(str(data_dir / "records"))
        truth.write.format("delta").mode("overwrite").save(str(data_dir / "truth"))
    client.service.catalog.register(spark, "demo", "people", str(data_dir / "records"), "delta")
    spark.stop()
    print(json.dumps({"InputTable": "demo.people", "Rows": args.rows, "Location": str(data_dir / "records")}))

    existing = client.list_ml_transforms(Filter={"Name": TRANSFORM_NAME})["TransformIds"]
    transform_id = (
        existing[0]
        if existing
        else client.create_ml_transform(
            Name=TRANSFORM_NAME,
            InputRecordTables=[{"DatabaseName": "demo", "TableName": "people"}],
            Parameters={
                "TransformType": "FIND_MATCHES",
                "FindMatchesParameters": {"PrimaryKeyColumnName": "record_id"},
            },
            Role="local",
        )["TransformId"]
    )
    print(json.dumps({"TransformId": transform_id}))

    started = client.start_ml_labeling_set_generation_task_run(TransformId=transform_id, OutputS3Path=args.output)
    print(json.dumps(started), flush=True)
    run = wait_for_run(client, transform_id, started["TaskRunId"], poll_seconds=1.0)
    ledger_row = client.service.ledger.get(started["TaskRunId"])
    print(
        json.dumps(
            {
                "Status": run["Status"],
                "ExecutionTime": run["ExecutionTime"],
                "Log": run["LogGroupName"],
                **({"ErrorString": run["ErrorString"]} if "ErrorString" in run else {}),
            }
        )
    )
    if run["Status"] != "SUCCEEDED":
        return 1
    report = json.loads(ledger_row["run_report"])
    location = report["output_location"]
    files = sorted(Path(location.removeprefix("file:")).glob("labeling_set=*/*.csv"))
    print(
        json.dumps(
            {
                "LabelingSet": location,
                "Files": len(files),
                "LabelingSets": report["labeling_sets"],
                "Rows": report["labeling_set_rows"],
                "CandidatePairs": ledger_row["candidate_pairs"],
                "StageSeconds": report["stage_seconds"],
            }
        )
    )
    print(f"\nFirst labeling set ({files[0]}):")
    print("".join(files[0].read_text().splitlines(keepends=True)[:6]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except GlueError as error:
        print(json.dumps(error.to_wire()), file=sys.stderr)
        sys.exit(254)
