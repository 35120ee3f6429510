"""Benchmark: our labeling-set job at scale, side by side with Splink 5 on DuckDB.

For each N in --rows: N generated person records (scripts/generate_sample_data.py, seed 42),
written once to parquet under .cache/bench and reused by later runs. Then, one after the other
in this process (never concurrently, so the ratio compares like with like on a shared machine):

  1. ours: the labeling-set job in local mode, in process, from load to a written labeling set
     (glue_labeling.pipeline.run.generate_labeling_set): seconds per stage, candidate pairs,
     pairs made, compared and scored per second (the block and score stages: compare.py makes
     and compares each block's pairs), peak resident memory of the driver JVM and of this Python
     driver;
  2. Splink 5 on DuckDB over the same parquet, with the blocking rules our run chose translated
     one by one (`splink_blocking_rule`) and one comparison per column (`splink_comparison`):
     load + training (prior, u by random sampling, m by EM, as Splink's docs recommend) +
     predict + connected-components clustering;
  3. with --spark-submit, the same job once more as a task run through the control plane, so a
     real `spark-submit` of jobs/labeling_set_generation.py (JVM start included).

Prints one JSON object per N and, at the end, a table with our time over Splink's.

Peak memory is VmHWM from /proc (Linux), reset through /proc/<pid>/clear_refs before each
side: resource.getrusage's ru_maxrss cannot be reset, so it would charge Splink's DuckDB (which
runs in this Python process) to whichever side ran first.

Splink is not a dependency of the project: `.venv/bin/pip install -e ".[bench]"` first.

Usage: .venv/bin/python scripts/bench_scale.py [--rows 100000 1000000] [--spark-submit]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import SparkSession

from glue_labeling.catalog import LocalCatalog
from glue_labeling.client import GlueLabelingClient
from glue_labeling.ledger import FINAL_STATUSES
from glue_labeling.pipeline.block import KEY_SEPARATOR
from glue_labeling.pipeline.normalize import ACCENTED, PLAIN
from glue_labeling.pipeline.run import RunReport, generate_labeling_set
from glue_labeling.settings import PROJECT_ROOT, Settings, load_settings
from glue_labeling.spark import get_or_create_session

sys.path.insert(0, str(Path(__file__).parent))
from generate_sample_data import RECORD_COLUMNS, generate

if TYPE_CHECKING:
    import duckdb
    from splink.internals.blocking_rule_creator import BlockingRuleCreator
    from splink.internals.comparison_creator import ComparisonCreator

CACHE = PROJECT_ROOT / ".cache" / "bench"
SEED = 42
KEY = RECORD_COLUMNS[0]
DATABASE = "bench"
# Our blocking keys join the parts of a multi-column rule with this character; oversized blocks
# are reported by that joined key.


# Splink's side. Our features give a string column credit from Jaro-Winkler 0.8 up (the
# agreement floor in score.py), more the closer it gets to 1: two JW levels above exact match.
JARO_WINKLER_LEVELS = (0.9, 0.8)
# A column with at most this many distinct values is a category (state, gender): exact match.
CATEGORY_MAX_DISTINCT = 100
# Share of non-null values that must look like a date, or a short number, to compare them so.
KIND_SHARE = 0.9
# Our normalization turns "1980-01-02" into "1980 01 02"; dates are compared in that form.
NORMALIZED_DATE_FORMAT = "%Y %m %d"
# Splink's docs: 1e7 u-sampling pairs is "often adequate", 1e8-1e9 more accurate but slower.
U_MAX_PAIRS = 1e7
# Recall assumed for the deterministic rule that estimates the prior (the docs' example value).
DETERMINISTIC_RECALL = 0.7
CLUSTER_THRESHOLD = 0.95


# --------------------------------------------------------------------------------------------
# Memory: peak resident set size of a process, resettable.
# --------------------------------------------------------------------------------------------
def reset_peak_rss(pid: int) -> None:
    """Writing 5 to clear_refs resets the process's VmHWM to its current RSS (Linux >= 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def proc_kilobytes(text: str, field: str) -> int:
    """The figure of a "<field>:   <n> kB" line of a /proc file (status, meminfo)."""
    return next(int(line.split()[1]) for line in text.splitlines() if line.startswith(f"{field}:"))


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM in MB, or None if the process has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return round(proc_kilobytes(status, "VmHWM") / 1024, 1)


def available_memory_mb() -> int:
    """MemAvailable: what the machine can give without swapping or killing a process."""
    return proc_kilobytes(Path("/proc/meminfo").read_text(), "MemAvailable") // 1024


def jvm_pid(spark: SparkSession) -> int:
    # pyspark exposes the driver JVM only through its py4j gateway.
    return int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
def cached_records(spark: SparkSession, rows: int) -> Path:
    """Parquet of `rows` generated records, written on the first run only. Spark writes
    _SUCCESS last, so an interrupted write is redone rather than reused."""
    path = CACHE / f"people-{rows}-seed{SEED}"
    if not (path / "_SUCCESS").exists():
        started = time.perf_counter()
        records, _truth = generate(spark, rows, seed=SEED)
        records.write.mode("overwrite").parquet(str(path))
        print(f"generated {rows:,} records into {path} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return path


def transform_for(table: str) -> dict[str, Any]:
    return {
        "InputRecordTables": [{"DatabaseName": DATABASE, "TableName": table}],
        "Parameters": {"TransformType": "FIND_MATCHES", "FindMatchesParameters": {"PrimaryKeyColumnName": KEY}},
    }


# --------------------------------------------------------------------------------------------
# Ours
# --------------------------------------------------------------------------------------------
def run_ours(spark: SparkSession, catalog: LocalCatalog, table: str, output: Path) -> dict[str, Any]:
    jvm = jvm_pid(spark)
    reset_peak_rss(jvm)
    reset_peak_rss(os.getpid())
    report = RunReport()
    started = time.perf_counter()
    result = generate_labeling_set(spark, transform_for(table), f"file://{output}", f"bench-{table}", report, catalog)
    seconds = time.perf_counter() - started
    figures = report.figures
    pairs = sum(figures["candidate_pairs_per_rule"].values())
    ours = {
        "seconds": round(seconds, 1),
        "stage_seconds": figures["stage_seconds"],
        "candidate_pairs": pairs,
        "candidate_pairs_per_rule": figures["candidate_pairs_per_rule"],
        "pairs_scored_per_second": round(
            pairs / max(figures["stage_seconds"]["block"] + figures["stage_seconds"]["score"], 1e-9)
        ),
        "blocking_rules": figures["blocking_rules"],
        # Every dropped block (the run report keeps only the first 20), so Splink drops them too.
        "oversized_blocks": result.plan.oversized_report(),
        "labeling_sets": figures["labeling_sets"],
        "labeling_set_rows": figures["labeling_set_rows"],
        "peak_jvm_rss_mb": peak_rss_mb(jvm),
        "peak_python_rss_mb": peak_rss_mb(os.getpid()),
    }
    # The run's cached and checkpointed frames are not needed for Splink's turn.
    spark.catalog.clearCache()
    return ours


def run_spark_submit(settings: Settings, table: str, output: Path) -> dict[str, Any]:
    """The job as the control plane runs it: StartMLLabelingSetGenerationTaskRun, which
    spark-submits jobs/labeling_set_generation.py. Memory is sampled from /proc while it runs."""
    client = GlueLabelingClient(settings)
    transform_id = client.create_ml_transform(Name=f"bench-{table}", Role="local", **transform_for(table))[
        "TransformId"
    ]
    started = time.perf_counter()
    run_id = client.start_ml_labeling_set_generation_task_run(
        TransformId=transform_id, OutputS3Path=f"file://{output}"
    )["TaskRunId"]
    process_group = int(client.service.ledger.get(run_id)["launcher_handle"].rsplit(":", 2)[1])
    peaks: dict[str, float] = {}
    while True:
        for role, peak in _group_peaks(process_group).items():
            peaks[role] = max(peaks.get(role, 0.0), peak)
        run = client.get_ml_task_run(TransformId=transform_id, TaskRunId=run_id)
        if run["Status"] in FINAL_STATUSES:
            break
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    if run["Status"] != "SUCCEEDED":
        raise RuntimeError(f"spark-submit run {run_id} ended {run['Status']}: {run.get('ErrorString')}")
    figures = json.loads(client.service.ledger.get(run_id)["run_report"])
    return {
        "seconds": round(seconds, 1),
        "stage_seconds": figures["stage_seconds"],
        "candidate_pairs": sum(figures["candidate_pairs_per_rule"].values()),
        "peak_jvm_rss_mb": peaks.get("jvm"),
        "peak_python_rss_mb": peaks.get("python_driver"),
    }


def _group_peaks(process_group: int) -> dict[str, float]:
    """VmHWM of the spark-submit JVM and of the Python driver it starts (Python workers, which
    spark-submit also starts, are not the driver and are left out)."""
    peaks: dict[str, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[2]) != process_group:
            continue
        if command[0].endswith(b"java"):
            role = "jvm"
        elif any(part.endswith(b"labeling_set_generation.py") for part in command):
            role = "python_driver"
        else:
            continue
        peak = peak_rss_mb(int(proc.name))
        if peak is not None:
            peaks[role] = max(peaks.get(role, 0.0), peak)
    return peaks


# --------------------------------------------------------------------------------------------
# Splink: our rules and features, translated
# --------------------------------------------------------------------------------------------
def splink_blocking_rule(
    rule_name: str, columns: list[str], oversized_keys: list[str]
) -> tuple[BlockingRuleCreator, list[str]] | None:
    """Splink's equivalent of one of our blocking rules, with the columns it blocks on, or None
    when Splink has none.

    Our rules are named "<kind>:<spec>" (block.py):
      * "exact:a" and "exact:a+b" (records meet when every listed normalized column is present
        and equal) become block_on("a") and block_on("a", "b"): the same equi-join on the same
        normalized values, and Splink likewise keeps a pair under the first rule that finds it.
        Blocks our run dropped as oversized (listed by their joined key) are excluded with
        NOT (l.a = key_a AND l.b = key_b), so both sides score the same candidate pairs.
      * any other kind (MinHash bands over 3-grams, ...) has no Splink blocking rule that finds
        the same pairs: None, and the benchmark says which rules went unmatched.
    """
    from splink.blocking_rule_library import And, CustomRule, Not, block_on

    kind, _, spec = rule_name.partition(":")
    if kind != "exact":
        return None
    rule_columns = spec.split("+")
    unknown = [c for c in rule_columns if c not in columns]
    if unknown:
        raise ValueError(f"rule {rule_name!r} names {unknown}, not input columns {columns}: update this mapping")
    rule = block_on(*rule_columns)
    if not oversized_keys:
        return rule, rule_columns
    excluded = [
        Not(
            CustomRule(
                " AND ".join(
                    f"l.{_quoted(c)} = {_literal(v)}"
                    for c, v in zip(rule_columns, key.split(KEY_SEPARATOR), strict=True)
                )
            )
        )
        for key in oversized_keys
    ]
    return And(rule, *excluded), rule_columns


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def column_kinds(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> dict[str, str]:
    """Each column's kind, "date", "code" or "string", from the normalized data: dates when nearly
    all values parse as dates; codes when there are few distinct values (a category) or nearly all
    are numbers of up to six digits (postcodes, house numbers); strings otherwise."""
    checks = []
    for c in columns:
        q = _quoted(c)
        checks += [
            f"count({q})",
            f"approx_count_distinct({q})",
            f"count(try_strptime({q}, '{NORMALIZED_DATE_FORMAT}'))",
            f"count(*) FILTER (WHERE regexp_full_match({q}, '[0-9]{{1,6}}'))",
        ]
    # fetchall, not fetchone: DuckDB 2 refuses Splink's next query while a result is unfinished.
    [row] = con.execute(f"SELECT {', '.join(checks)} FROM {table}").fetchall()
    kinds = {}
    for i, c in enumerate(columns):
        present, distinct, dates, numbers = row[4 * i : 4 * i + 4]
        if present and dates >= KIND_SHARE * present:
            kinds[c] = "date"
        elif distinct <= CATEGORY_MAX_DISTINCT or (present and numbers >= KIND_SHARE * present):
            kinds[c] = "code"
        else:
            kinds[c] = "string"
    return kinds


def splink_comparison(column: str, kind: str) -> ComparisonCreator:
    """One Splink comparison per column, as our features compare it: Jaro-Winkler levels for
    strings, exact match for codes, date distance for dates."""
    import splink.comparison_library as cl

    if kind == "date":
        return cl.DateOfBirthComparison(column, input_is_string=True, datetime_format=NORMALIZED_DATE_FORMAT)
    if kind == "code":
        return cl.ExactMatch(column)
    return cl.JaroWinklerAtThresholds(column, list(JARO_WINKLER_LEVELS))


def em_training_rules(
    rules: list[tuple[BlockingRuleCreator, list[str]]], columns: list[str]
) -> list[BlockingRuleCreator]:
    """Our rules, in order, until every column has been left out of at least one: EM estimates
    m for the columns its blocking rule does not fix, so this trains every comparison."""
    chosen, untrained = [], set(columns)
    for rule, rule_columns in rules:
        if not untrained:
            break
        if untrained - set(rule_columns):
            chosen.append(rule)
            untrained &= set(rule_columns)
    return chosen


def normalized_select(key: str, columns: list[str]) -> str:
    """Our normalization (normalize.py: lower case, accents folded, anything but letters and
    digits to a space, spaces collapsed, empty to null) in DuckDB SQL, so that both sides
    block and compare the same values."""
    cleaned = [
        f"nullif(trim(regexp_replace(regexp_replace(translate(lower(CAST({_quoted(c)} AS VARCHAR)), "
        f"'{ACCENTED}', '{PLAIN}'), '[^\\p{{L}}\\p{{N}}]+', ' ', 'g'), '\\s+', ' ', 'g')), '') AS {_quoted(c)}"
        for c in columns
    ]
    return ", ".join([_quoted(key), *cleaned])


def run_splink(data: Path, ours: dict[str, Any], work: Path) -> dict[str, Any]:
    import duckdb
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    reset_peak_rss(os.getpid())
    # DuckDB takes 80% of the machine's memory by default, but our JVM keeps its heap: at 10M
    # records (a 12 GB driver) the kernel killed the JVM while Splink ran. Here it gets 80% of
    # what is left, and spills beyond that, as it would on a machine shared with a Spark driver.
    memory_limit_mb = int(0.8 * available_memory_mb())
    con = duckdb.connect(config={"memory_limit": f"{memory_limit_mb}MB", "temp_directory": str(work / "duckdb")})
    columns = [c for c in RECORD_COLUMNS if c != KEY]
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    con.execute(
        f"CREATE TABLE people AS SELECT {normalized_select(KEY, columns)} FROM read_parquet('{data}/*.parquet')"
    )
    seconds["load"] = time.perf_counter() - started

    # Translating our settings is the benchmark's work, not Splink's: not timed.
    oversized: dict[str, list[str]] = {}
    for block in ours["oversized_blocks"]:
        oversized.setdefault(block["rule"], []).append(block["key"])
    mapping: dict[str, str | None] = {}
    rules: list[tuple[BlockingRuleCreator, list[str]]] = []
    for name in ours["blocking_rules"]:
        translated = splink_blocking_rule(name, columns, oversized.get(name, []))
        mapping[name] = translated[0].get_blocking_rule("duckdb").blocking_rule_sql if translated else None
        if translated:
            rules.append(translated)
    if not rules:
        raise ValueError(f"none of our rules {ours['blocking_rules']} has a Splink equivalent")
    kinds = column_kinds(con, "people", columns)
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=KEY,
        comparisons=[splink_comparison(c, kind) for c, kind in kinds.items()],
        blocking_rules_to_generate_predictions=[rule for rule, _ in rules],
        # Our scored pairs carry ids and similarities, not the compared values: spare Splink
        # copying 2 x 10 strings into every scored pair.
        retain_matching_columns=False,
    )
    # Records that agree under two of our rules at once are near-certain matches.
    deterministic = block_on(*dict.fromkeys(c for _, rule_columns in rules[:2] for c in rule_columns))
    em_rules = em_training_rules(rules, columns)

    started = time.perf_counter()
    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register("people"), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match([deterministic], recall=DETERMINISTIC_RECALL)
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    seconds["train"] = time.perf_counter() - started

    started = time.perf_counter()
    predictions = linker.inference.predict()
    seconds["predict"] = time.perf_counter() - started

    started = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=CLUSTER_THRESHOLD
    )
    seconds["cluster"] = time.perf_counter() - started

    per_rule = dict(
        con.execute(f"SELECT match_key, count(*) FROM {predictions.physical_name} GROUP BY 1 ORDER BY 1").fetchall()
    )
    [(cluster_count, multi_record)] = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE n > 1) FROM "
        f"(SELECT cluster_id, count(*) AS n FROM {clusters.physical_name} GROUP BY 1)"
    ).fetchall()
    translated_names = [name for name, sql in mapping.items() if sql is not None]
    con.close()
    return {
        "seconds": round(sum(seconds.values()), 1),
        "stage_seconds": {stage: round(s, 3) for stage, s in seconds.items()},
        "candidate_pairs": sum(per_rule.values()),
        "candidate_pairs_per_rule": {translated_names[int(key)]: count for key, count in per_rule.items()},
        "clusters_of_two_or_more": multi_record,
        "clusters": cluster_count,
        "rule_mapping": mapping,
        "column_kinds": kinds,
        "em_training_rules": [rule.get_blocking_rule("duckdb").blocking_rule_sql for rule in em_rules],
        "deterministic_rule": deterministic.get_blocking_rule("duckdb").blocking_rule_sql,
        "peak_python_rss_mb": peak_rss_mb(os.getpid()),
        "duckdb_memory_limit_mb": memory_limit_mb,
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def summary_table(results: dict[int, dict[str, Any]]) -> str:
    """Metrics down, sizes across: our stage names may change, so they are rows, not columns."""
    rows: list[tuple[str, list[Any]]] = []

    def add(label: str, value: Callable[[dict[str, Any]], Any]) -> None:
        rows.append((label, [value(r) for r in results.values()]))

    stages = list(dict.fromkeys(stage for r in results.values() for stage in r["ours"]["stage_seconds"]))
    for stage in stages:
        add(f"ours {stage} s", lambda r, s=stage: r["ours"]["stage_seconds"].get(s))
    add("ours total s", lambda r: r["ours"]["seconds"])
    add("ours candidate pairs", lambda r: r["ours"]["candidate_pairs"])
    add("ours pairs scored/s", lambda r: r["ours"]["pairs_scored_per_second"])
    add("ours peak JVM RSS MB", lambda r: r["ours"]["peak_jvm_rss_mb"])
    add("ours peak Python RSS MB", lambda r: r["ours"]["peak_python_rss_mb"])
    if all("spark_submit" in r for r in results.values()):
        add("spark-submit total s", lambda r: r["spark_submit"]["seconds"])
        add("spark-submit peak JVM RSS MB", lambda r: r["spark_submit"]["peak_jvm_rss_mb"])
    for stage in ("load", "train", "predict", "cluster"):
        add(f"Splink {stage} s", lambda r, s=stage: r["splink"]["stage_seconds"][s])
    add("Splink total s", lambda r: r["splink"]["seconds"])
    add("Splink candidate pairs", lambda r: r["splink"]["candidate_pairs"])
    add("Splink peak RSS MB", lambda r: r["splink"]["peak_python_rss_mb"])
    add("ours / Splink", lambda r: r["ours_over_splink"])
    if all("spark_submit" in r for r in results.values()):
        add("spark-submit / Splink", lambda r: r["spark_submit_over_splink"])

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        return f"{value:,}" if isinstance(value, int) else str(value)

    width = max(len(label) for label, _ in rows)
    header = f"{'rows':<{width}}" + "".join(f"{n:>14,}" for n in results)
    return "\n".join(
        [header, *(f"{label:<{width}}" + "".join(f"{cell(v):>14}" for v in values) for label, values in rows)]
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--spark-submit", action="store_true", help="also time the job as a spark-submit'ed task run")
    args = parser.parse_args(argv)
    try:
        import splink  # noqa: F401  (fail before minutes of Spark work, not after)
    except ImportError:
        raise SystemExit('Splink is not installed: .venv/bin/pip install -e ".[bench]"') from None

    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="glue-labeling-scale-") as work_dir:
        work = Path(work_dir)
        settings = dataclasses.replace(load_settings(), state_dir=str(work / "state"))
        spark = get_or_create_session(settings, app_name="scale benchmark")
        catalog = LocalCatalog(settings)
        for rows in args.rows:
            data = cached_records(spark, rows)
            table = f"people_{rows}"
            catalog.register(spark, DATABASE, table, str(data), "parquet")
            result: dict[str, Any] = {"rows": rows, "data": str(data)}
            result["ours"] = run_ours(spark, catalog, table, work / f"ours-{rows}")
            result["splink"] = run_splink(data, result["ours"], work)
            result["ours_over_splink"] = round(result["ours"]["seconds"] / result["splink"]["seconds"], 2)
            if result["ours"]["candidate_pairs"] != result["splink"]["candidate_pairs"]:
                print(
                    f"note: at {rows:,} rows the two sides scored different candidate pairs: a rule of ours "
                    "without a Splink equivalent (rule_mapping null), or more oversized blocks than our "
                    "run reports (it lists the first 20), which Splink then scores",
                    file=sys.stderr,
                )
            if args.spark_submit:
                result["spark_submit"] = run_spark_submit(settings, table, work / f"submit-{rows}")
                result["spark_submit_over_splink"] = round(
                    result["spark_submit"]["seconds"] / result["splink"]["seconds"], 2
                )
            print(json.dumps(result, indent=2), flush=True)
            results[rows] = result
        spark.stop()
    print()
    print(summary_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
