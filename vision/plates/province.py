"""The province character of a Chinese plate, decided with a per-gate prior.

At a gate most Chinese plates come from one province (``桂`` at Hữu Nghị, ``云`` at Hekou). The
camera config can say so (``plates: {province_prior: {桂: 0.9}}``): the listed provinces get
those prior probabilities, the rest ``1 - sum`` shared equally by the other provinces. The
province is then the character with the highest recogniser probability x prior
(renormalised over the provinces: the posterior), and the plate's confidence counts the
province character with its posterior in place of the recogniser's own probability:
``confidence + (posterior - p_read) / n`` for a read of ``n`` characters. No prior (the
default) changes nothing.

Example::

    >>> reading = PlateReading(("宁A12345",), 0.9, (0.9,), (("宁", 0.5), ("皖", 0.4), ("桂", 0.1)))
    >>> apply_province_prior(reading, {"皖": 0.9}).lines
    ('皖A12345',)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from gatewatch.vision.plates.formats import CN_PROVINCES
from gatewatch.vision.plates.reading import PlateReading


def province_probs(probs: np.ndarray, classes: Sequence[str]) -> tuple[tuple[str, float], ...]:
    """Each province's probability at the first step ``(T, C)`` whose best class is a province; ``()`` if none.

    ``classes``: the character of each column. That step is where a greedy CTC decode reads the province.
    """
    columns = [(i, c) for i, c in enumerate(classes) if c in CN_PROVINCES]
    if not columns:
        return ()
    for step in probs:
        if classes[int(step.argmax())] in CN_PROVINCES:
            return tuple((c, float(step[i])) for i, c in columns)
    return ()


def full_prior(prior: Mapping[str, float]) -> dict[str, float]:
    """Every province's prior: the listed ones as given, the rest sharing ``1 - sum`` equally."""
    rest = [c for c in CN_PROVINCES if c not in prior]
    share = max(0.0, 1.0 - sum(prior.values())) / len(rest) if rest else 0.0
    return {c: float(prior.get(c, share)) for c in CN_PROVINCES}


def province_posterior(
    reader: Sequence[tuple[str, float]], prior: Mapping[str, float]
) -> tuple[str, float, dict[str, float]]:
    """(chosen province, its posterior, every posterior) from the reader's probabilities and a prior."""
    weights = full_prior(prior)
    joint = {c: max(p, 1e-9) * weights.get(c, 0.0) for c, p in reader}
    total = sum(joint.values())
    if total <= 0:
        raise ValueError("the prior gives no weight to any province the reader scored")
    posterior = {c: v / total for c, v in joint.items()}
    chosen = max(posterior, key=posterior.__getitem__)
    return chosen, posterior[chosen], posterior


def apply_province_prior(reading: PlateReading, prior: Mapping[str, float]) -> PlateReading:
    """``reading`` with its province character decided by the prior (see the module docstring).

    Unchanged when the prior is empty, the reader gave no province probabilities or the read holds
    no province character.
    """
    if not prior or not reading.province_probs:
        return reading
    where = next(((i, j) for i, line in enumerate(reading.lines) for j, c in enumerate(line) if c in CN_PROVINCES), None)
    if where is None:
        return reading
    i, j = where
    read = reading.lines[i][j]
    chosen, posterior, _ = province_posterior(reading.province_probs, prior)
    p_read = dict(reading.province_probs).get(read, 0.0)
    n = sum(len(line) for line in reading.lines)
    lines = list(reading.lines)
    lines[i] = lines[i][:j] + chosen + lines[i][j + 1 :]
    confidence = min(1.0, max(0.0, reading.confidence + (posterior - p_read) / n))
    line_conf = list(reading.line_confidences)
    if i < len(line_conf) and lines[i]:
        line_conf[i] = min(1.0, max(0.0, line_conf[i] + (posterior - p_read) / len(lines[i])))
    return dataclasses.replace(reading, lines=tuple(lines), confidence=confidence, line_confidences=tuple(line_conf))


__all__ = ["apply_province_prior", "full_prior", "province_posterior", "province_probs"]
