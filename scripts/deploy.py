"""Deploy glue-labeling for the EMR, EMR Serverless and Glue launchers.

    .venv/bin/python scripts/deploy.py s3://my-bucket/glue-labeling/bundle \\
        --state-uri s3://my-bucket/glue-labeling/state \\
        --glue-job-name glue-labeling --glue-role-arn arn:aws:iam::123456789012:role/glue-labeling-job

Builds the wheel, uploads the job bundle (jobs/, the wheel, conf/) under the S3 prefix, creates
or updates the Glue job when --glue-job-name is given, and prints the settings for each launcher.
AWS credentials and region come from boto3's usual chain. See README, "Running on AWS".
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import boto3

from glue_labeling.deploy import (
    GLUE_VERSIONS,
    TARGETS,
    GlueJobSpec,
    build_wheel,
    bundle_files,
    deploy_glue_job,
    launcher_settings,
    render_settings,
    upload_bundle,
)
from glue_labeling.launchers.emr import SIMILARITY_JAR
from glue_labeling.settings import load_settings


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    defaults = GlueJobSpec(name="", role_arn="")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("bundle_uri", help="S3 prefix to upload the bundle to (becomes job_bundle_uri)")
    parser.add_argument("--endpoint-url", default=None, help="S3 endpoint, e.g. a local S3 server")
    parser.add_argument("--region", default=None, help="AWS region of S3 and Glue (default: boto3's chain)")
    parser.add_argument("--state-uri", default="", help="S3 prefix of the ledger, registry and catalog tables")
    parser.add_argument("--glue-job-name", default="", help="create or update this Glue job")
    parser.add_argument("--glue-role-arn", default="", help="the Glue job's role (needed to create it)")
    parser.add_argument("--glue-version", choices=GLUE_VERSIONS, default=defaults.glue_version)
    parser.add_argument("--glue-worker-type", default=defaults.worker_type)
    parser.add_argument("--glue-number-of-workers", type=int, default=defaults.number_of_workers)
    parser.add_argument("--glue-max-concurrent-runs", type=int, default=defaults.max_concurrent_runs)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_arguments(argv)
    s3 = boto3.client("s3", endpoint_url=args.endpoint_url, region_name=args.region)
    with tempfile.TemporaryDirectory(prefix="glue-labeling-deploy-") as scratch:
        wheel = build_wheel(Path(scratch))
        similarity_jar = Path(load_settings().jars_dir) / SIMILARITY_JAR
        bundle = upload_bundle(s3, args.bundle_uri, bundle_files(wheel, similarity_jar))
    print(f"uploaded {len(bundle.keys)} files to {bundle.uri}/ (wheel {bundle.wheel_uri})")
    if args.glue_job_name:
        spec = GlueJobSpec(
            name=args.glue_job_name,
            role_arn=args.glue_role_arn,
            glue_version=args.glue_version,
            worker_type=args.glue_worker_type,
            number_of_workers=args.glue_number_of_workers,
            max_concurrent_runs=args.glue_max_concurrent_runs,
        )
        outcome = deploy_glue_job(boto3.client("glue", region_name=args.region), spec, bundle)
        print(f"Glue job {spec.name!r} {outcome} (Glue {spec.glue_version}, script {bundle.script_uri})")
    settings = launcher_settings(bundle, args.state_uri, args.glue_job_name, args.region or "")
    for target in TARGETS:
        print()
        print(render_settings(target, settings[target], bundle))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
