"""Spark job: run a FindMatches transform over its input tables, writing them with `match_id`.

    spark-submit jobs/find_matches.py --transform-id tfm-... --output-path s3://bucket/matched/

The work is in glue_labeling.find_matches; from your own Spark job call
`glue_labeling.find_matches.apply(spark, frame, transform_id)` instead.
"""

from __future__ import annotations

import sys

from glue_labeling.find_matches import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
