"""FindMatchesMetrics from held-out labeled pairs: which pairs are held out, and the figures.

Pure Python on a few hundred (score, answer) pairs: the evaluation job collects them to the
driver. Nothing here knows about Spark.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence

# One labeled pair in this many is held out for testing.
TEST_SHARE_DENOMINATOR = 4


def is_held_out(left_source: int, left_key: str, right_source: int, right_key: str) -> bool:
    """Deterministic split: a pair is held out by a hash of its records, so evaluating the same
    labels twice gives the same figures, and a new label does not move old pairs across."""
    pair = f"{left_source}\x1f{left_key}\x1e{right_source}\x1f{right_key}".encode()
    return zlib.crc32(pair) % TEST_SHARE_DENOMINATOR == 0


def area_under_pr_curve(scored: Sequence[tuple[float, bool]]) -> float:
    """Average precision: the precision at each threshold weighted by the recall it adds, pairs
    of equal score taken together (the step-wise area, without the optimistic interpolation of
    the trapezoid rule)."""
    positives = sum(1 for _score, is_match in scored if is_match)
    if positives == 0:
        return 0.0
    by_score: dict[float, list[int]] = {}
    for score, is_match in scored:
        counts = by_score.setdefault(score, [0, 0])
        counts[0 if is_match else 1] += 1
    area, true_positives, predicted = 0.0, 0, 0
    for score in sorted(by_score, reverse=True):
        matches, non_matches = by_score[score]
        true_positives += matches
        predicted += matches + non_matches
        area += (matches / positives) * (true_positives / predicted)
    return area


def find_matches_metrics(
    scored: Iterable[tuple[float, bool]], threshold: float, importances: Mapping[str, float]
) -> dict[str, object]:
    """botocore's FindMatchesMetrics for pairs (match probability, labeled a match), a pair
    predicted a match at `threshold` or above."""
    pairs = list(scored)
    tp = sum(1 for score, is_match in pairs if score >= threshold and is_match)
    fp = sum(1 for score, is_match in pairs if score >= threshold and not is_match)
    fn = sum(1 for score, is_match in pairs if score < threshold and is_match)
    tn = len(pairs) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "AreaUnderPRCurve": area_under_pr_curve(pairs),
        "Precision": precision,
        "Recall": recall,
        "F1": f1,
        "ConfusionMatrix": {
            "NumTruePositives": tp,
            "NumFalsePositives": fp,
            "NumTrueNegatives": tn,
            "NumFalseNegatives": fn,
        },
        "ColumnImportances": [{"ColumnName": name, "Importance": share} for name, share in importances.items()],
    }
