"""Plotting helpers: grids of images and small arrays drawn with their numbers (lesson 01 onwards).

Every function draws with matplotlib and returns the figure (or axes) it drew on, without calling
``plt.show()``, so a notebook decides when to show it and a test can look at what was drawn.
Importing this module does not import pyplot or change matplotlib's settings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from course_utils.validation import check_positive_int, describe

__all__ = ["SIGNED_CMAP", "draw_number_grid", "figure_to_png", "is_signed", "show_images", "signed_limits"]

#: The colour map for images with negative values: blue below zero, white at zero, red above.
SIGNED_CMAP = "RdBu_r"


def _as_picture(name: str, image: Any) -> np.ndarray:
    """An image as a float or uint8 array (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); tensors are converted."""
    if hasattr(image, "numpy") and hasattr(image, "shape"):
        image = image.numpy()
    array = np.asarray(image)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must be an array of numbers; got {describe(array)}.")
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        hint = " (a batch? pass a list of images or images[0])" if array.ndim == 4 else ""
        raise ValueError(
            f"{name} must be one image shaped (H, W), (H, W, 1) or (H, W, 3); got {describe(array)}{hint}."
        )
    return array.astype(np.float32) if array.dtype == bool else array


def _is_pair(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in value)
    )


def _per_image(name: str, value: Any, count: int, valid: Any) -> list[Any]:
    """One setting for every image, or a list of one per image, as a list of ``count`` settings."""
    if valid(value):
        return [value] * count
    if isinstance(value, (tuple, list)) and len(value) == count and all(valid(v) for v in value):
        return list(value)
    raise ValueError(
        f"{name} must be one setting for every image or a list of one per image ({count}); got {value!r}."
    )


def is_signed(image: Any) -> bool:
    """True when an image holds negative values, so it is best shown centred on zero; lesson 01."""
    array = np.asarray(image)
    return bool(array.size) and np.issubdtype(array.dtype, np.number) and float(np.nanmin(array)) < 0


def signed_limits(image: Any) -> tuple[float, float]:
    """Colour limits (-m, m) with m the largest absolute value, so zero sits in the middle; lesson 01."""
    array = np.asarray(image, dtype=np.float64)
    m = float(np.nanmax(np.abs(array))) if array.size else 0.0
    m = m if m > 0 else 1.0
    return -m, m


def show_images(
    images: Sequence[Any],
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    size: float = 2.4,
    cmap: str = "gray",
    signed: bool | Sequence[bool | None] | None = None,
    limits: tuple[float, float] | Sequence[tuple[float, float] | None] | None = None,
    colorbar: bool = False,
    suptitle: str | None = None,
) -> Any:
    """Show images side by side in a grid, each with an optional title, and return the figure; lesson 01.

    Grey images use ``cmap``, stretched to their own range unless ``limits=(low, high)`` fixes it (values
    outside are clipped), e.g. ``(0, 1)`` to compare the brightness of several images. A *signed* image (a
    filter response, a difference) uses the diverging ``SIGNED_CMAP`` centred on zero, so that zero is
    always white. By default an image is signed when it holds negative values; ``signed`` and ``limits``
    take one value for every image or a list with one per image (None: the default for that image).
    Pixels are drawn as squares, without smoothing. ``colorbar=True`` adds a colour scale to each image.
    """
    import matplotlib.pyplot as plt

    if hasattr(images, "shape") and np.ndim(images) in (2, 3) and not isinstance(images, (list, tuple)):
        images = [images]  # one image given on its own
    pictures = [_as_picture(f"images[{i}]", image) for i, image in enumerate(images)]
    if not pictures:
        raise ValueError("images must hold at least one image; got an empty sequence.")
    if titles is not None and len(titles) != len(pictures):
        raise ValueError(f"titles must give one title per image: {len(pictures)} images but {len(titles)} titles.")
    signs = _per_image("signed", signed, len(pictures), lambda v: v is None or isinstance(v, (bool, np.bool_)))
    ranges = _per_image("limits", limits, len(pictures), lambda v: v is None or _is_pair(v))
    ncols = len(pictures) if ncols is None else check_positive_int("ncols", ncols)
    ncols = min(ncols, len(pictures))
    nrows = math.ceil(len(pictures) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if suptitle else 0)))
    axes = np.atleast_1d(axes).ravel()
    for index, ax in enumerate(axes):
        ax.axis("off")
        if index >= len(pictures):
            continue
        picture = pictures[index]
        shown_signed = is_signed(picture) if signs[index] is None else bool(signs[index])
        if picture.ndim == 3:  # colour: values must lie in [0, 1] (floats) or [0, 255] (uint8)
            colour = np.clip(picture, 0, 1) if picture.dtype.kind == "f" else picture
            handle = ax.imshow(colour, interpolation="nearest")
        elif shown_signed:
            low, high = signed_limits(picture) if ranges[index] is None else ranges[index]
            handle = ax.imshow(picture, cmap=SIGNED_CMAP, vmin=low, vmax=high, interpolation="nearest")
        else:
            low, high = (None, None) if ranges[index] is None else ranges[index]
            handle = ax.imshow(picture, cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[index], fontsize=10)
        if colorbar and picture.ndim == 2:
            fig.colorbar(handle, ax=ax, fraction=0.046, pad=0.04)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def draw_number_grid(
    array: Any,
    ax: Any = None,
    *,
    title: str | None = None,
    fmt: str = "{:g}",
    cmap: str = "Blues",
    shade: bool = True,
    marked: Any = None,
    mark_color: str = "#f2c14e",
    boxes: Sequence[tuple[int, int, int, int]] = (),
    box_colors: Sequence[str] = ("tab:red", "tab:green", "tab:purple", "tab:orange"),
    fontsize: float | None = None,
) -> Any:
    """Draw a small 2-D array as a grid of cells with each value written in it, and return the axes; lesson 01.

    ``shade`` tints cells by value (``cmap``). ``marked`` is a boolean array of the same shape whose True
    cells are filled with ``mark_color`` (padding, the taps of a dilated kernel...). ``boxes`` outlines
    rectangles ``(row, column, height, width)``, e.g. the window a kernel covers, in ``box_colors`` in turn.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if hasattr(array, "numpy") and hasattr(array, "shape"):
        array = array.numpy()
    values = np.asarray(array)
    if values.ndim != 2 or not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise ValueError(f"array must be a 2-D array of numbers (rows, columns); got {describe(values)}.")
    rows, cols = values.shape
    if marked is not None:
        marked = np.asarray(marked, dtype=bool)
        if marked.shape != values.shape:
            raise ValueError(f"marked must have the array's shape {values.shape}; got {describe(marked)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * cols + 0.4, 0.45 * rows + 0.5))
    numbers = values.astype(np.float64)
    colours = np.ones((rows, cols, 4))
    if shade and values.size:
        low, high = float(numbers.min()), float(numbers.max())
        scaled = (numbers - low) / (high - low) if high > low else np.zeros_like(numbers)
        colours = plt.get_cmap(cmap)(0.05 + 0.45 * scaled)  # light tints keep the numbers readable
    if marked is not None:
        from matplotlib.colors import to_rgba

        colours[marked] = to_rgba(mark_color)
    ax.imshow(colours, interpolation="nearest", extent=(-0.5, cols - 0.5, rows - 0.5, -0.5))
    size = fontsize or max(6.0, min(11.0, 90.0 / max(rows, cols, 1)))
    for r in range(rows):
        for c in range(cols):
            ax.text(c, r, fmt.format(values[r, c]), ha="center", va="center", fontsize=size)
    for index, box in enumerate(boxes):
        if len(box) != 4:
            raise ValueError(f"each box must be (row, column, height, width); got {box!r}.")
        r, c, h, w = box
        color = box_colors[index % len(box_colors)]
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, edgecolor=color, linewidth=2.5))
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color="0.55", linewidth=0.6)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def figure_to_png(fig: Any, *, dpi: int = 80) -> bytes:
    """The PNG bytes of a matplotlib figure (for an image widget, or to save); lesson 01."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=check_positive_int("dpi", dpi), bbox_inches="tight")
    return buffer.getvalue()
