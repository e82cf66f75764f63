"""Threshold calibration and error rates for one-to-one face comparison (pure).

Vocabulary and rates follow ISO/IEC 19795-1:2021: FMR is the share of impostor pairs
(different people) at or under the threshold; FNMR the share of genuine pairs (same
person) above it. Every unordered pair is used once; two files derived from the same
source photo are not a genuine pair (that would only test the encoder).

Choosing the threshold: both distance distributions are summarised as normal
distributions (mean, standard deviation) and the threshold minimises the expected cost
``cost_false_match * FMR + FNMR`` under them. With a few dozen genuine pairs the raw
empirical rates are 0 over a wide band; the fitted tails still say where in that band
the risk is lowest. A false match lets someone else pass as the holder, so it costs
more (default ten times) than a retry after a false non-match.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from honnin.faces.engine import Embedding


@dataclass(frozen=True, slots=True)
class Sample:
    """One embedded image: who it shows and which source photo it came from."""

    identity: str
    source: str
    embedding: Embedding


@dataclass(frozen=True, slots=True)
class Rates:
    """Error counts and rates at one threshold."""

    threshold: float
    genuine_pairs: int
    impostor_pairs: int
    false_matches: int
    false_non_matches: int

    @property
    def fmr(self) -> float:
        return self.false_matches / self.impostor_pairs if self.impostor_pairs else 0.0

    @property
    def fnmr(self) -> float:
        return self.false_non_matches / self.genuine_pairs if self.genuine_pairs else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "genuine_pairs": self.genuine_pairs,
            "impostor_pairs": self.impostor_pairs,
            "false_matches": self.false_matches,
            "false_non_matches": self.false_non_matches,
            "fmr": round(self.fmr, 4),
            "fnmr": round(self.fnmr, 4),
        }


def pair_distances(
    samples: Sequence[Sample], others: Sequence[Sample] | None = None
) -> tuple[list[float], list[float]]:
    """Genuine and impostor distances: all pairs within ``samples``, or across two sets."""
    if others is None:
        pairs = list(combinations(samples, 2))
    else:
        pairs = [(a, b) for a in samples for b in others]
    genuine: list[float] = []
    impostor: list[float] = []
    for a, b in pairs:
        if a.source == b.source:
            continue
        dist = float(np.linalg.norm(a.embedding - b.embedding))
        (genuine if a.identity == b.identity else impostor).append(dist)
    return genuine, impostor


def rates(genuine: Sequence[float], impostor: Sequence[float], threshold: float) -> Rates:
    return Rates(
        threshold=threshold,
        genuine_pairs=len(genuine),
        impostor_pairs=len(impostor),
        false_matches=sum(d <= threshold for d in impostor),
        false_non_matches=sum(d > threshold for d in genuine),
    )


def _normal_cdf(x: float, mean: float, std: float) -> float:
    return 0.5 * (1.0 + math.erf((x - mean) / (std * math.sqrt(2.0))))


def calibrate(
    genuine: Sequence[float],
    impostor: Sequence[float],
    *,
    cost_false_match: float = 10.0,
    step: float = 0.01,
) -> float:
    """The threshold (a multiple of ``step``) of least expected cost under normal fits."""
    if len(genuine) < 2 or len(impostor) < 2:
        msg = "calibration needs at least two genuine and two impostor pairs"
        raise ValueError(msg)
    g_mean, g_std = float(np.mean(genuine)), max(float(np.std(genuine, ddof=1)), 1e-3)
    i_mean, i_std = float(np.mean(impostor)), max(float(np.std(impostor, ddof=1)), 1e-3)
    best, best_cost = step, math.inf
    for k in range(1, round(1.5 / step)):
        t = round(k * step, 6)
        cost = (
            cost_false_match * _normal_cdf(t, i_mean, i_std) + 1.0 - _normal_cdf(t, g_mean, g_std)
        )
        if cost < best_cost:
            best, best_cost = t, cost
    return best


def summary(values: Sequence[float]) -> dict[str, float]:
    """Min / mean / max of a list of distances, for reports."""
    if not values:
        return {}
    return {
        "min": round(min(values), 4),
        "mean": round(float(np.mean(values)), 4),
        "max": round(max(values), 4),
    }
