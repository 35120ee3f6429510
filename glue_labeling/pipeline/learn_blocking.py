"""Blocking rules learned from labels, and the probe that shows what blocking still misses.

plan_blocking chooses rules from the data alone (cold start needs that). Once a transform has
labels, they say what each considered rule is worth: the labeled matches it pairs (its use) and
the labeled non-matches it pairs (noise it adds). `learn_rules` then:

  * adds rules that pair labeled matches the default rules miss, by greedy weighted set cover
    over the rules measured but not kept: repeatedly the rule with the most newly covered
    labeled matches per candidate pair it costs, that cost inflated by the share of labeled
    non-matches among the labeled pairs it pairs (1 + share: a rule pairing only non-matches
    besides its new match costs double). It stops when every labeled match some affordable rule
    pairs is covered, or when the learned rules' budget (LEARNED_BUDGET_RULES of the
    data-driven per-rule budget) is spent. Learned rules go after the default ones, so a pair
    a default rule finds keeps its rule; a learned rule's blocks above the cap are dropped as
    any rule's are;
  * drops at most one default rule, the costliest of those the labels show to be pure noise:
    it pairs no labeled match although there are at least NOISE_MIN_MATCHES, and at least
    NOISE_MIN_NON_MATCHES labeled non-matches. At most one, because labels are a few hundred
    pairs chosen near the threshold: they can show a rule to be noise, but a round of them must
    not strip the blocking that cold start relies on.

A labeled pair counts as paired by a rule only if its two records share the rule's key in a
block no larger than the cap (an oversized block is dropped, so it pairs nothing).

`probe_pairs` samples, within a pair budget, the pairs the rules not used would find that
blocking did not propose: the model scores them, and those it calls matches are blocking's
misses, which the labeling set then asks about (sample.py).
"""

from __future__ import annotations

import dataclasses

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import (
    BlockingPlan,
    BlockingRule,
    OversizedBlock,
    RuleCost,
    block_entries,
    block_sizes,
    key_column,
    oversized_blocks,
    oversized_keys,
    pair_budget,
    with_rule_keys,
)
from glue_labeling.pipeline.classify import PairClassifier, featured_pairs, labeled_pair_ids, labeled_pairs_within

# The learned rules together may add this many times the pairs one data-driven rule may: labels
# prove a learned rule finds matches, which a data-driven rule is only hoped to.
LEARNED_BUDGET_RULES = 2.0
NOISE_MIN_MATCHES = 10
NOISE_MIN_NON_MATCHES = 5
# Pairs the probe may sample per input record (the classifier featurizes and scores each).
PROBE_PAIRS_PER_RECORD = 1.0

Pair = tuple[int, int]


@dataclasses.dataclass(frozen=True)
class RuleEvidence:
    """What the labels say about one considered rule."""

    rule: BlockingRule
    cost: RuleCost
    matches: frozenset[Pair]  # the labeled matches it pairs
    non_matches: int  # the labeled non-matches it pairs

    @property
    def non_match_share(self) -> float:
        labeled = len(self.matches) + self.non_matches
        return self.non_matches / labeled if labeled else 0.0

    def weighted_cost(self) -> float:
        return max(self.cost.pairs_capped, 1) * (1.0 + self.non_match_share)

    def report(self, newly_covered: int) -> dict[str, object]:
        return {
            "rule": self.rule.name,
            "labeled_matches_newly_covered": newly_covered,
            "labeled_matches_paired": len(self.matches),
            "labeled_non_matches_paired": self.non_matches,
            "pairs": self.cost.pairs_capped,
        }


@dataclasses.dataclass(frozen=True)
class RuleLearning:
    plan: BlockingPlan  # the default rules, less any dropped, then the learned ones
    learned: list[tuple[RuleEvidence, int]]  # (rule, labeled matches it newly covered), in order taken
    dropped: list[RuleEvidence]
    labeled_matches: int
    covered_by_default: int
    uncovered: int  # labeled matches no rule (default or learned) pairs

    def report(self) -> dict[str, object]:
        return {
            "labeled_matches": self.labeled_matches,
            "covered_by_default_rules": self.covered_by_default,
            "left_uncovered": self.uncovered,
            "learned": [evidence.report(new) for evidence, new in self.learned],
            "dropped": [evidence.report(0) for evidence in self.dropped],
        }


def labeled_agreements(records: DataFrame, rules: list[BlockingRule], labels: DataFrame) -> DataFrame:
    """(id_l, id_r, is_match, rule, key): each labeled pair of `records` (LABELED_PAIRS_SCHEMA
    labels), once per rule under which its two records share a key. Only labeled records are
    keyed: labels are few, so the join is against a broadcast list."""
    ids = labeled_pair_ids(labels).select("id_l", "id_r", "is_match")
    labeled = ids.select(F.col("id_l").alias(RECORD_ID)).union(ids.select("id_r")).distinct()
    keyed = with_rule_keys(records.join(F.broadcast(labeled), RECORD_ID, "left_semi"), rules)
    keys = [key_column(i) for i in range(len(rules))]
    left = keyed.select(F.col(RECORD_ID).alias("id_l"), *[F.col(k).alias(f"{k}_l") for k in keys])
    right = keyed.select(F.col(RECORD_ID).alias("id_r"), *[F.col(k).alias(f"{k}_r") for k in keys])
    shared = F.array(
        *[
            F.when(F.col(f"{k}_l") == F.col(f"{k}_r"), F.struct(F.lit(i).alias("rule"), F.col(f"{k}_l").alias("key")))
            for i, k in enumerate(keys)
        ]
    )
    return (
        ids.join(left, "id_l")
        .join(right, "id_r")
        .select("id_l", "id_r", "is_match", F.explode(shared).alias("shared"))
        .where(F.col("shared").isNotNull())
        .select("id_l", "id_r", "is_match", "shared.rule", "shared.key")
    )


def paired_by_rule(
    records: DataFrame, rules: list[BlockingRule], agreements: DataFrame, max_block_size: int
) -> DataFrame:
    """`agreements` (labeled_agreements) less those whose block is above the cap: one pass over
    the records, counting only the blocks the labeled pairs share."""
    shared = agreements.select("rule", "key").distinct()
    sizes = (
        block_entries(with_rule_keys(records, rules), len(rules))
        .join(F.broadcast(shared), ["rule", "key"], "left_semi")
        .groupBy("rule", "key")
        .agg(F.count(F.lit(1)).alias("size"))
    )
    return agreements.join(sizes.where(F.col("size") <= max_block_size), ["rule", "key"], "left_semi")


def present_matches(records: DataFrame, labels: DataFrame) -> int:
    """The labeled matches whose two records are both in `records`."""
    return labeled_pairs_within(labels, records).where("is_match").count()


def rule_evidence(
    considered: list[tuple[BlockingRule, RuleCost, bool]], paired: list[tuple[int, int, bool, int]]
) -> list[RuleEvidence]:
    """Per considered rule, the labeled pairs it pairs; `paired`: (id_l, id_r, is_match, rule
    index in `considered`)."""
    matches: dict[int, set[Pair]] = {i: set() for i in range(len(considered))}
    non_matches = dict.fromkeys(range(len(considered)), 0)
    for id_l, id_r, is_match, rule in paired:
        if is_match:
            matches[rule].add((id_l, id_r))
        else:
            non_matches[rule] += 1
    return [
        RuleEvidence(rule, cost, frozenset(matches[i]), non_matches[i])
        for i, (rule, cost, _kept) in enumerate(considered)
    ]


def greedy_cover(
    candidates: list[RuleEvidence], covered: frozenset[Pair], budget: float
) -> list[tuple[RuleEvidence, int]]:
    """Weighted set cover of the labeled matches not yet `covered`: (rule, matches it newly
    covers) in the order taken. Each step takes the affordable rule with the most newly covered
    matches per weighted cost (ties: the cheaper, then by name, so the choice is deterministic)."""
    taken: list[tuple[RuleEvidence, int]] = []
    covered_now = set(covered)
    spent = 0
    while True:
        affordable = [c for c in candidates if c.cost.pairs_capped <= budget - spent and c.matches - covered_now]
        if not affordable:
            return taken
        best = min(
            affordable,
            key=lambda c: (-len(c.matches - covered_now) / c.weighted_cost(), c.cost.pairs_capped, c.rule.name),
        )
        taken.append((best, len(best.matches - covered_now)))
        covered_now |= best.matches
        spent += best.cost.pairs_capped


def noise_rule(defaults: list[RuleEvidence], labeled_matches: int) -> RuleEvidence | None:
    """The costliest default rule the labels show to be pure noise (see the module's note), if any."""
    if labeled_matches < NOISE_MIN_MATCHES or len(defaults) < 2:
        return None
    noise = [e for e in defaults if not e.matches and e.non_matches >= NOISE_MIN_NON_MATCHES]
    return max(noise, key=lambda e: (e.cost.pairs_capped, e.rule.name), default=None)


def learn_rules(
    records: DataFrame,
    plan: BlockingPlan,
    labels: DataFrame,
    rows: int,
    accuracy_cost_tradeoff: float,
    max_block_size: int,
) -> RuleLearning:
    """`plan` with rules learned from `labels` added and noise dropped (the module's note);
    `records` are plan_blocking's (normalized, with BAND_KEYS)."""
    rules = [rule for rule, _cost, _kept in plan.considered]
    agreements = labeled_agreements(records, rules, labels)
    paired = [
        (row.id_l, row.id_r, row.is_match, row.rule)
        for row in paired_by_rule(records, rules, agreements, max_block_size).collect()
    ]
    matches = present_matches(records, labels)
    evidence = rule_evidence(plan.considered, paired)
    defaults = [e for e in evidence if e.rule in plan.rules]
    dropped = noise_rule(defaults, matches)
    covered = frozenset().union(*[e.matches for e in defaults])
    budget = LEARNED_BUDGET_RULES * pair_budget(rows, accuracy_cost_tradeoff)
    learned = greedy_cover([e for e in evidence if e.rule not in plan.rules], covered, budget)
    kept = [rule for rule in plan.rules if dropped is None or rule != dropped.rule]
    final = [*kept, *[e.rule for e, _new in learned]]
    all_covered = covered.union(*[e.matches for e, _new in learned])
    return RuleLearning(
        BlockingPlan(final, plan.considered, _oversized(records, plan, final, len(kept), max_block_size)),
        learned,
        [dropped] if dropped else [],
        matches,
        len(covered),
        matches - len(all_covered),
    )


def _oversized(
    records: DataFrame, plan: BlockingPlan, final: list[BlockingRule], defaults: int, max_block_size: int
) -> list[OversizedBlock]:
    """The oversized blocks of the `final` rules: the default rules' as planned (re-indexed),
    and the learned rules' (from `defaults` on) measured now, in one aggregation over them."""
    carried = [
        dataclasses.replace(block, rule=final.index(plan.rules[block.rule]))
        for block in plan.oversized
        if plan.rules[block.rule] in final
    ]
    learned = final[defaults:]
    if not learned:
        return carried
    sizes = block_sizes(with_rule_keys(records, learned), len(learned))
    found = [(defaults + rule, key) for rule, key in oversized_keys(sizes, list(range(len(learned))), max_block_size)]
    return carried + oversized_blocks(records, final, found, max_block_size)


def probe_pairs(
    records: DataFrame,
    plan: BlockingPlan,
    candidates: DataFrame,
    rows: int,
    linkage: bool,
    seed: int,
    max_block_size: int,
) -> DataFrame:
    """(id_l, id_r, rule=-1): a random sample, of about PROBE_PAIRS_PER_RECORD pairs per record,
    of the pairs the considered rules that `plan` does not use would find (blocks above the cap
    left out), less the `candidates` (id_l, id_r). The sample is of records, by a hash with
    `seed`: each sampled record (of table 0 when linking) brings every pair it is in, so the
    cost is bounded without ever listing the unsampled pairs."""
    unused = [(rule, cost) for rule, cost, _kept in plan.considered if rule not in plan.rules]
    total = sum(cost.pairs_capped for _rule, cost in unused)
    if total == 0:
        return candidates.sparkSession.createDataFrame([], "id_l long, id_r long, rule int")
    # A dedup pair is found from either of its two records, so the fraction is halved there.
    share = min(1.0, PROBE_PAIRS_PER_RECORD * rows / (total if linkage else 2 * total))
    probe_rules = [rule for rule, _cost in unused]
    entries = block_entries(with_rule_keys(records, probe_rules), len(probe_rules))
    sizes = entries.groupBy("rule", "key").agg(F.count(F.lit(1)).alias("size"))
    entries = entries.join(sizes.where(F.col("size") <= max_block_size), ["rule", "key"], "left_semi")
    draw = (F.xxhash64(F.col(RECORD_ID), F.lit(seed)) % 1_000_000).cast("double") / 1_000_000
    sampled = entries.where((F.abs(draw) < share) & ((F.col(SOURCE) == 0) if linkage else F.lit(True)))
    left = sampled.select(F.col(RECORD_ID).alias("a"), F.col(SOURCE).alias("source_a"), "rule", "key")
    right = entries.select(F.col(RECORD_ID).alias("b"), F.col(SOURCE).alias("source_b"), "rule", "key")
    pairs = left.join(right, ["rule", "key"])
    if linkage:
        pairs = pairs.where(F.col("source_b") == 1).select(F.col("a").alias("id_l"), F.col("b").alias("id_r"))
    else:
        pairs = pairs.where(F.col("a") != F.col("b")).select(
            F.least("a", "b").alias("id_l"), F.greatest("a", "b").alias("id_r")
        )
    return (
        pairs.distinct()
        .join(candidates.select("id_l", "id_r"), ["id_l", "id_r"], "left_anti")
        .withColumn("rule", F.lit(-1))
    )


def missed_matches(
    records: DataFrame,
    plan: BlockingPlan,
    candidates: DataFrame,
    classifier: PairClassifier,
    threshold: float,
    rows: int,
    linkage: bool,
    seed: int,
    max_block_size: int,
) -> tuple[DataFrame, int]:
    """(id_l, id_r, match_score) of the probe pairs (probe_pairs) the classifier calls matches,
    and how many pairs were probed (the report's denominator: none missed of how many)."""
    probe = probe_pairs(records, plan, candidates, rows, linkage, seed, max_block_size)
    # Checkpointed before scoring, as score_supervised checkpoints the candidates' features.
    featured = featured_pairs(probe, records, classifier.features).localCheckpoint()
    scored = classifier.with_match_score(featured)
    return scored.where(F.col("match_score") >= threshold).select("id_l", "id_r", "match_score"), featured.count()
