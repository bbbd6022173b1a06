"""Rank fusion of dense and lexical result lists."""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: dict[str, Sequence[tuple[int, float]]],
    weights: dict[str, float] | None = None,
    k: int = RRF_K,
) -> list[tuple[int, float, dict[str, float]]]:
    """Fuse ranked lists with reciprocal-rank fusion.

    Each list contributes ``weight / (k + rank)`` (rank from 1) to the ids it contains.

    Args:
        rankings: ``{source name: [(id, score), ...] best first}``.
        weights: Optional weight per source (default 1.0).
        k: The RRF constant; larger values flatten the rank differences.

    Returns:
        ``(id, fused score, {source: original score})`` best first; ties keep the order
        in which ids were first seen (sources in the order given).
    """
    weights = weights or {}
    fused: dict[int, float] = {}
    sources: dict[int, dict[str, float]] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, (doc_id, score) in enumerate(ranking, start=1):
            fused[doc_id] = fused.get(doc_id, 0.0) + weight / (k + rank)
            sources.setdefault(doc_id, {})[name] = float(score)
    order = sorted(fused, key=lambda i: -fused[i])
    return [(i, fused[i], sources[i]) for i in order]
