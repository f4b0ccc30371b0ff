"""Splink 5 (DuckDB), configured once for every accuracy benchmark.

``splink_clusters`` runs the usual tutorial setup on canonical-value rows
(the keys ``profiles`` imports: ``given_name``, ``family_name``,
``date_of_birth``, ``address_line1``, ``locality``, ``postcode``,
``national_id``, and ``email``/``phone`` where the rows carry them): name,
date, address, postcode and id comparisons, the prior from deterministic
rules, u by random sampling, EM over two blocking rules, then clusters at
``threshold``. ``bench/identity_accuracy.py`` (FEBRL) and
``bench/identity_seeded.py`` (the seeded world) both call it, so Splink is
set up the same way on every set.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

# canonical field -> Splink column
COLUMNS = {
    "given_name": "given_name",
    "family_name": "surname",
    "date_of_birth": "dob",
    "address_line1": "street",
    "locality": "suburb",
    "postcode": "postcode",
    "national_id": "soc_sec_id",
    "email": "email",
    "phone": "phone",
}
# Compared only when some row has them (FEBRL has neither).
OPTIONAL = ("email", "phone")


def splink_clusters(rows: Sequence[dict[str, Any]], threshold: float) -> list[list[str]]:
    """Clusters of ``row["key"]`` as Splink finds them at ``threshold``."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.ERROR)
    present = {c for c in OPTIONAL if any(row.get(c) for row in rows)}
    wanted = {f: col for f, col in COLUMNS.items() if f not in OPTIONAL or f in present}
    frame = pd.DataFrame(
        [
            {"unique_id": str(row["key"])}
            | {col: (str(row.get(f) or "").strip() or None) for f, col in wanted.items()}
            for row in rows
        ]
    )
    comparisons = [
        cl.NameComparison("given_name"),
        cl.NameComparison("surname"),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.LevenshteinAtThresholds("street", 2),
        cl.ExactMatch("suburb"),
        cl.ExactMatch("postcode"),
        cl.LevenshteinAtThresholds("soc_sec_id", 1),
    ]
    blocking = [
        block_on("given_name", "surname"),
        block_on("surname", "dob"),
        block_on("given_name", "dob"),
        block_on("postcode", "street"),
        block_on("soc_sec_id"),
        block_on("dob"),
    ]
    if "email" in present:
        comparisons.append(cl.EmailComparison("email"))
        blocking.append(block_on("email"))
    if "phone" in present:
        comparisons.append(cl.LevenshteinAtThresholds("phone", 1))
        blocking.append(block_on("phone"))
    db_api = DuckDBAPI()
    table = db_api.register(frame)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(table, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "dob"), block_on("soc_sec_id")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    ).as_pandas_dataframe()
    groups: dict[str, list[str]] = defaultdict(list)
    for unique_id, cluster_id in zip(clusters["unique_id"], clusters["cluster_id"], strict=True):
        groups[str(cluster_id)].append(str(unique_id))
    return list(groups.values())


def cluster_pairs(clusters: Iterable[Sequence[str]]) -> set[tuple[str, str]]:
    """Every pair of keys that share a cluster, each as a sorted tuple."""
    return {tuple(sorted(p)) for keys in clusters for p in combinations(keys, 2)}  # type: ignore[misc]


def scores(predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of ``predicted`` against ``truth``."""
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pairs": len(predicted)}
