#!/usr/bin/env python
"""Generate synthetic person records with realistic duplicates, plus ground truth.

Why this exists: FindMatches-style matching needs data whose duplicates are messy in the way real
data is (typos, swapped names, abbreviations, missing values, reformatted phones, transposed dates)
and whose true matches are known, at sizes from a few rows up to ~10M rows. Everything is built
from ``spark.range(n)`` with column expressions, so generation scales with the cluster and never
loops over rows in Python.

Why hash-based randomness: every random draw is ``xxhash64(seed, salt, key)`` mapped to [0, 1).
Unlike ``F.rand(seed)``, which depends on the partition layout, this gives byte-identical output
for the same ``n_records``/``seed``/``duplicate_rate`` on any number of cores or partitions. It
also lets a duplicate re-derive its entity's clean attributes from the entity index alone (the key
is the entity index), so no join between originals and duplicates is needed.

Harder data (both off by default, so the default output never changes): ``household_rate`` makes
that share of the entities members of another entity's household, sharing its surname, address
and phone but not its given name, date of birth or email (strangers that look alike: the false
positives an unsupervised model makes); ``moved_rate`` gives that share of the duplicates a new
address and phone, keeping the person's name, date of birth and email (true matches that differ
in half their columns: the false negatives). FEBRL has neither, which is why it is easy.

Layout: rows ``0 .. entities-1`` are the originals (entity index = row id); the remaining rows are
duplicates, assigned to entities by a deterministic plan (1..4 duplicates per duplicated entity,
skewed towards 1) and an affine permutation that spreads them over the entities. Record ids are an
affine permutation of the row id, and the output is sorted by a seeded hash, so neither the ids nor
the row order give away (at a glance) which rows belong together.

CLI::

    python scripts/generate_sample_data.py --rows 100000 --seed 42 --output /tmp/sample \\
        [--format csv|parquet|delta] [--duplicate-rate 0.3]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

RECORD_COLUMNS: tuple[str, ...] = (
    "record_id",
    "given_name",
    "surname",
    "street_number",
    "address",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "phone",
    "email",
)
TRUTH_COLUMNS: tuple[str, ...] = ("record_id", "entity_id")


def _words(text: str) -> tuple[str, ...]:
    """Whitespace-separated words: keeps the long literal pools compact in the source."""
    return tuple(text.split())


# --------------------------------------------------------------------------------------------
# Value pools. Ordered roughly most-common first: choices are skewed towards the head of each
# list, so common names are common (which is what makes blocking and matching hard).
# --------------------------------------------------------------------------------------------
GIVEN_NAMES: tuple[str, ...] = _words(
    """
    John Sarah David Michelle Michael Jennifer Peter Lisa Robert Karen Mark Susan Paul Jessica James
    Emma Andrew Emily Christopher Olivia Daniel Charlotte Matthew Amelia Stephen Mary Anthony Isla
    Richard Mia Jason Ava Thomas Grace William Chloe Joshua Sophie Benjamin Hannah Ryan Lily Luke
    Zoe Scott Ruby Nathan Ella Adam Matilda Steven Georgia Brian Isabella Kevin Harper Gary Sienna
    Wayne Jacqueline Craig Rebecca Shane Rachel Darren Nicole Glenn Kylie Brett Melissa Jack Amanda
    Oliver Kimberley Noah Natalie Liam Samantha Ethan Elizabeth Lucas Margaret Henry Patricia
    Samuel Linda Alexander Barbara Harrison Helen Cooper Dorothy Lachlan Joan Riley Betty Jayden
    Shirley Dylan Judith Mitchell Carol Callum Julie Hamish Deborah Angus Kathleen Patrick
    Christine George Wendy Charles Leanne Edward Tracey Frederick Belinda Harold Catherine Raymond
    Anna Kenneth Laura Keith Hayley Graham Jade Ian Madison Neil Alyssa Trevor Priya Barry Mei Colin
    Linh Dennis Aisha Mohammed Fatima Ahmed Yuki Wei Sofia Minh Maria Raj Elena Arjun Alice Hiroshi
    Claire Marco Fiona Giuseppe Heather Nikolaos Joanne Declan Lauren
    """
)
SURNAMES: tuple[str, ...] = _words(
    """
    Smith Jones Williams Brown Wilson Taylor Johnson White Martin Anderson Thompson Nguyen Thomas
    Walker Harris Lee Ryan Robinson Kelly King Davis Wright Evans Roberts Green Hall Wood Jackson
    Clarke Patel Khan Lewis James Phillips Mitchell Turner Campbell Young Scott Edwards Baker Allen
    Stewart Hill Moore Cooper Ward Morris Murphy Hughes Graham Tran Clark Mills Collins Wang Adams
    Kennedy Bell Cook Russell Marshall Murray Ross Watson Ellis Hunt Reid Kaur Singh Chen Ali Hayes
    Miller Stevens Rogers Morgan Gray Harrison Simpson Palmer Richardson Owen Shaw Lloyd Fraser
    Carter Bailey Webb Holmes Chapman Barnes Walsh Parker Dixon Hamilton Grant Pham Le Zhang Liu
    Kim Park Sharma Gupta Rossi Russo Ferrari Papadopoulos Nikolaidis Kowalski Novak Schmidt Muller
    Fischer Weber Becker Jansen Dekker Silva Santos Pereira Costa Garcia Martinez Lopez Gonzalez
    Hernandez O'Brien O'Connor O'Neill McDonald McKenzie McLean MacDonald Sullivan Doyle Byrne
    Gallagher Quinn Brennan Nolan Burke Lynch Fitzgerald Dunn Gibson Knight Spencer Mason Payne
    Stone Foster Hart Fox Jenkins Powell Perry Butler Barker Page Riley Lawrence Dean Cole Holland
    Armstrong Black Matthews Chambers Fletcher Howard Sutton Hudson Bates Day Ford Lane Pearce
    Bishop Curtis Hanson Peters Wells Abbott Sinclair Barrett Tucker Newman Atkinson Cameron Duncan
    Gordon Ferguson Henderson Hamid Rahman Hussain Ahmed Ibrahim Haddad Nassar Yilmaz Demir Ivanov
    Petrov Kovac Horvat Nielsen Larsen Andersen Berg Lindqvist Okafor Mensah Tanaka Suzuki Sato
    Watanabe Ito Cheng Huang Zhao Wu Zhou Xu Sun Ma Lam Wong Chan Ho Yeung Vo Dang Bui Do Ngo Ly
    Smith-Jones Worthington Fairweather Blackwood Ashworth
    """
)
STREET_NAMES: tuple[str, ...] = _words(
    """
    High Church Station Victoria George King Queen Park Main Railway Albert William Pacific Bridge
    Mill Hill Water Forest Beach River Ocean Wattle Banksia Acacia Jacaranda Grevillea Boronia
    Waratah Macquarie Bourke Collins Flinders Elizabeth Oxford Cambridge Regent Prince Edward Anzac
    Kent York Gordon Stirling Hay Murray Darling Chapel Lonsdale Swanston Lygon Sydney Hunter
    Charlotte Brunswick Glenferrie
    """
)
# (full street type, abbreviation): the abbreviation corruption maps one to the other.
STREET_TYPES: tuple[tuple[str, str], ...] = (
    ("Street", "St"),
    ("Road", "Rd"),
    ("Avenue", "Ave"),
    ("Drive", "Dr"),
    ("Court", "Ct"),
    ("Place", "Pl"),
    ("Crescent", "Cres"),
    ("Parade", "Pde"),
    ("Lane", "Ln"),
    ("Terrace", "Tce"),
    ("Close", "Cl"),
    ("Highway", "Hwy"),
    ("Boulevard", "Blvd"),
)
# "suburb:state:postcode;" so a suburb always comes with its own state and postcode (real data is
# internally consistent; corruptions are what break it). NT postcodes have a leading zero on purpose.
_SUBURB_SPEC = """
Parramatta:NSW:2150;Blacktown:NSW:2148;Bondi:NSW:2026;Chatswood:NSW:2067;Penrith:NSW:2750;
Liverpool:NSW:2170;Richmond:VIC:3121;Newtown:NSW:2042;St Kilda:VIC:3182;Southport:QLD:4215;
Manly:NSW:2095;Fitzroy:VIC:3065;Hornsby:NSW:2077;Brunswick:VIC:3056;Fremantle:WA:6160;
Surry Hills:NSW:2010;Footscray:VIC:3011;Toowoomba:QLD:4350;Glenelg:SA:5045;Randwick:NSW:2031;
Box Hill:VIC:3128;Cairns:QLD:4870;Joondalup:WA:6027;Hobart:TAS:7000;Belconnen:ACT:2617;
Wollongong:NSW:2500;Frankston:VIC:3199;Townsville:QLD:4810;Norwood:SA:5067;Darwin:NT:0800;
Newcastle:NSW:2300;Dandenong:VIC:3175;Fortitude Valley:QLD:4006;Subiaco:WA:6008;
Launceston:TAS:7250;Tuggeranong:ACT:2900;Gosford:NSW:2250;Geelong:VIC:3220;Indooroopilly:QLD:4068;
Elizabeth:SA:5112;Rockingham:WA:6168;Palmerston:NT:0830;Orange:NSW:2800;Ballarat:VIC:3350;
Ipswich:QLD:4305;Gungahlin:ACT:2912;Dubbo:NSW:2830;Bendigo:VIC:3550;Caboolture:QLD:4510;
Bunbury:WA:6230;Mount Gambier:SA:5290;Devonport:TAS:7310;Bathurst:NSW:2795;Werribee:VIC:3030;
Mackay:QLD:4740;Midland:WA:6056;Prospect:SA:5082;Alice Springs:NT:0870;Wagga Wagga:NSW:2650;
Carlton:VIC:3053;Bundaberg:QLD:4670;Scarborough:WA:6019;Salisbury:SA:5108;Kingston:ACT:2604;
Tamworth:NSW:2340;Hawthorn:VIC:3122;Sandy Bay:TAS:7005;Casuarina:NT:0810;Albury:NSW:2640
"""
SUBURBS: tuple[tuple[str, str, str], ...] = tuple(
    (name.strip(), state, postcode)
    for name, state, postcode in (
        entry.split(":") for entry in _SUBURB_SPEC.replace("\n", "").split(";") if entry.strip()
    )
)
STATE_AREA_CODE: dict[str, str] = {
    "NSW": "02", "ACT": "02", "VIC": "03", "TAS": "03", "QLD": "07", "SA": "08", "WA": "08", "NT": "08",
}  # fmt: skip
EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "hotmail.com", "outlook.com", "yahoo.com.au", "bigpond.com", "icloud.com",
    "optusnet.com.au", "live.com.au",
)  # fmt: skip

# Corruptions a duplicate can receive (1-3 of them, distinct, weighted sampling without replacement).
CORRUPTIONS: tuple[tuple[str, float], ...] = (
    ("typo", 3.0),
    ("swap_names", 1.0),
    ("missing", 2.0),
    ("abbreviate", 2.0),
    ("case_whitespace", 1.5),
    ("phone_format", 1.5),
    ("dob_transpose", 1.0),
    ("postcode_typo", 1.0),
)
# Field nulled by the "missing" corruption, with relative weights (contact details go missing most).
MISSING_FIELDS: tuple[tuple[str, float], ...] = (
    ("given_name", 1.0),
    ("surname", 0.5),
    ("street_number", 1.0),
    ("address", 0.7),
    ("suburb", 0.8),
    ("postcode", 1.0),
    ("state", 0.8),
    ("date_of_birth", 1.0),
    ("phone", 1.5),
    ("email", 1.5),
)
# Duplicates per duplicated entity: P(1), P(2), P(3), P(4) -- most entities that have duplicates
# have only one, a few have many.
DUPLICATE_COUNT_WEIGHTS: tuple[float, ...] = (0.55, 0.25, 0.13, 0.07)
MAX_DUPLICATES_PER_ENTITY = len(DUPLICATE_COUNT_WEIGHTS)
DOB_START = "1940-01-01"
DOB_SPAN_DAYS = 24_100  # up to about mid-2005
MAX_ROWS = 3_000_000_000  # keeps the affine permutations (a * id) inside a signed 64-bit long
_TWO_POW_53 = float(1 << 53)
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


# --------------------------------------------------------------------------------------------
# Duplicate plan (tiny, computed on the driver)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DuplicatePlan:
    """How many rows are originals and how the duplicates are spread over entities.

    ``groups`` is a list of ``(duplicates_per_entity, number_of_entities)``; the duplicate rows are
    laid out group after group, ``duplicates_per_entity`` consecutive rows per entity. Keeping this
    on the driver makes entity/pair counts exact and free to compute (no Spark job needed).
    """

    n_records: int
    entities: int
    duplicates: int
    groups: tuple[tuple[int, int], ...]

    @property
    def true_pairs(self) -> int:
        """Number of unordered record pairs that refer to the same entity: sum of C(size, 2)."""
        return sum(m * (c + 1) * c // 2 for c, m in self.groups)

    @property
    def duplicated_entities(self) -> int:
        """Entities that have at least one duplicate."""
        return sum(m for _, m in self.groups)


def plan_duplicates(n_records: int, duplicate_rate: float = 0.3) -> DuplicatePlan:
    """Split ``n_records`` into originals and duplicates (1..4 per entity, skewed to 1).

    Why exact and not sampled: the number of rows must be exactly ``n_records``, and testers need
    exact entity and true-pair counts to check matching output against.
    """
    if n_records < 0 or n_records > MAX_ROWS:
        raise ValueError(f"n_records must be in [0, {MAX_ROWS}], got {n_records}")
    if not 0.0 <= duplicate_rate < 1.0:
        raise ValueError(f"duplicate_rate must be in [0, 1), got {duplicate_rate}")
    entities = n_records - round(n_records * duplicate_rate)
    if n_records > 0:
        entities = max(1, entities)
    duplicates = n_records - entities
    if duplicates > MAX_DUPLICATES_PER_ENTITY * entities:
        max_rate = MAX_DUPLICATES_PER_ENTITY / (MAX_DUPLICATES_PER_ENTITY + 1)
        raise ValueError(
            f"duplicate_rate {duplicate_rate} needs more than {MAX_DUPLICATES_PER_ENTITY} duplicates "
            f"per entity; use at most {max_rate}"
        )
    if duplicates == 0:
        return DuplicatePlan(n_records, entities, 0, ())

    mean = sum((i + 1) * w for i, w in enumerate(DUPLICATE_COUNT_WEIGHTS))
    m_total = math.ceil(duplicates / mean)
    counts = {c: math.floor(m_total * DUPLICATE_COUNT_WEIGHTS[c - 1]) for c in range(2, 5)}
    # Entities with one duplicate absorb the rounding, so the row total is exact (never negative:
    # the larger groups use at most ~68% of the duplicate rows).
    counts[1] = duplicates - sum(c * m for c, m in counts.items())
    if sum(counts.values()) <= entities:
        groups = tuple((c, counts[c]) for c in range(1, 5) if counts[c] > 0)
    else:
        # High duplicate rates: not enough entities for the skewed mix, so spread evenly.
        q, r = divmod(duplicates, entities)
        groups = tuple((c, m) for c, m in ((q + 1, r), (q, entities - r)) if c > 0 and m > 0)
    return DuplicatePlan(n_records, entities, duplicates, groups)


def _affine_permutation(n: int, rng: random.Random) -> tuple[int, int]:
    """Return (a, b) with gcd(a, n) == 1, so ``(a * i + b) mod n`` is a bijection on [0, n).

    Why: it scatters ids/entities without a sort or a join, and it is O(1) per row.
    """
    if n <= 1:
        return 1, 0
    while True:
        a = rng.randrange(max(1, n // 3), n)
        if math.gcd(a, n) == 1:
            return a, rng.randrange(n)


# --------------------------------------------------------------------------------------------
# Column-expression helpers
# --------------------------------------------------------------------------------------------
# Random draws. Each is materialised once per row as a column ``_u_<salt>`` (see _with_uniforms):
# referencing a column instead of repeating the hash expression keeps Spark's generated code small.
# A person's own draws are keyed by the entity; the surname's by the family (the entity, or the
# head of its household); the address's and phone's by the home (the family's, or a moved
# duplicate's new one). See _with_attribute_keys.
PERSON_SALTS: tuple[str, ...] = (
    "given", "dob", "domain", "email_null", "email_no", "email_style",
)  # fmt: skip
FAMILY_SALTS: tuple[str, ...] = ("surname",)
HOME_SALTS: tuple[str, ...] = (
    "street_no", "street", "street_type", "suburb", "phone", "phone_null", "phone_kind",
)  # fmt: skip
ROW_SALTS: tuple[str, ...] = (
    "n_corruptions", *(f"pick_{name}" for name, _ in CORRUPTIONS), "typo_field", "typo_op", "typo_pos",
    "typo_chr", "abbr_field", "abbr_dot", "case_style", "phone_style", "dob_shift", "pc_pos", "pc_digit",
    "missing_field",
)  # fmt: skip
ROWS_PER_PARTITION = 125_000


def _uniform(seed: int, salt: str, key: str) -> Column:
    """Uniform double in [0, 1) from a hash of (seed, salt, key): partition-independent randomness."""
    h = F.xxhash64(F.lit(seed), F.lit(salt), F.col(key))
    # Multiplying (not dividing) keeps the column non-nullable, which keeps generated code compact.
    return F.shiftrightunsigned(h, 11).cast("double") * F.lit(1.0 / _TWO_POW_53)


def _with_uniforms(df: DataFrame, seed: int, key: str, salts: tuple[str, ...], only: Column | None = None) -> DataFrame:
    """Add one uniform column ``_u_<salt>`` per salt, keyed by column ``key``.

    With ``only``, rows where it is false get 0.0 instead of a hash (saves the hashing work for the
    ~70% of rows that are originals and never read their corruption draws).
    """
    draws = {f"_u_{salt}": _uniform(seed, salt, key) for salt in salts}
    if only is not None:
        draws = {name: F.when(only, draw).otherwise(F.lit(0.0)) for name, draw in draws.items()}
    return df.withColumns(draws)


def _u(salt: str) -> Column:
    """The uniform column materialised by _with_uniforms for ``salt``."""
    return F.col(f"_u_{salt}")


def _skewed_index(u: Column, size: int, power: float) -> Column:
    """Index in [0, size) with P(small index) high: floor(size * u^power). power=2 ~ Zipf-ish head.

    Powers 2 and 1.5 are spelled as products (u*u, u*sqrt(u)): Spark's pow() is StrictMath.pow,
    which was the single most expensive call per row.
    """
    if power == 2.0:
        skewed = u * u
    elif power == 1.5:
        skewed = u * F.sqrt(u)
    else:
        skewed = F.pow(u, F.lit(power))
    return F.least(F.floor(skewed * F.lit(size)).cast("int"), F.lit(size - 1))


def _pick(pool: tuple[str, ...], index: Column) -> Column:
    """pool[index] (0-based). The pool is one constant string split into an array, which Catalyst
    constant-folds into a literal array (and it is one JVM call instead of one per element)."""
    assert not any("|" in v for v in pool)
    return F.element_at(F.split(F.lit("|".join(pool)), r"\|"), index + F.lit(1))


def _choose(u: Column, options: list[tuple[float, Column]]) -> Column:
    """Weighted choice between column expressions using one uniform draw."""
    total = sum(w for w, _ in options)
    acc = 0.0
    expr: Column | None = None
    for w, value in options[:-1]:
        acc += w / total
        expr = F.when(u < F.lit(acc), value) if expr is None else expr.when(u < F.lit(acc), value)
    last = options[-1][1]
    return last if expr is None else expr.otherwise(last)


def _part(s: Column, pos: int, length: int) -> Column:
    """substring(s, pos, length) with 1-based constant position (shorthand for formatting)."""
    return F.substr(s, F.lit(pos), F.lit(length))


def _ascii_upper(s: Column) -> Column:
    """upper() for ASCII text via translate(): Spark 4's upper()/lower() go through ICU, which is
    several times slower per row and only matters for non-ASCII text (the pools are ASCII)."""
    return F.translate(s, _ALPHABET, _ALPHABET.upper())


def _ascii_lower(s: Column) -> Column:
    """lower() for ASCII text; see _ascii_upper."""
    return F.translate(s, _ALPHABET.upper(), _ALPHABET)


def _email_token(name: str) -> str:
    """Lower-case letters only ("O'Brien" -> "obrien"): computed on the driver, not per row."""
    return "".join(ch for ch in name.lower() if "a" <= ch <= "z")


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------
def _partitions(plan: DuplicatePlan) -> int:
    """Partition count from the row count only, so the output order never depends on the cluster."""
    return max(1, min(4096, math.ceil(plan.n_records / ROWS_PER_PARTITION)))


def _stage_break(df: DataFrame) -> DataFrame:
    """End a generated-code segment here, without moving or reordering any data.

    Why: Spark fuses chained projections into one generated Java method. Past 8000 bytes of bytecode
    the JVM refuses to JIT-compile a method, and this generator's method would be ~25 KB, running
    interpreted at several times the cost. Exploding a one-element literal array is a row-for-row
    no-op, but it makes Spark emit the rest of the pipeline as a separate (compilable) method. The
    helper column is simply overwritten by the next break and pruned by the final select (the
    Generate node stays either way); dropping it here would only cost another plan analysis.
    """
    return df.withColumn("_break", F.explode(F.array(F.lit(0))))


def _base_frame(spark: SparkSession, plan: DuplicatePlan, seed: int, shuffled: bool = True) -> DataFrame:
    """Row ids in their final (shuffled) order, entity assignment, record/entity ids.

    ``shuffled=False`` keeps row-id order instead, which is all the ground truth needs.

    Why shuffle first: sorting only the 8-byte ids is far cheaper than sorting finished rows, and
    the generation below is row-local, so it keeps this order. ``repartitionByRange`` with an
    explicit partition count (derived from the row count only) keeps the generation parallel
    (adaptive execution does not coalesce it) and the output order identical everywhere.
    """
    rng = random.Random(f"generate_sample_data:{seed}")
    a_ent, b_ent = _affine_permutation(plan.entities, rng)
    a_rec, b_rec = _affine_permutation(plan.n_records, rng)
    width = max(7, len(str(max(plan.n_records - 1, 0))))

    # Which duplicated entity (0..duplicated_entities-1) a duplicate row belongs to.
    k = F.col("id") - F.lit(plan.entities)
    slot: Column | None = None
    row_start, ent_start = 0, 0
    for c, m in plan.groups:
        value = F.lit(ent_start) + F.floor((k - F.lit(row_start)) / F.lit(c)).cast("long")
        cond = k < F.lit(row_start + c * m)
        slot = F.when(cond, value) if slot is None else slot.when(cond, value)
        row_start += c * m
        ent_start += m
    slot = F.lit(0).cast("long") if slot is None else slot.otherwise(F.lit(0).cast("long"))
    entity = F.when(F.col("id") < F.lit(plan.entities), F.col("id")).otherwise(
        F.pmod(F.lit(a_ent) * slot + F.lit(b_ent), F.lit(max(plan.entities, 1)))
    )
    record_num = F.pmod(F.lit(a_rec) * F.col("id") + F.lit(b_rec), F.lit(max(plan.n_records, 1)))

    ids = spark.range(plan.n_records)
    if shuffled:
        order = ("_order", "id")  # the id breaks (astronomically unlikely) hash ties
        ids = (
            ids.withColumn("_order", F.xxhash64(F.lit(seed), F.lit("order"), F.col("id")))
            .repartitionByRange(_partitions(plan), *order)
            .sortWithinPartitions(*order)
        )
    return ids.select(
        "id",
        entity.cast("long").alias("eid"),
        (F.col("id") >= F.lit(plan.entities)).alias("is_dup"),
        F.concat(F.lit("r"), F.lpad(record_num.cast("string"), width, "0")).alias("record_id"),
    ).withColumn("entity_id", F.concat(F.lit("e"), F.lpad(F.col("eid").cast("string"), width, "0")))


def _with_attribute_keys(
    df: DataFrame, plan: DuplicatePlan, seed: int, household_rate: float, moved_rate: float
) -> DataFrame:
    """``_family`` and ``_home``: what the surname's and the address's draws are keyed by.

    The last ``household_rate`` share of the entities are household members: their family and
    home are those of a head drawn from the other entities (a head has no head of its own, so a
    member shares its head's address). A duplicate drawn as moved (``moved_rate``) gets a home of
    its own, a negative key no entity has. With both rates 0 both keys are the entity, so the
    draws are the ones keyed by the entity alone.
    """
    heads = plan.entities - round(plan.entities * household_rate)
    eid = F.col("eid")
    head = F.pmod(F.xxhash64(F.lit(seed), F.lit("household"), eid), F.lit(max(heads, 1)))
    family = F.when(eid >= F.lit(heads), head).otherwise(eid) if heads < plan.entities else eid
    moved = F.col("is_dup") & (_uniform(seed, "moved", "id") < F.lit(moved_rate))
    home = F.when(moved, -(F.col("id") + F.lit(1))).otherwise(family) if moved_rate > 0 else family
    return df.withColumns({"_family": family, "_home": home})


def _with_clean_attributes(df: DataFrame, seed: int) -> DataFrame:
    """The entity's true attributes, a pure function of the entity index ``eid`` and of its
    ``_family`` and ``_home`` keys (_with_attribute_keys).

    Why keyed by entity: originals and their duplicates compute identical clean values without a
    join, so the duplicates can then be corrupted row-locally.
    """
    df = _with_uniforms(df, seed, "eid", PERSON_SALTS)
    df = _with_uniforms(df, seed, "_family", FAMILY_SALTS)
    df = _with_uniforms(df, seed, "_home", HOME_SALTS)
    df = df.withColumns(
        {
            "_gi": _skewed_index(_u("given"), len(GIVEN_NAMES), 2.0),
            "_si": _skewed_index(_u("surname"), len(SURNAMES), 2.0),
            "_sub": _skewed_index(_u("suburb"), len(SUBURBS), 1.5),
            "_type_idx": _skewed_index(_u("street_type"), len(STREET_TYPES), 1.5),
            "_is_mobile": _u("phone_kind") < F.lit(0.7),
            "_digits8": F.lpad(F.floor(_u("phone") * F.lit(1e8)).cast("long").cast("string"), 8, "0"),
        }
    )
    df = _stage_break(df)
    sub = F.col("_sub")
    d8 = F.col("_digits8")
    one = F.lit(1)
    # Landline: area code of the state, local numbers never start with 0 or 1.
    area = _pick(tuple(STATE_AREA_CODE[st] for _, st, _ in SUBURBS), sub)
    land_lead = (F.lit(2) + F.pmod(F.substr(d8, one, one).cast("int"), F.lit(8))).cast("string")
    g, s = F.col("_g_email"), F.col("_s_email")
    number = F.lpad(F.floor(_u("email_no") * F.lit(100)).cast("int").cast("string"), 2, "0")
    local = _choose(
        _u("email_style"),
        [
            (0.35, F.concat(g, F.lit("."), s)),
            (0.25, F.concat(g, s, number)),
            (0.2, F.concat(F.substr(g, one, one), s)),
            (0.1, F.concat(s, F.lit("."), g)),
            (0.1, F.concat(g, F.lit("_"), s, number)),
        ],
    )
    dob_offset = F.floor(_u("dob") * F.lit(DOB_SPAN_DAYS)).cast("int")
    df = df.withColumns(
        {
            "given_name": _pick(GIVEN_NAMES, F.col("_gi")),
            "surname": _pick(SURNAMES, F.col("_si")),
            "_g_email": _pick(tuple(_email_token(v) for v in GIVEN_NAMES), F.col("_gi")),
            "_s_email": _pick(tuple(_email_token(v) for v in SURNAMES), F.col("_si")),
            "street_number": (_skewed_index(_u("street_no"), 300, 2.0) + one).cast("long").cast("string"),
            "_street": _pick(STREET_NAMES, _skewed_index(_u("street"), len(STREET_NAMES), 1.5)),
            "suburb": _pick(tuple(v for v, _, _ in SUBURBS), sub),
            "state": _pick(tuple(v for _, v, _ in SUBURBS), sub),
            "postcode": _pick(tuple(v for _, _, v in SUBURBS), sub),
            "_dob": F.date_add(F.to_date(F.lit(DOB_START)), dob_offset),
            # Ten-digit national number; real sources are incomplete even before duplication.
            "_phone_digits": F.when(_u("phone_null") < F.lit(0.04), F.lit(None).cast("string"))
            .when(F.col("_is_mobile"), F.concat(F.lit("04"), d8))
            .otherwise(F.concat(area, land_lead, _part(d8, 2, 7))),
        }
    )
    pd = F.col("_phone_digits")
    mobile = F.concat(_part(pd, 1, 4), F.lit(" "), _part(pd, 5, 3), F.lit(" "), _part(pd, 8, 3))
    landline = F.concat(F.lit("("), _part(pd, 1, 2), F.lit(") "), _part(pd, 3, 4), F.lit(" "), _part(pd, 7, 4))
    domain = _pick(EMAIL_DOMAINS, _skewed_index(_u("domain"), len(EMAIL_DOMAINS), 2.0))
    street_type = _pick(tuple(t for t, _ in STREET_TYPES), F.col("_type_idx"))
    return df.withColumns(
        {
            "address": F.concat(F.col("_street"), F.lit(" "), street_type),
            "phone": F.when(F.col("_is_mobile"), mobile).otherwise(landline),
            "email": F.when(_u("email_null") < F.lit(0.06), F.lit(None).cast("string")).otherwise(
                F.concat(local, F.lit("@"), domain)
            ),
        }
    )


def _with_corruption_flags(df: DataFrame) -> DataFrame:
    """Boolean ``_f_<name>`` per corruption: 1-3 distinct ones per duplicate, none for originals.

    Weighted sampling without replacement (Efraimidis-Spirakis, as an exponential race): corruption
    i gets key -ln(1 - u_i) / w_i and the k smallest keys win (compared with the k-th smallest key,
    no per-row lambdas). Keys are only computed for duplicates.
    """
    df = _stage_break(df).withColumns(
        {
            "_ncorr": _choose(_u("n_corruptions"), [(0.5, F.lit(1)), (0.35, F.lit(2)), (0.15, F.lit(3))]),
            **{
                f"_k_{name}": F.when(
                    F.col("is_dup"), -F.log(F.lit(1.0) - _u(f"pick_{name}")) * F.lit(1.0 / w)
                ).otherwise(F.lit(0.0))
                for name, w in CORRUPTIONS
            },
        }
    )
    # Threshold = the k-th smallest key; keys are continuous, so exactly k corruptions are chosen.
    keys = [F.col(f"_k_{name}") for name, _ in CORRUPTIONS]
    df = df.withColumn("_kth", F.element_at(F.sort_array(F.array(*keys)), F.col("_ncorr")))
    flags = {
        f"_f_{name}": F.col("is_dup") & (key <= F.col("_kth")) for (name, _), key in zip(CORRUPTIONS, keys, strict=True)
    }
    return df.withColumns(flags)


def _typo(s: Column, n: Column, pos: Column, swap_pos: Column, letter: Column, u_op: Column) -> Column:
    """One keyboard-style typo: adjacent swap, dropped, replaced or doubled character.

    The first character is never touched (people rarely mistype an initial, and it keeps the
    capitalisation); positions are 1-based, as in Spark's substring/overlay. Each operation is
    guaranteed to change the string: a swap of two equal characters falls back to a drop, a
    replacement never picks the original letter.
    """
    one = F.lit(1)
    a, b = F.substr(s, swap_pos, one), F.substr(s, swap_pos + one, one)
    swap = F.when(
        a != b, F.concat(F.substr(s, one, swap_pos - one), b, a, F.substr(s, swap_pos + F.lit(2), n))
    ).otherwise(F.overlay(s, F.lit(""), swap_pos, one))
    drop = F.overlay(s, F.lit(""), pos, one)
    replace = F.overlay(s, letter, pos, one)
    double = F.concat(F.substr(s, one, pos), F.substr(s, pos, one), F.substr(s, pos + one, n))
    op = _choose(u_op, [(0.3, swap), (0.25, drop), (0.3, replace), (0.15, double)])
    # Two-letter names ("Ly", "Wu") only get the last letter doubled.
    return F.when(n >= F.lit(3), op).when(n == F.lit(2), F.concat(s, F.substr(s, F.lit(2), one))).otherwise(s)


def _with_corruptions(df: DataFrame, seed: int) -> DataFrame:
    """Apply the chosen corruptions to each duplicate row (random draws keyed by row ``id``).

    Corruptions are applied as successive projections, in a fixed order (typo, abbreviation, name
    swap, case/whitespace, phone format, date transposition, postcode typo, missing value last so
    that nulling is never undone). Helper columns are only computed for rows that need them.
    """
    df = _with_corruption_flags(_with_uniforms(_stage_break(df), seed, "id", ROW_SALTS, only=F.col("is_dup")))
    df = _stage_break(df)
    one = F.lit(1)
    given, surname, address = F.col("given_name"), F.col("surname"), F.col("address")

    # 1. Typo in a name.
    is_typo, on_given = F.col("_f_typo"), _u("typo_field") < F.lit(0.5)
    df = df.withColumn(
        "_t",
        F.when(is_typo, F.when(on_given, given).otherwise(surname)).otherwise(F.lit(None).cast("string")),
    )
    t, tn = F.col("_t"), F.length(F.col("_t"))
    df = df.withColumns(
        {
            "_tn": tn,
            "_tp": (F.floor(_u("typo_pos") * (tn - one)) + F.lit(2)).cast("int"),  # 2..n
            "_ts": (F.floor(_u("typo_pos") * (tn - F.lit(2))) + F.lit(2)).cast("int"),  # 2..n-1
            "_tl": F.substr(F.lit(_ALPHABET), (F.floor(_u("typo_chr") * F.lit(25)) + one).cast("int"), one),
        }
    )
    pos = F.col("_tp")
    letter = F.when(F.col("_tl") == _ascii_lower(F.substr(t, pos, one)), F.lit("z")).otherwise(F.col("_tl"))
    typoed = _typo(t, F.col("_tn"), pos, F.col("_ts"), letter, _u("typo_op"))
    df = df.withColumn("_t", typoed).withColumns(
        {
            "given_name": F.when(is_typo & on_given, F.col("_t")).otherwise(given),
            "surname": F.when(is_typo & ~on_given, F.col("_t")).otherwise(surname),
        }
    )

    df = _stage_break(df)

    # 2. Abbreviation: street type ("Street" -> "St") or given name -> initial.
    is_abbr, on_address = F.col("_f_abbreviate"), _u("abbr_field") < F.lit(0.6)
    abbreviated = F.concat(F.col("_street"), F.lit(" "), _pick(tuple(a for _, a in STREET_TYPES), F.col("_type_idx")))
    initial = F.concat(F.substr(given, one, one), F.when(_u("abbr_dot") < F.lit(0.3), F.lit(".")).otherwise(F.lit("")))
    df = df.withColumns(
        {
            "address": F.when(is_abbr & on_address, abbreviated).otherwise(address),
            "given_name": F.when(is_abbr & ~on_address, initial).otherwise(given),
        }
    )

    # 3. Given name and surname swapped.
    swap = F.col("_f_swap_names")
    df = df.withColumns(
        {
            "given_name": F.when(swap, surname).otherwise(given),
            "surname": F.when(swap, given).otherwise(surname),
        }
    )

    # 4. Case change or stray whitespace.
    cw, style = F.col("_f_case_whitespace"), _u("case_style")
    upper, lower, spaced = cw & (style < F.lit(0.35)), cw & (style < F.lit(0.6)), cw & (style >= F.lit(0.6))
    df = df.withColumns(
        {
            "given_name": F.when(upper, _ascii_upper(given))
            .when(lower, _ascii_lower(given))
            .when(spaced, F.concat(F.lit(" "), given))
            .otherwise(given),
            "surname": F.when(upper, _ascii_upper(surname))
            .when(lower, _ascii_lower(surname))
            .when(spaced, F.concat(surname, F.lit("  ")))
            .otherwise(surname),
            "address": F.when(spaced, F.regexp_replace(address, " ", "  ")).otherwise(address),
        }
    )

    df = _stage_break(df)

    # 5. Phone reformatted: bare digits, international, or dashed.
    digits = F.col("_phone_digits")
    international = F.concat(F.lit("+61"), _part(digits, 2, 9))
    dashed = F.concat(_part(digits, 1, 4), F.lit("-"), _part(digits, 5, 3), F.lit("-"), _part(digits, 8, 3))
    reformatted = _choose(_u("phone_style"), [(0.4, digits), (0.35, international), (0.25, dashed)])
    df = df.withColumn("phone", F.when(F.col("_f_phone_format"), reformatted).otherwise(F.col("phone")))

    # 6. Date of birth with day and month transposed (when that is still a valid, different date;
    #    otherwise the day is off by one, another common entry error).
    dob = F.col("_dob")
    day, month = F.dayofmonth(dob), F.month(dob)
    shifted = F.date_add(dob, F.when(_u("dob_shift") < F.lit(0.5), F.lit(-1)).otherwise(one))
    transposed = F.when((day <= F.lit(12)) & (day != month), F.make_date(F.year(dob), day, month))
    df = df.withColumn("_dob", F.when(F.col("_f_dob_transpose"), transposed.otherwise(shifted)).otherwise(dob))

    # 7. Postcode with one digit mistyped (always a different digit).
    pc = F.col("postcode")
    pc_pos = (F.floor(_u("pc_pos") * F.length(pc)) + one).cast("int")
    new_digit = F.pmod(
        F.substr(pc, pc_pos, one).cast("int") + one + F.floor(_u("pc_digit") * F.lit(9)).cast("int"),
        F.lit(10),
    ).cast("string")
    df = df.withColumn(
        "postcode", F.when(F.col("_f_postcode_typo"), F.overlay(pc, new_digit, pc_pos, one)).otherwise(pc)
    )

    # 8. A missing value in one field.
    df = df.withColumn("date_of_birth", F.date_format(F.col("_dob"), "yyyy-MM-dd"))
    field_u, is_missing = _u("missing_field"), F.col("_f_missing")
    total = sum(w for _, w in MISSING_FIELDS)
    acc = 0.0
    nulled: dict[str, Column] = {}
    for i, (name, w) in enumerate(MISSING_FIELDS):
        lo, acc = acc, acc + w / total
        hit = is_missing & (field_u >= F.lit(lo))
        if i < len(MISSING_FIELDS) - 1:
            hit = hit & (field_u < F.lit(acc))
        nulled[name] = F.when(hit, F.lit(None).cast("string")).otherwise(F.col(name))
    return df.withColumns(nulled)


def generate(
    spark: SparkSession,
    n_records: int,
    seed: int = 42,
    duplicate_rate: float = 0.3,
    household_rate: float = 0.0,
    moved_rate: float = 0.0,
) -> tuple[DataFrame, DataFrame]:
    """Return ``(records, truth)`` for ``n_records`` synthetic person records.

    ``records`` has the columns of ``RECORD_COLUMNS`` (all strings) in a deterministic, shuffled
    order. ``truth`` maps every ``record_id`` to its ``entity_id``, one row per record, in
    generation order (not shuffled: it is only meant to be joined on ``record_id``, and skipping
    the shuffle keeps it cheap). About ``1 - duplicate_rate`` of the rows are originals; each
    remaining row is a corrupted copy of one of them. ``household_rate`` and ``moved_rate`` make
    it harder (see the module's docstring). Same arguments give identical rows and row
    order regardless of cluster size or partitioning. Both frames are lazy: each action
    re-generates them (cheaply) from ``spark.range``; cache them if you run several actions on a
    large size.
    """
    if not (0.0 <= household_rate < 1.0 and 0.0 <= moved_rate <= 1.0):
        raise ValueError(
            f"household_rate must be in [0, 1) and moved_rate in [0, 1], got {household_rate} and {moved_rate}"
        )
    plan = plan_duplicates(n_records, duplicate_rate)
    truth = _base_frame(spark, plan, seed, shuffled=False).select(*TRUTH_COLUMNS)
    base = _with_attribute_keys(_base_frame(spark, plan, seed), plan, seed, household_rate, moved_rate)
    records = _with_corruptions(_with_clean_attributes(base, seed), seed)
    records = records.select(*RECORD_COLUMNS)
    return records, truth


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------
def _session() -> SparkSession:
    """The project's session factory when available (Delta, S3 config), else a small local one."""
    repo_root = Path(__file__).resolve().parent.parent
    if str(repo_root) not in sys.path:
        sys.path.insert(0, str(repo_root))
    try:
        from glue_labeling.spark import get_or_create_session
    except ImportError:
        pass
    else:
        try:
            return get_or_create_session()
        except Exception as exc:  # e.g. Delta jars not cached yet: generation does not need them
            print(f"generate_sample_data: project session unavailable ({exc}); using local[2]", file=sys.stderr)
    return (
        SparkSession.builder.master("local[2]")
        .appName("generate-sample-data")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )


def _write(df: DataFrame, path: str, fmt: str, single_file: bool) -> None:
    """Write one output; CSV keeps leading/trailing spaces (they are deliberate corruptions)."""
    if single_file:
        df = df.coalesce(1)
    writer = df.write.mode("overwrite")
    if fmt == "csv":
        writer = (
            writer.option("header", "true")
            .option("ignoreLeadingWhiteSpace", "false")
            .option("ignoreTrailingWhiteSpace", "false")
        )
    writer.format(fmt).save(path)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: generate, write ``records/`` and ``truth/``, print a one-line JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True, help="total number of records")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", required=True, help="directory; records/ and truth/ are written in it")
    parser.add_argument("--format", choices=("csv", "parquet", "delta"), default="csv")
    parser.add_argument("--duplicate-rate", type=float, default=0.3)
    parser.add_argument("--household-rate", type=float, default=0.0, help="share of entities in another's household")
    parser.add_argument("--moved-rate", type=float, default=0.0, help="share of duplicates at a new address")
    args = parser.parse_args(argv)

    plan = plan_duplicates(args.rows, args.duplicate_rate)  # validates before starting Spark
    started = time.monotonic()
    spark = _session()
    spark.sparkContext.setLogLevel("WARN")
    spark_ready = time.monotonic()
    records, truth = generate(spark, args.rows, args.seed, args.duplicate_rate, args.household_rate, args.moved_rate)

    out = args.output if "://" in args.output else str(Path(args.output).resolve())
    records_path, truth_path = f"{out.rstrip('/')}/records", f"{out.rstrip('/')}/truth"
    single_file = args.format == "csv" and args.rows <= 200_000
    _write(records, records_path, args.format, single_file)
    _write(truth, truth_path, args.format, single_file)
    summary = {
        "rows": args.rows,
        "entities": plan.entities,
        "true_pairs": plan.true_pairs,
        "records_path": records_path,
        "truth_path": truth_path,
        "duplicates": plan.duplicates,
        "seed": args.seed,
        "format": args.format,
        "spark_start_seconds": round(spark_ready - started, 1),
        "generate_write_seconds": round(time.monotonic() - spark_ready, 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
