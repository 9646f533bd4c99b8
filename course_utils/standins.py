"""Offline stand-in datasets made from files the course's dependencies already ship (lessons 03, 06, 09).

* :func:`render_digits` draws MNIST-like handwritten-looking digits from the TrueType fonts that
  matplotlib ships, with random pen width, slant, rotation, aspect and a mild elastic wobble.
* :func:`photo_crops` cuts small natural-image patches (CIFAR-like) out of the photos that
  scikit-image ships, split by photo into ``"train"`` and ``"test"``.

Both are deterministic for a given ``seed`` and need no internet. Fonts and photos are read once,
on first use, and kept in memory. This module needs NumPy, OpenCV and Pillow, not TensorFlow.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from course_utils.validation import check_choice, check_positive_int

# DIGIT_FONTS is also public; it is provided by the module's __getattr__ (worked out on first use).
__all__ = [
    "PHOTOS",
    "digit_fonts",
    "photo_crops",
    "photo_split",
    "render_digits",
]

# ---------------------------------------------------------------------------------------------
# Digits
# ---------------------------------------------------------------------------------------------

#: Glyph names a font must give to the characters "0".."9". Symbol fonts put other glyphs there
#: (cmsy10 has "prime", "infinity"...), cmmi10 has old-style figures ("zerooldstyle") that hang
#: below the line, and Last Resort draws the same placeholder for every digit: all are skipped.
_DIGIT_GLYPH_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

_GLYPH_FONT_SIZE = 96  # pixels per em of the high-resolution glyphs
_GLYPH_MARGIN = 24  # empty border around each glyph, room for thickening the strokes
_GLYPHS: dict[tuple[str, int], tuple[np.ndarray, float]] = {}  # (font, digit) -> (distance fields, ink height)
_STROKE: dict[str, float] = {}  # font -> its typical stroke width in glyph pixels
_FONT_FILES: list[str] = []  # fonts that passed the check, filled on first use


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _has_proper_digits(path: Path) -> bool:
    """True if the font maps "0".."9" to glyphs named zero..nine (no symbols, no old-style figures)."""
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(str(path))
    except (OSError, RuntimeError):
        return False
    charmap = font.get_charmap()
    names = tuple(font.get_glyph_name(charmap.get(ord(str(d)), 0)) for d in range(10))
    return names == _DIGIT_GLYPH_NAMES


def _render_glyph(font, digit: int) -> np.ndarray:
    """The digit drawn white on black at high resolution, cropped to its ink plus a margin; float32 in [0, 1]."""
    from PIL import Image, ImageDraw

    left, top, right, bottom = font.getbbox(str(digit))
    m = _GLYPH_MARGIN
    canvas = Image.new("L", (right - left + 2 * m, bottom - top + 2 * m), 0)
    ImageDraw.Draw(canvas).text((m - left, m - top), str(digit), font=font, fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _distance_fields(ink: np.ndarray) -> np.ndarray:
    """Two distance maps of a glyph, in pixels, stacked as (H, W, 2) float32.

    Channel 0 is the signed distance to the outline (negative inside the strokes); channel 1 is the
    distance to the strokes' centre line (the skeleton), which draws the glyph with an even pen.
    """
    from skimage.morphology import skeletonize

    inside = (ink >= 0.5).astype(np.uint8)
    dist_in = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    dist_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)
    skeleton = skeletonize(inside.astype(bool)).astype(np.uint8)
    dist_centre = cv2.distanceTransform(1 - skeleton, cv2.DIST_L2, 5)
    return np.stack([dist_out - dist_in, dist_centre], axis=-1).astype(np.float32)


def _load_fonts() -> None:
    """Check every font matplotlib ships and pre-render the digits of the good ones (once per process)."""
    if _FONT_FILES:
        return
    from PIL import ImageFont

    for path in sorted(_font_dir().glob("*.ttf")):
        if not _has_proper_digits(path):
            continue
        font = ImageFont.truetype(str(path), _GLYPH_FONT_SIZE)
        glyphs, widths = {}, []
        for digit in range(10):
            ink = _render_glyph(font, digit)
            inside = ink >= 0.5
            if inside.sum() < 0.002 * ink.size:  # an empty or near-empty glyph: not usable
                break
            fields = _distance_fields(ink)
            rows = np.flatnonzero(inside.any(axis=1))
            glyphs[digit] = (fields, float(rows[-1] - rows[0] + 1))
            # Across a stroke of width w the distance to the outline rises 0 -> w/2 -> 0, so its mean
            # over the inked pixels is w/4: a cheap estimate of the font's stroke width.
            widths.append(4.0 * float(-fields[..., 0][inside].mean()))
        else:
            # Every digit must look different, otherwise the font draws placeholders.
            shapes = {tuple(g[0].shape) + (round(float(g[0].sum())),) for g in glyphs.values()}
            if len(shapes) < 10:
                continue
            for digit, glyph in glyphs.items():
                _GLYPHS[path.name, digit] = glyph
            _STROKE[path.name] = float(np.median(widths))
            _FONT_FILES.append(path.name)
    if not _FONT_FILES:
        raise RuntimeError(
            f"No usable digit font was found in {_font_dir()}; render_digits needs the TrueType fonts "
            "that matplotlib ships (reinstall matplotlib)."
        )


def digit_fonts() -> tuple[str, ...]:
    """The font files (in matplotlib's font folder) that :func:`render_digits` draws with; lesson 03."""
    _load_fonts()
    return tuple(_FONT_FILES)


def _smooth_field(coarse: np.ndarray, side: int) -> np.ndarray:
    """A smooth random field of shape (side, side) interpolated from a small grid of random numbers."""
    return cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)


def render_digits(n: int, *, seed: int = 0, image_size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Render ``n`` MNIST-like digits, white on black; returns (uint8 images (n, size, size), uint8 labels); lesson 03.

    Each digit is a glyph from a random font, with a random pen width (thinner or thicker, thickness
    varying a little along the stroke), rotation (about +-15 degrees), slant, aspect, size, a mild
    elastic wobble, a small shift and a slight blur. As for MNIST, the digit is fitted into a box of
    about 20x20 pixels (of 28x28) and placed so that its centre of mass is near the image centre.
    Classes are balanced (counts differ by at most one) and come in random order. The same ``seed``
    gives the identical arrays.
    """
    n = check_positive_int("n", n, minimum=0)
    image_size = check_positive_int("image_size", image_size, minimum=8)
    seed = check_positive_int("seed", seed, minimum=0)
    images = np.zeros((n, image_size, image_size), dtype=np.uint8)
    if n == 0:
        return images, np.zeros((0,), dtype=np.uint8)
    _load_fonts()
    rng = np.random.default_rng(seed)

    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    fonts = rng.integers(0, len(_FONT_FILES), size=n)
    angle = np.deg2rad(np.clip(rng.normal(0.0, 7.0, size=n), -15.0, 15.0))
    shear = np.clip(rng.normal(0.0, 0.15, size=n), -0.35, 0.35)  # slant: x moves by shear * height
    aspect = np.exp(rng.uniform(np.log(0.7), np.log(1.3), size=n))  # width stretch
    stroke = rng.uniform(0.09, 0.2, size=n)  # pen width as a fraction of the digit's height
    pen_mix = rng.uniform(0.4, 1.0, size=n)  # 0: the font's own strokes, 1: an even pen along their middle
    box = rng.uniform(16.5, 20.0, size=n) / 28.0 * image_size  # side of the box the digit is fitted into
    shift = rng.uniform(-0.75, 0.75, size=(n, 2)) / 28.0 * image_size
    blur = rng.uniform(0.2, 0.7, size=n) / 28.0 * image_size
    warp_noise = rng.standard_normal((n, 2, 4, 4)).astype(np.float32)
    pen_noise = rng.standard_normal((n, 3, 3)).astype(np.float32)

    # Work on a canvas three times finer than the output, then shrink with anti-aliasing.
    side = 3 * image_size
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float32) - (side - 1) / 2.0
    digit_height = 0.55 * side  # nominal height on the canvas (the fit below sets the final size)
    soft = 1.0  # width, in canvas pixels, of the anti-aliased edge of the strokes
    wobble = 0.025 * side  # elastic displacement scale, in canvas pixels
    far = float(4 * _GLYPH_FONT_SIZE)  # distance used outside the glyph image
    centre_out = (image_size - 1) / 2.0

    for i in range(n):
        font = _FONT_FILES[fonts[i]]
        fields, glyph_height = _GLYPHS[font, int(labels[i])]
        scale = digit_height / glyph_height  # canvas pixels per glyph pixel
        # Inverse map, canvas -> glyph: undo rotation, then slant, then aspect and scale; add the wobble.
        cos, sin = np.cos(angle[i]), np.sin(angle[i])
        u = cos * xs + sin * ys
        v = -sin * xs + cos * ys
        u = u + shear[i] * v + _smooth_field(warp_noise[i, 0], side) * wobble
        v = v + _smooth_field(warp_noise[i, 1], side) * wobble
        h, w = fields.shape[:2]
        map_x = (u / (scale * aspect[i]) + (w - 1) / 2.0).astype(np.float32)
        map_y = (v / scale + (h - 1) / 2.0).astype(np.float32)
        dist = cv2.remap(fields, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(far, far))
        # Distance from the middle of the stroke, mixing the font's own outline (thick and thin parts,
        # shifted so a typical stroke is centred on 0) with the centre line (an even pen, like handwriting).
        centred = (1.0 - pen_mix[i]) * (dist[..., 0] + 0.5 * _STROKE[font]) + pen_mix[i] * dist[..., 1]
        # Draw with the wanted pen width; the pen presses a little harder in some places than in others.
        half_width = 0.5 * stroke[i] * glyph_height * (1.0 + 0.2 * _smooth_field(pen_noise[i], side))
        ink = np.clip(0.5 + (half_width - centred) * (scale / soft), 0.0, 1.0)

        # Fit the ink's bounding box into the box (keeping the aspect ratio), with anti-aliasing.
        x0, y0, bw, bh = cv2.boundingRect((ink > 0.02).astype(np.uint8))
        if bw == 0 or bh == 0:
            continue
        fit = box[i] / max(bw, bh)
        new_w, new_h = max(1, round(bw * fit)), max(1, round(bh * fit))
        small = cv2.resize(ink[y0 : y0 + bh, x0 : x0 + bw], (new_w, new_h), interpolation=cv2.INTER_AREA)
        # Move the centre of mass to the image centre (plus the small random shift).
        mass = small.sum()
        cy = (small.sum(axis=1) @ np.arange(new_h)) / mass
        cx = (small.sum(axis=0) @ np.arange(new_w)) / mass
        move = np.float32([[1, 0, centre_out + shift[i, 0] - cx], [0, 1, centre_out + shift[i, 1] - cy]])
        placed = cv2.warpAffine(small, move, (image_size, image_size), flags=cv2.INTER_LINEAR)
        if blur[i] > 0.15:
            placed = cv2.GaussianBlur(placed, (0, 0), float(blur[i]))
        peak = placed.max()
        if peak > 0:
            images[i] = np.round(np.clip(placed / peak, 0.0, 1.0) * 255.0)
    return images, labels


# ---------------------------------------------------------------------------------------------
# Photo crops
# ---------------------------------------------------------------------------------------------

#: The photographs in scikit-image's package folder ``skimage/data`` that :func:`photo_crops` cuts
#: from. They are installed with scikit-image (no download). Left out: drawings and synthetic
#: images (logo, horse silhouette, color wheel, chessboards, phantom), text (page, text),
#: near-blank or deliberately degraded shots (cell, clock_motion), the 102-pixel microaneurysms
#: and motorcycle_right (the stereo twin of motorcycle_left: it would repeat it, or leak it into the test split).
PHOTOS: tuple[str, ...] = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "moon.png",
    "motorcycle_left.png",
    "retina.jpg",
    "rocket.jpg",
)

#: Held-out photos: crops of ``split="test"`` come only from these, crops of ``"train"`` never do.
#: One of each kind: an animal (colour), objects (grey), a texture (grey) and a scene at night (colour).
_TEST_PHOTOS: tuple[str, ...] = ("chelsea.png", "coins.png", "grass.png", "rocket.jpg")

#: Part of a photo to use, as (top, bottom, left, right) fractions: the retina photo is a disc on
#: black, so only the square inside the disc is used.
_REGIONS: dict[str, tuple[float, float, float, float]] = {"retina.jpg": (0.18, 0.82, 0.18, 0.82)}

_MAX_ZOOM_OUT = 12.0  # a crop covers a window of up to this many times its side, shrunk down
_PHOTO_CACHE: dict[str, np.ndarray] = {}


def photo_split() -> dict[str, list[str]]:
    """Which scikit-image photos feed each split: {"train": [...], "test": [...]}; lesson 09."""
    return {
        "train": [p for p in PHOTOS if p not in _TEST_PHOTOS],
        "test": list(_TEST_PHOTOS),
    }


def _skimage_data_dir() -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        raise RuntimeError("photo_crops needs scikit-image installed (pip install scikit-image).")
    return Path(spec.origin).parent / "data"


def _load_photo(name: str) -> np.ndarray:
    """One photo as a uint8 RGB array (grey photos repeated into three channels), read once and cached."""
    if name not in _PHOTO_CACHE:
        from PIL import Image

        path = _skimage_data_dir() / name
        if not path.is_file():
            raise FileNotFoundError(
                f"photo_crops needs {path}, which scikit-image normally installs; reinstall scikit-image."
            )
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
        top, bottom, left, right = _REGIONS.get(name, (0.0, 1.0, 0.0, 1.0))
        h, w = rgb.shape[:2]
        rgb = rgb[round(top * h) : round(bottom * h), round(left * w) : round(right * w)]
        _PHOTO_CACHE[name] = np.ascontiguousarray(rgb)
    return _PHOTO_CACHE[name]


def photo_crops(n: int, *, size: int = 32, split: str = "train", seed: int = 0) -> np.ndarray:
    """Cut ``n`` random natural-image crops, uint8 of shape (n, size, size, 3), from scikit-image's photos; lesson 09.

    Each crop picks a photo of the split at random, a square window of random size (from ``size`` up
    to twelve times larger, shrunk to ``size`` with anti-aliasing, so crops look like small complete
    pictures rather than flat close-ups) at a random place, and flips it left-right half of the time.
    ``split="test"`` uses only the held-out photos of :func:`photo_split`. The same ``seed`` gives
    the identical array.
    """
    n = check_positive_int("n", n, minimum=0)
    size = check_positive_int("size", size, minimum=4)
    split = check_choice("split", split, ("train", "test"))
    seed = check_positive_int("seed", seed, minimum=0)
    names = photo_split()[split]
    if n == 0:
        return np.zeros((0, size, size, 3), dtype=np.uint8)
    photos = [_load_photo(name) for name in names]
    smallest = min(min(p.shape[:2]) for p in photos)
    if size > smallest:
        raise ValueError(
            f"size must be at most {smallest} for split {split!r} (its smallest photo is {smallest} pixels "
            f"across); got {size}."
        )
    out = np.zeros((n, size, size, 3), dtype=np.uint8)  # allocated once the size is known to be possible
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(photos), size=n)
    zoom = rng.uniform(0.0, 1.0, size=n)
    corner = rng.uniform(0.0, 1.0, size=(n, 2))
    flip = rng.uniform(0.0, 1.0, size=n) < 0.5
    for i in range(n):
        photo = photos[which[i]]
        h, w = photo.shape[:2]
        largest = min(h, w, _MAX_ZOOM_OUT * size)
        # Log-uniform window side: each doubling of the zoom is equally likely.
        window = int(round(size * (largest / size) ** zoom[i]))
        top = int(corner[i, 0] * (h - window + 1))
        left = int(corner[i, 1] * (w - window + 1))
        patch = photo[top : top + window, left : left + window]
        if window != size:
            patch = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
        out[i] = patch[:, ::-1] if flip[i] else patch
    return out


def __getattr__(name: str):
    # DIGIT_FONTS is worked out on first use (it opens every font), not when the module is imported.
    if name == "DIGIT_FONTS":
        return digit_fonts()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
