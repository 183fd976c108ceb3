"""Which country's plate a crop is: Vietnamese, Chinese or neither, from its colours, layout and text.

The readers ask this before they send a crop down the Chinese path (LPRNet, province
character). The evidence, in order:

1. the text read so far fits a Vietnamese format -> ``VN``;
2. a coloured band at the left edge (European plates) or along the top (Mercosur plates) on
   an otherwise uncoloured plate -> ``other``: neither country's plates have one;
3. the text fits a Chinese format or holds a province character -> ``CN``;
4. one line, width/height in the Chinese range, and enough of the crop blue or green (the
   background of Chinese blue and new-energy plates, where Vietnamese plates are white or
   yellow) -> ``CN``;
5. otherwise ``other``: read as raw text, never given a province character.

Yellow is reported but decides nothing: Vietnamese commercial plates and Chinese truck plates
are both yellow. Pure functions on a BGR crop; table-tested in ``tests/vision/plates/test_route.py``.

Example::

    >>> looks = plate_looks(crop, lines=1)
    >>> looks.background, looks.band
    ('blue', None)
    >>> route_plate(looks, ["皖A·0K782"])
    'CN'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from gatewatch.vision.plates.formats import CN_PROVINCES, normalise

Route = Literal["VN", "CN", "other"]
Background = Literal["blue", "green", "yellow", "white", "other"]

BAND_MIN_SHARE = 0.45   # share of blue pixels in the band strip
BAND_MAX_REST = 0.15    # largest blue/green share of the rest of the plate for a band to count


@dataclass(frozen=True)
class PlateLooks:
    """What a plate crop looks like, before its text is known.

    Attributes:
        lines: 1 or 2 text lines (as the line splitter found).
        aspect: width / height of the crop.
        background: the dominant colour of the plate's centre.
        centre_colour: share of saturated blue or green pixels in the centre (rows 20-80 %, columns 17-83 %).
        colour_share: the same over the whole crop (what the colour rule uses, as before routing existed).
        band: ``'left'`` (European) or ``'top'`` (Mercosur) when a blue band sits on an uncoloured plate.
    """

    lines: int
    aspect: float
    background: Background
    centre_colour: float
    colour_share: float
    band: Literal["left", "top"] | None = None


def _masks(crop: np.ndarray) -> dict[str, np.ndarray]:
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    bright = v >= 50
    return {
        "blue": (h >= 95) & (h <= 130) & (s >= 80) & bright,
        "green": (h >= 35) & (h <= 90) & (s >= 60) & bright,
        "yellow": (h >= 15) & (h < 35) & (s >= 90) & (v >= 90),
        "white": (s < 50) & (v >= 140),
    }


def plate_looks(crop: np.ndarray, lines: int) -> PlateLooks:
    """Colours and layout of a BGR plate crop ``(H, W, 3)``; ``lines`` from the line splitter."""
    height, width = crop.shape[:2]
    masks = _masks(crop)
    rows = slice(height // 5, height - height // 5)
    centre = {k: float(m[rows, width // 6 : width - width // 6].mean()) for k, m in masks.items()}
    colour = centre["blue"] + centre["green"]
    shares = {"blue": centre["blue"], "green": centre["green"], "yellow": centre["yellow"], "white": centre["white"]}
    name, share = max(shares.items(), key=lambda kv: kv[1])
    background: Background = name if share >= 0.25 else "other"  # type: ignore[assignment]
    coloured = masks["blue"] | masks["green"]
    band: Literal["left", "top"] | None = None
    left = masks["blue"][rows, : max(1, round(width * 0.12))].mean()
    if left >= BAND_MIN_SHARE and coloured[rows, round(width * 0.2) :].mean() < BAND_MAX_REST:
        band = "left"
    top = masks["blue"][: max(1, round(height * 0.2)), width // 10 : width - width // 10].mean()
    if band is None and top >= BAND_MIN_SHARE and coloured[round(height * 0.3) :].mean() < BAND_MAX_REST:
        band = "top"
    return PlateLooks(lines, width / max(height, 1), background, colour, float(coloured.mean()), band)


def route_plate(
    looks: PlateLooks, text_lines: Sequence[str], cn_aspect: tuple[float, float] = (2.5, 6.0), cn_min_colour: float = 0.15,
) -> Route:
    """``VN``, ``CN`` or ``other`` for a crop that ``looks`` so and whose lines were read as ``text_lines``.

    ``cn_aspect``: width/height range of a one-line Chinese plate; ``cn_min_colour``: least blue/green
    share of the crop for the colour alone to say Chinese. See the module docstring for the order.
    """
    fitted = normalise(text_lines) if any(text_lines) else None
    if fitted is not None and fitted.country == "VN":
        return "VN"
    if looks.band is not None:
        return "other"
    if (fitted is not None and fitted.country == "CN") or any(c in CN_PROVINCES for t in text_lines for c in t):
        return "CN"
    one_line_cn = looks.lines == 1 and cn_aspect[0] <= looks.aspect <= cn_aspect[1]
    if one_line_cn and looks.colour_share >= cn_min_colour:
        return "CN"
    return "other"


def drop_province(text: str) -> str:
    """``text`` without CJK characters: what a plate routed ``other`` is read as."""
    return "".join(c for c in text if c.isascii())


__all__ = ["Background", "PlateLooks", "Route", "drop_province", "plate_looks", "route_plate"]
