"""Sample: choose the uncertain neighbourhoods a person should label, packed into labeling sets.

A labeling set answers AWS's question "how should these rows be grouped into groups of
matching records?", so each set is built from anchor groups: an anchor record and its
strongest candidate neighbours. One answer then labels every pair inside the group.

Anchors are drawn by a configurable mix: mostly from pairs nearest the decision threshold
(where a label teaches the most), some spread across score bands (so the model sees the whole
range), a little at random (exploration). Once labels have trained a classifier, two more
sources take a share each:
  * disputed pairs: those the classifier and the unsupervised model decide differently
    (`rival_score`, classify.with_classifier_in), each kind of disagreement in turn. Only they
    separate the two models, and "near the threshold" misses the ones where either is sure: on
    generated data with households and moved people, the unsupervised model was sure that moved
    people's duplicates (half their columns changed) were not matches and the classifier sure
    they were, and no boundary anchor ever asked. Their answers are what choose_model needs to
    hand the classifier a region, or to retrain it where it is wrong;
  * when the classifier decides, the pairs it would call matches that blocking misses
    (learn_blocking.probe_pairs): only a label can show blocking a match it does not find, and
    the rules learned from labels are how blocking finds them next time.
An anchor's neighbours are ranked by the likelier of the two models' scores, so a disputed
pair's other record is in its group. At most one anchor per component, no record twice in one
run. Spark ranks and filters; only the bounded short list (a few hundred anchors and their
neighbours) reaches the driver, where groups are packed into sets deterministically.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StructField, StructType
from pyspark.sql.window import Window, WindowSpec

from glue_labeling.pipeline.classify import RIVAL_SCORE, score_region, unsupervised_score
from glue_labeling.pipeline.jvm import jvm_frame
from glue_labeling.pipeline.literals import column_in
from glue_labeling.spark import driver_frame

MAX_ROWS_PER_SET = 50  # AWS: sets above 50 rows "may cause poor results or system failure"


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    sets: int = 10
    min_rows: int = 10
    max_rows: int = 20
    boundary_share: float = 0.7
    band_share: float = 0.2
    seed: int = 17
    bands: int = 5
    # An anchor group is the anchor and its strongest neighbours, up to this many rows, so a set
    # holds two or three groups: matches within groups, clear non-matches across them.
    max_group_rows: int = 6
    # Neighbours an anchor group takes beyond its strongest: those at least this likely to
    # match. Clear non-matches teach little, and padding groups with them would bury the
    # matches a first round must show.
    neighbour_floor: float = 0.01
    # Share of anchors from `missed` pairs (sample_labeling_sets), taken from the other sources
    # in proportion; only when such pairs are given.
    missed_share: float = 0.1
    # Share of anchors from disputed pairs, likewise; only when the pairs carry RIVAL_SCORE. On
    # 10,000 generated records with households and moved people (3 sets a round), 0.2 never
    # handed the classifier the region of moved people in three rounds (F1 0.82-0.94), 0.4 did
    # in the third (0.9866; in the second, 0.9675, once _disputed_anchors took the kinds by the
    # unsupervised model's region); FEBRL, with few disputes, stayed at 0.9999-1.0 either way.
    disputed_share: float = 0.4

    def __post_init__(self) -> None:
        # min_rows < max_rows leaves room for a group of two in any set not yet full.
        if not 2 <= self.min_rows < self.max_rows <= MAX_ROWS_PER_SET:
            raise ValueError(f"need 2 <= min_rows < max_rows <= {MAX_ROWS_PER_SET}")
        if min(self.missed_share, self.disputed_share) < 0 or self.missed_share + self.disputed_share >= 1:
            raise ValueError("need missed_share >= 0, disputed_share >= 0 and missed_share + disputed_share < 1")


def _ranked_anchors(
    scored: DataFrame, threshold: float, config: SamplingConfig, excluded: frozenset[int], missed: DataFrame | None
) -> list[int]:
    """Anchor ids in the order the mix wants them: boundary, bands, exploration (and disputed
    and missed pairs, if any) interleaved."""
    # More than needed: some are skipped as duplicates or used records, and groups of likely
    # matches are small (two or three rows), so a set takes several.
    wanted = config.sets * 12
    ends = (
        scored.select(F.col("id_l").alias("id"), "match_score")
        .unionByName(scored.select(F.col("id_r").alias("id"), "match_score"))
        # A pair without a score says nothing of its records' distance or best.
        .where(~column_in("id", excluded) & F.col("match_score").isNotNull())
    )
    per_record = (
        score_extremes(ends, threshold)
        .withColumn("tiebreak", F.xxhash64("id", F.lit(config.seed)))
        .cache()  # three rankings read it; without this the shuffle-heavy aggregation runs three times
    )
    boundary = [r.id for r in per_record.orderBy("distance", "tiebreak").limit(wanted).collect()]
    band = F.least(F.floor(F.col("best") * config.bands), F.lit(config.bands - 1))
    banded = [
        r.id
        for r in per_record.withColumn("band", band)
        .withColumn("rank", F.row_number().over(_band_window()))
        .where(F.col("rank") <= wanted // config.bands + 1)
        .orderBy("rank", "band")
        .collect()
    ]
    explore = [r.id for r in per_record.orderBy("tiebreak").limit(wanted).collect()]
    per_record.unpersist()
    sources = [boundary, banded, explore]
    shares = [config.boundary_share, config.band_share, 1.0 - config.boundary_share - config.band_share]
    extra: list[tuple[list[int], float]] = []
    if RIVAL_SCORE in scored.columns and config.disputed_share > 0:
        extra.append((_disputed_anchors(scored, threshold, config, excluded, wanted), config.disputed_share))
    if missed is not None:
        extra.append((_missed_anchors(missed, config, excluded, wanted), config.missed_share))
    taken = sum(share for _, share in extra)
    sources += [anchors for anchors, _ in extra]
    shares = [share * (1.0 - taken) for share in shares] + [share for _, share in extra]
    return interleave(sources, shares)


def score_extremes(ends: DataFrame, threshold: float) -> DataFrame:
    """(id, distance, best) once per record of `ends` (id, match_score, never null): the
    distance from the threshold of the record's score nearest it, and its highest score. A JVM function
    (ScoreExtremes.java) over the ends partitioned by record: on the 11.6M ends of 1M generated
    records' pairs it took 1.1-1.7 s against 2.3-3.6 s for Spark's groupBy with min and max,
    side by side, whose partial aggregation before the shuffle saved little."""
    return jvm_frame(
        ends.repartition("id"),
        "io.gluelabeling.ScoreExtremes",
        "extremes",
        StructType(
            [StructField("id", LongType()), StructField("distance", DoubleType()), StructField("best", DoubleType())]
        ),
        float(threshold),
    )


def _disputed_anchors(
    scored: DataFrame, threshold: float, config: SamplingConfig, excluded: frozenset[int], wanted: int
) -> list[int]:
    """One record of each pair the two models decide differently, taken in turn from each kind
    of disagreement (the region of the unsupervised model's score, which choose_model judges
    apart, and whether the deciding model calls it a match), in a seeded random order within a
    kind. The answers judge each kind apart: at random over all disputes, the kind with the most
    pairs would take every question (on generated households, 4,504 strangers the first
    classifier matched against 958 moved people it alone found). Kinds by the region of the
    deciding score instead put, after the first round on 10,000 such records, the 827 moved
    people's pairs the classifier alone matched (unsupervised score below 0.01) with the 4,586
    household members it took from the unsupervised model's sure matches (its own score below
    0.01): the second round asked 23 pairs of the household members and 3 of the moved people,
    short of the wins that hand the classifier their region."""
    disputed = (F.col("match_score") >= threshold) != (F.col(RIVAL_SCORE) >= threshold)
    kind = F.concat_ws(":", score_region(unsupervised_score()), (F.col("match_score") >= threshold).cast("string"))
    order = F.xxhash64("id_l", "id_r", F.lit(config.seed))
    rows = (
        _without(scored.where(disputed), excluded)
        .withColumn("turn", F.row_number().over(Window.partitionBy(kind).orderBy(order)))
        .where(F.col("turn") <= wanted)
        .orderBy("turn", kind)
        .limit(wanted)
        .collect()
    )
    return [r.id_l for r in rows]


def _missed_anchors(missed: DataFrame, config: SamplingConfig, excluded: frozenset[int], wanted: int) -> list[int]:
    """One record of each missed pair, likeliest matches first: the pair is then its group."""
    return [
        r.id_l
        for r in _without(missed, excluded)
        .orderBy(F.desc("match_score"), F.xxhash64("id_l", "id_r", F.lit(config.seed)))
        .limit(wanted)
        .collect()
    ]


def _without(pairs: DataFrame, excluded: frozenset[int]) -> DataFrame:
    """`pairs` less those with an excluded record."""
    return pairs.where(~column_in("id_l", excluded) & ~column_in("id_r", excluded))


def interleave(sources: list[list[int]], shares: list[float]) -> list[int]:
    """Merge ranked lists so that every prefix holds each source in about its share: at each
    step take from the source furthest behind its share (ties to the earlier source)."""
    ordered: list[int] = []
    pointers = [0] * len(sources)
    while True:
        open_sources = [i for i, source in enumerate(sources) if pointers[i] < len(source)]
        if not open_sources:
            return ordered
        step = len(ordered) + 1
        pick = max(open_sources, key=lambda i: (shares[i] * step - pointers[i], -i))
        ordered.append(sources[pick][pointers[pick]])
        pointers[pick] += 1


def _band_window() -> WindowSpec:
    return Window.partitionBy("band").orderBy("tiebreak")


def pack_labeling_sets(
    anchors: list[int],
    neighbours: dict[int, list[tuple[int, float]]],
    component_of: dict[int, int],
    config: SamplingConfig,
    excluded: frozenset[int] = frozenset(),
) -> list[list[int]]:
    """Greedy, deterministic packing of anchor groups into sets of min_rows..max_rows ids."""
    used: set[int] = set(excluded)
    used_components: set[int] = set()
    sets: list[list[int]] = []
    current: list[int] = []
    for anchor in anchors:
        if len(sets) == config.sets:
            break
        component = component_of.get(anchor, anchor)
        if anchor in used or component in used_components:
            continue
        room = config.max_rows - len(current)
        group = [anchor]
        for neighbour, _score in neighbours.get(anchor, []):
            if len(group) >= min(room, config.max_group_rows):
                break
            if neighbour not in used and neighbour not in group:
                group.append(neighbour)
        if len(group) < 2:
            continue
        if len(group) > room:
            sets.append(current)
            current = []
        current.extend(group)
        used.update(group)
        used_components.add(component)
        if len(current) >= config.min_rows:
            sets.append(current)
            current = []
    if len(current) >= 2 and len(sets) < config.sets:
        sets.append(current)
    return [s for s in sets if s]


def sample_labeling_sets(
    spark: SparkSession,
    scored: DataFrame,
    components: DataFrame,
    threshold: float,
    config: SamplingConfig,
    excluded: frozenset[int] = frozenset(),
    missed: DataFrame | None = None,
) -> DataFrame:
    """(labeling_set_id, _gl_id) for the chosen records; `excluded` records (shown in an earlier
    round) are neither anchors nor neighbours. `scored`: (id_l, id_r, match_score[,
    RIVAL_SCORE, CLASSIFIER_DECIDES]); with RIVAL_SCORE a share of the anchors
    (config.disputed_share) comes from the pairs it disputes. `missed`: pairs (id_l, id_r, match_score) that
    are not in `scored`, scored by the same model at or above the threshold; a share of the
    anchors (config.missed_share) comes from them, and they count as the anchors' neighbours."""
    anchors = list(dict.fromkeys(_ranked_anchors(scored, threshold, config, excluded, missed)))  # first place of each
    # The likelier of the two models' scores, where there are two: a pair either would call a
    # match is worth showing, and a disputed anchor's group must hold the pair it was drawn for.
    likeliest = F.greatest("match_score", RIVAL_SCORE) if RIVAL_SCORE in scored.columns else F.col("match_score")
    pairs = scored.select("id_l", "id_r", likeliest.alias("match_score"))
    if missed is not None:
        pairs = pairs.unionByName(missed.select("id_l", "id_r", "match_score"))
    # The anchors' pairs are picked out before each pair is turned both ways: a few hundred
    # anchors hold a few thousand of the millions of pairs (at 1M generated records, five times
    # side by side: the stage took 5.2-5.7 s against 5.4-5.9 s turning every pair).
    near = pairs.where(column_in("id_l", anchors) | column_in("id_r", anchors))
    edges = near.select(F.col("id_l").alias("anchor"), F.col("id_r").alias("other"), "match_score").unionByName(
        near.select(F.col("id_r").alias("anchor"), F.col("id_l").alias("other"), "match_score")
    )
    rows = (
        edges.where(column_in("anchor", anchors))
        .withColumn(
            "rank",
            F.row_number().over(_neighbour_window()),
        )
        .where(
            (F.col("rank") == 1)
            | ((F.col("rank") <= MAX_ROWS_PER_SET) & (F.col("match_score") >= config.neighbour_floor))
        )
        .collect()
    )
    neighbours: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.anchor, r.rank)):
        neighbours[row.anchor].append((row.other, row.match_score))
    involved = set(anchors) | {other for pairs in neighbours.values() for other, _ in pairs}
    wanted = driver_frame(spark, pd.DataFrame({"id": sorted(involved)}, dtype="int64"), "id long")
    component_rows = components.join(F.broadcast(wanted), "id").collect()
    component_of = {row.id: row.component for row in component_rows}
    sets = pack_labeling_sets(anchors, neighbours, component_of, config, excluded)
    chosen = [(f"set-{n:03d}", record) for n, members in enumerate(sets, start=1) for record in members]
    return driver_frame(
        spark,
        pd.DataFrame(chosen, columns=["labeling_set_id", "_gl_id"]).astype({"_gl_id": "int64"}),
        "labeling_set_id string, _gl_id long",
    )


def _neighbour_window() -> WindowSpec:
    return Window.partitionBy("anchor").orderBy(F.desc("match_score"), "other")
