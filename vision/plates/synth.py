"""Synthetic Vietnamese and Chinese plates for training gatewatch's own recogniser (PIL + OpenCV + numpy).

Layouts (plate size in mm-like units, one box per text line) follow the real plates roughly:

* ``vn_car``: one line, 520x110, ``51F-123.45`` / ``51F-1234`` / ``51LD-123.45``; white, yellow (commercial) or blue.
* ``vn_square``: two lines, 330x165, ``51F`` / ``123.45`` (also ``34-F1`` / ``298.51``); white or yellow;
  15 % electric ``23-MĐ1`` / ``023.61`` drawn in the narrower 190x140 frame those plates have (``vn_square_md``).
* ``vn_moto``: two lines, 190x140, ``59-L2`` / ``149.99`` (or ``5417``; electric ``29-MĐ1`` / ``052.00``).
* ``cn_blue``, ``cn_yellow``: one line, 440x140, ``桂A·12345`` (white on blue; black on yellow);
  ``cn_ccpd``: a blue plate cut like the CCPD crops (tight box of the tilted plate, 94x24, blurred;
  provinces and city letters at CCPD-like frequencies: mostly ``皖A``);
  ``cn_green`` (new energy, 480x140, ``桂AD12345``); ``cn_yellow2`` (truck rear, 440x220: ``桂 A`` / ``12345``);
  ``cn_police`` (white, ``桂A1234警`` with a red ``警``).

Labels are per line, in the project's plate key (``formats.clean``: letters, digits, CJK; ``Đ`` is ``D``).
Augmentations: perspective and rotation, scaling down to a few tens of pixels (a motorbike plate
down to ~25x30 px), blur, noise, glare, dirt, exposure, JPEG.

Example::

    >>> plate = render_plate(random.Random(0), "vn_moto")
    >>> plate.lines, plate.image.shape
    (('59L2', '14999'), (140, 190, 3))
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gatewatch.vision.plates.formats import CN_PROVINCES, DIGITS, clean

FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts"))
LATIN_FONTS = ("dejavu/DejaVuSansCondensed-Bold.ttf", "liberation/LiberationSansNarrow-Bold.ttf",
               "liberation/LiberationSans-Bold.ttf", "dejavu/DejaVuSans-Bold.ttf")
CJK_FONTS = ("wqy/wqy-zenhei.ttc", "wqy/wqy-microhei.ttc")
VN_SERIES = "ABCDEFGHKLMNPRSTUVXYZ"  # VN series letters (formats: no I, J, O, Q, W)
VN_COMMON_SERIES = "ABCDEFGHKLMNPSTUVXY"
VN_COMMON_PROVINCES = (29, 30, 51, 59, 50, 43, 14, 15, 20, 36, 37, 47, 60, 61, 72, 77, 12, 24, 34, 88)
CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
CN_COMMON_PROVINCES = "桂云皖粤京沪苏浙"

# kind -> (width, height, [line boxes (x0, y0, x1, y1)])
LAYOUTS: dict[str, tuple[int, int, tuple[tuple[int, int, int, int], ...]]] = {
    "vn_car": (520, 110, ((22, 12, 498, 98),)),
    "vn_square": (330, 165, ((40, 10, 290, 78), (18, 86, 312, 156))),
    "vn_moto": (190, 140, ((14, 8, 176, 64), (8, 72, 182, 132))),
    "vn_square_md": (190, 140, ((12, 8, 178, 64), (8, 72, 182, 132))),  # electric MĐ plates in the square set
    "cn_blue": (440, 140, ((16, 25, 424, 115),)),
    "cn_yellow": (440, 140, ((16, 25, 424, 115),)),
    "cn_green": (480, 140, ((16, 25, 464, 115),)),
    "cn_yellow2": (440, 220, ((110, 14, 330, 74), (22, 88, 418, 204))),
    "cn_police": (440, 140, ((16, 25, 424, 115),)),
}
LAYOUTS["cn_ccpd"] = LAYOUTS["cn_blue"]
# kind -> share of synthetic plates (VN square and motorbike plates and CCPD-cut blue plates weigh most:
# the kinds the first model read worst)
KIND_WEIGHTS: dict[str, float] = {
    "vn_car": 0.12, "vn_square": 0.28, "vn_moto": 0.22, "cn_ccpd": 0.16, "cn_blue": 0.05, "cn_yellow": 0.03,
    "cn_green": 0.06, "cn_yellow2": 0.05, "cn_police": 0.03,
}
# CCPD-like province and city-letter frequencies (the CCPD photos are mostly from Anhui, Hefei: 皖A);
# set by hand from CCPD's published make-up, not from the shared crops
CCPD_PROVINCES = {"皖": 0.75, "苏": 0.04, "浙": 0.04, "豫": 0.03, "粤": 0.02, "京": 0.02, "沪": 0.02, "鲁": 0.02}
CCPD_CITY_A = 0.8  # share of 'A' after 皖
SMALL_SHARE = {"vn_square": 0.5, "vn_moto": 0.4}  # kinds drawn far (small) more often than augment's default
BLACK, WHITE, RED = (20, 20, 20), (240, 240, 240), (30, 30, 200)  # BGR
VN_SQUARE_MD_SHARE = 0.15  # electric ``NN-MĐN`` / ``NNN.NN`` plates among the synthetic square plates
VN_COLOURS = {"white": ((235, 235, 235), BLACK), "yellow": ((40, 200, 235), BLACK), "blue": ((150, 70, 20), WHITE)}


@dataclass(frozen=True)
class SynthPlate:
    """A drawn plate: BGR image, the printed lines (separators included) and their labels (plate key)."""

    image: np.ndarray
    printed: tuple[str, ...]
    lines: tuple[str, ...]
    kind: str


def font_path(names: tuple[str, ...]) -> Path:
    """The first of ``names`` found under the system font folders; ``FileNotFoundError`` if none."""
    for folder in FONT_DIRS:
        for name in names:
            if (folder / name).is_file():
                return folder / name
    raise FileNotFoundError(f"none of {names} under {[str(d) for d in FONT_DIRS]} (apt: fonts-dejavu-core, fonts-wqy-zenhei)")


@functools.lru_cache(maxsize=1)
def available_latin_fonts() -> list[Path]:
    """The Latin plate fonts installed here (at least one)."""
    found = [folder / n for folder in FONT_DIRS for n in LATIN_FONTS if (folder / n).is_file()]
    return found or [font_path(LATIN_FONTS)]


@functools.lru_cache(maxsize=1)
def _cjk_font() -> Path:
    return font_path(CJK_FONTS)


@functools.lru_cache(maxsize=4096)
def glyph(font: str, char: str) -> np.ndarray:
    """The ink mask (uint8, tight box) of ``char`` in ``font`` drawn at 96 px."""
    face = ImageFont.truetype(font, 96)
    canvas = Image.new("L", (160, 160), 0)
    ImageDraw.Draw(canvas).text((20, 10), char, font=face, fill=255)
    mask = np.asarray(canvas)
    ys, xs = np.nonzero(mask > 40)
    if len(xs) == 0:
        return np.zeros((8, 4), np.uint8)
    return mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].copy()


def is_cjk(char: str) -> bool:
    """Whether ``char`` is drawn with the CJK font (Chinese characters), not the Latin one (``Đ`` is Latin)."""
    return ord(char) >= 0x2E80


def _slots(text: str, height: int) -> list[tuple[str, float]]:
    """Width of each printed character relative to ``height``: characters 0.5, separators narrow."""
    out = []
    for c in text:
        if c in "-.·":
            out.append((c, 0.22))
        elif c == " ":
            out.append((c, 0.3))
        elif is_cjk(c):
            out.append((c, 0.62))
        else:
            out.append((c, 0.5))
    return out


def draw_line(img: np.ndarray, text: str, box: tuple[int, int, int, int], colour: tuple[int, int, int],
              latin: str, cjk: str, rng: random.Random, red_suffix: bool = False) -> None:
    """Draw one printed line into ``box`` of ``img`` (in place), characters stretched to the box height."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    slots = _slots(text, h)
    gap = 0.07 * h
    total = sum(w * h for _, w in slots) + gap * (len(slots) - 1)
    scale = min(1.0, (x1 - x0) / total)
    char_h = h  # the height stays; widths squeeze to fit the box
    x = x0 + ((x1 - x0) - total * scale) / 2 + rng.uniform(-2, 2)
    for c, w in slots:
        cw = max(1, int(round(w * h * scale)))
        if c == "-":
            yy = y0 + h // 2
            img[yy - max(1, h // 18) : yy + max(1, h // 18), int(x) : int(x) + cw] = colour
        elif c in ".·":
            yy = y1 - h // 9 if c == "." else y0 + h // 2
            d = max(2, h // 9)
            cx = int(x + cw / 2)
            img[yy - d // 2 : yy + d - d // 2, cx - d // 2 : cx + d - d // 2] = colour
        elif c != " ":
            mask = glyph(cjk if is_cjk(c) else latin, c)
            natural = max(1, int(round(mask.shape[1] / mask.shape[0] * char_h)))
            drawn = min(cw, natural)  # narrow glyphs (1, I) keep their shape, centred in the slot
            mask = cv2.resize(mask, (drawn, char_h), interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
            xi = int(x + (cw - drawn) / 2)
            region = img[max(0, y0) : y0 + char_h, xi : xi + drawn]
            mask = mask[char_h - region.shape[0] if y0 < 0 else 0 :][: region.shape[0], : region.shape[1]]
            ink = RED if (red_suffix and is_cjk(c) and c not in CN_PROVINCES) else colour
            region[:] = (region * (1 - mask) + np.array(ink, np.float32) * mask).astype(np.uint8)
        x += cw + gap * scale


def vn_text(rng: random.Random, kind: str) -> tuple[str, ...]:
    """Printed lines of a random Vietnamese plate of ``kind``."""
    province = rng.choice(VN_COMMON_PROVINCES) if rng.random() < 0.5 else rng.randint(11, 99)
    prov = f"{province:02d}"
    series = rng.choice(VN_COMMON_SERIES if rng.random() < 0.6 else VN_SERIES)
    five = "".join(rng.choice(DIGITS) for _ in range(5))
    four = "".join(rng.choice(DIGITS) for _ in range(4))
    tail5 = f"{five[:3]}.{five[3:]}"
    if kind == "vn_car":
        r = rng.random()
        if r < 0.7:
            return (f"{prov}{series}-{tail5}",)
        if r < 0.85:
            return (f"{prov}{series}-{four}",)
        return (f"{prov}{series}{rng.choice(VN_SERIES)}-{tail5}",)
    if kind == "vn_square":
        r = rng.random()
        if r < 0.45:
            return (f"{prov}{series}" + ("-" if rng.random() < 0.3 else ""), tail5)
        if r < 0.55:
            return (f"{prov}{series}", four)
        if r < 0.65:
            return (f"{prov}{series}{rng.choice(VN_SERIES)}", tail5)
        if r < 1 - VN_SQUARE_MD_SHARE:
            return (f"{prov}-{series}{rng.choice(DIGITS)}", tail5 if rng.random() < 0.8 else four)
        # electric plates as the dev crops show them: 23-MĐ1 / 023.61 (series MĐ, one digit 1-9, five digits)
        return (f"{prov}-MĐ{rng.choice(DIGITS[1:])}", tail5)
    r = rng.random()  # vn_moto
    if r < 0.05:
        return (f"{prov}-MĐ{rng.choice(DIGITS)}", tail5)
    second = rng.choice(DIGITS) if rng.random() < 0.9 else rng.choice(VN_SERIES)
    return (f"{prov}-{series}{second}", tail5 if rng.random() < 0.6 else four)


def cn_text(rng: random.Random, kind: str) -> tuple[str, ...]:
    """Printed lines of a random Chinese plate of ``kind``."""
    if kind == "cn_ccpd":
        r = rng.random()
        if r < sum(CCPD_PROVINCES.values()):
            province = rng.choices(list(CCPD_PROVINCES), weights=list(CCPD_PROVINCES.values()))[0]
        else:
            province = rng.choice(CN_PROVINCES)
        city = "A" if province == "皖" and rng.random() < CCPD_CITY_A else rng.choice(CN_LETTERS)
    else:
        province = rng.choice(CN_COMMON_PROVINCES) if rng.random() < 0.4 else rng.choice(CN_PROVINCES)
        city = rng.choice(CN_LETTERS)
    alnum = DIGITS * 3 + CN_LETTERS  # mostly digits, as on real plates
    if kind == "cn_green":
        body = rng.choice("DF") + "".join(rng.choice(DIGITS) for _ in range(5))
        if rng.random() < 0.3:
            body = "".join(rng.choice(DIGITS) for _ in range(5)) + rng.choice("DF")
        return (f"{province}{city}·{body}",)
    if kind == "cn_police":
        return (f"{province}{city}·{''.join(rng.choice(alnum) for _ in range(4))}警",)
    body = "".join(rng.choice(alnum) for _ in range(5))
    if kind == "cn_yellow2":
        return (f"{province} {city}", body if rng.random() < 0.85 else body[:4] + "挂")
    if kind == "cn_blue" and rng.random() < 0.04:
        body = body[:4] + "学"
    return (f"{province}{city}·{body}",)


def render_plate(rng: random.Random, kind: str | None = None, latin_font: Path | None = None) -> SynthPlate:
    """A clean plate of ``kind`` (random by :data:`KIND_WEIGHTS` when ``None``) at its layout size."""
    if kind is None:
        kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
    latin = str(latin_font or rng.choice(available_latin_fonts()))
    cjk = str(_cjk_font())
    layout = kind
    if kind.startswith("vn"):
        printed = vn_text(rng, kind)
        if kind == "vn_square" and "MĐ" in printed[0]:
            layout = "vn_square_md"
        colour_name = rng.choices(["white", "yellow", "blue"], weights=[0.7, 0.25, 0.05])[0]
        bg, fg = VN_COLOURS[colour_name]
    else:
        printed = cn_text(rng, kind)
        bg, fg = {
            "cn_blue": ((160, 60, 10), WHITE), "cn_ccpd": ((190, 110, 20), WHITE), "cn_yellow": ((30, 190, 235), BLACK), "cn_yellow2": ((30, 190, 235), BLACK),
            "cn_green": ((150, 225, 160), BLACK), "cn_police": ((235, 235, 235), BLACK),
        }[kind]
    width, height, boxes = LAYOUTS[layout]
    img = np.empty((height, width, 3), np.uint8)
    img[:] = np.clip(np.array(bg) + np.array([rng.randint(-20, 20) for _ in range(3)]), 0, 255)
    if kind == "cn_ccpd":  # CCPD blues run from pale cyan to deep navy
        img[:] = np.clip(img * rng.uniform(0.45, 1.3), 0, 255).astype(np.uint8)
    if kind == "cn_green":  # new-energy plates fade from white-green to green
        ramp = np.linspace(1.15, 0.85, height, dtype=np.float32)[:, None, None]
        img[:] = np.clip(img * ramp, 0, 255).astype(np.uint8)
    border = max(2, height // 30)
    cv2.rectangle(img, (border, border), (width - 1 - border, height - 1 - border), fg, border)
    for (x0, y0, x1, y1), line in zip(boxes, printed, strict=True):
        jitter = rng.randint(-3, 3)
        draw_line(img, line, (x0, y0 + jitter, x1, y1 + jitter), fg, latin, cjk, rng, red_suffix=kind == "cn_police")
    if kind.startswith("vn") and rng.random() < 0.5:  # screws
        for sx in (0.08, 0.92) if kind == "vn_car" else (0.3, 0.7):
            cv2.circle(img, (int(sx * width), int(0.1 * height) + 2), max(2, height // 25), (120, 120, 120), -1)
    labels = tuple(clean(line.replace("Đ", "D")) for line in printed)
    return SynthPlate(img, printed, labels, kind)


def _perspective(img: np.ndarray, rng: random.Random, strength: float, margin: float) -> np.ndarray:
    """The plate warped by a random perspective, inside a crop with ``margin`` of random background."""
    h, w = img.shape[:2]
    mx, my = int(w * margin * rng.uniform(0.2, 1)), int(h * margin * rng.uniform(0.2, 1.5))
    out_w, out_h = w + 2 * mx, h + 2 * my
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    jitter = [(rng.uniform(-strength, strength) * w, rng.uniform(-strength, strength) * h) for _ in range(4)]
    angle = np.deg2rad(rng.uniform(-6, 6))
    c, s = np.cos(angle), np.sin(angle)
    dst = []
    for (x, y), (jx, jy) in zip(src, jitter, strict=True):
        rx, ry = x - w / 2, y - h / 2
        dst.append((c * rx - s * ry + out_w / 2 + jx, s * rx + c * ry + out_h / 2 + jy))
    matrix = cv2.getPerspectiveTransform(src, np.array(dst, np.float32))
    tone = [rng.randint(20, 200)] * 3 if rng.random() < 0.6 else [rng.randint(0, 255) for _ in range(3)]
    return cv2.warpPerspective(img, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=tuple(tone))


def ccpd_crop(img: np.ndarray, rng: random.Random, size: tuple[int, int] = (94, 24)) -> np.ndarray:
    """A clean plate cut like the CCPD crops: tilted and sheared, the axis-aligned box of the tilted
    plate (edges jittered, sometimes into the frame), resized to ``size`` (width, height); BGR uint8."""
    h, w = img.shape[:2]
    pad = int(0.6 * h)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    angle = np.deg2rad(rng.uniform(-12, 12) if rng.random() < 0.5 else rng.uniform(-4, 4))
    shear = rng.uniform(-0.25, 0.25) if rng.random() < 0.5 else 0.0
    c, s = np.cos(angle), np.sin(angle)
    dst = []
    for x, y in src:
        rx, ry = x - w / 2 + shear * (y - h / 2), y - h / 2
        jx, jy = rng.uniform(-0.03, 0.03) * w, rng.uniform(-0.06, 0.06) * h
        dst.append((c * rx - s * ry + w / 2 + pad + jx, s * rx + c * ry + h / 2 + pad + jy))
    dst_arr = np.array(dst, np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst_arr)
    background = np.empty((h + 2 * pad, w + 2 * pad, 3), np.uint8)
    background[:] = [rng.randint(0, 160) for _ in range(3)]
    warped = cv2.warpPerspective(img, matrix, (w + 2 * pad, h + 2 * pad), dst=background,
                                 borderMode=cv2.BORDER_TRANSPARENT)
    x0, y0 = dst_arr.min(axis=0)
    x1, y1 = dst_arr.max(axis=0)
    bw, bh = x1 - x0, y1 - y0
    x0, x1 = x0 + rng.uniform(-0.03, 0.03) * bw, x1 + rng.uniform(-0.03, 0.03) * bw
    y0, y1 = y0 + rng.uniform(-0.05, 0.08) * bh, y1 + rng.uniform(-0.08, 0.05) * bh
    box = warped[max(0, int(y0)) : int(y1), max(0, int(x0)) : int(x1)]
    if rng.random() < 0.3:  # a lower-resolution source, enlarged to the crop size
        low = (max(16, int(size[0] * rng.uniform(0.4, 0.8))), max(6, int(size[1] * rng.uniform(0.4, 0.8))))
        box = cv2.resize(box, low, interpolation=cv2.INTER_AREA)
    out = cv2.resize(box, size, interpolation=cv2.INTER_AREA if box.shape[1] > size[0] else cv2.INTER_LINEAR)
    return camera_effects(out.astype(np.float32), rng)


def augment(img: np.ndarray, rng: random.Random, kind: str = "vn_car", small: float = 0.35) -> np.ndarray:
    """A camera-like copy of a clean plate: size (``small``: share drawn very small), dirt, glare,
    perspective, blur, exposure, noise, JPEG. BGR uint8 in and out.

    The plate is shrunk first (to about its final size), so the other steps work on few pixels.
    """
    if kind == "cn_ccpd":
        return ccpd_crop(img, rng)
    small = SMALL_SHARE.get(kind, small)
    h, w = img.shape[:2]
    two_line = kind in ("vn_moto", "vn_square", "cn_yellow2")
    if rng.random() < small:  # far plates: a motorbike plate ~25x30 px, a car plate ~60-90 px wide
        target_h = rng.uniform(22, 40) if two_line else rng.uniform(12, 22)
    else:
        target_h = rng.uniform(40, 140) if two_line else rng.uniform(22, 70)
    pre = min(1.0, 1.25 * target_h / h)
    out = cv2.resize(img, (max(8, round(w * pre)), max(8, round(h * pre))), interpolation=cv2.INTER_AREA)
    out = out.astype(np.float32)
    ph, pw = out.shape[:2]
    if rng.random() < 0.3:  # dirt: dark translucent blobs
        for _ in range(rng.randint(1, 4)):
            blob = np.zeros((ph, pw), np.float32)
            cv2.ellipse(blob, (rng.randint(0, pw), rng.randint(0, ph)),
                        (max(1, int(rng.uniform(0.02, 0.15) * pw)), max(1, int(rng.uniform(0.03, 0.2) * ph))),
                        rng.uniform(0, 180), 0, 360, 1.0, -1)
            blob = cv2.GaussianBlur(blob, (0, 0), max(0.5, 0.03 * ph))[..., None] * rng.uniform(0.2, 0.6)
            out = out * (1 - blob) + np.array([60, 70, 80], np.float32) * blob
    if rng.random() < 0.25:  # glare: a bright soft spot
        spot = np.zeros((ph, pw), np.float32)
        cv2.circle(spot, (rng.randint(0, pw), rng.randint(0, ph)), max(2, int(rng.uniform(0.1, 0.6) * ph)), 1.0, -1)
        spot = cv2.GaussianBlur(spot, (0, 0), max(1.0, 0.15 * ph))[..., None] * rng.uniform(0.3, 0.9)
        out = out * (1 - spot) + 255 * spot
    out8 = np.clip(out, 0, 255).astype(np.uint8)
    out8 = _perspective(out8, rng, rng.uniform(0.0, 0.07), rng.uniform(0.0, 0.12))
    oh, ow = out8.shape[:2]
    scale = target_h / ph
    out = cv2.resize(out8, (max(8, round(ow * scale * rng.uniform(0.9, 1.1))), max(8, round(oh * scale))),
                     interpolation=cv2.INTER_AREA).astype(np.float32)
    return camera_effects(out, rng)


def camera_effects(out: np.ndarray, rng: random.Random) -> np.ndarray:
    """Blur, motion blur, exposure, gamma, noise and JPEG on a float BGR image; uint8 out."""
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.2))
    elif rng.random() < 0.2:  # motion blur
        k = rng.randint(2, 4)
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1 / k
        out = cv2.filter2D(out, -1, kernel)
    out = out * rng.uniform(0.5, 1.3) + rng.uniform(-40, 40)  # exposure
    if rng.random() < 0.3:
        out = 255 * (np.clip(out, 0, 255) / 255) ** rng.uniform(0.6, 1.6)
    if rng.random() < 0.6:
        np_rng = np.random.default_rng(rng.getrandbits(32))
        out = out + np_rng.normal(0, rng.uniform(2, 12), out.shape)
    out8: np.ndarray = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, buf = cv2.imencode(".jpg", out8, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(20, 95)])
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        if decoded is not None:
            out8 = decoded
    return out8
