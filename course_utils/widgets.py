"""Interactive widgets for the notebooks, usable from code too (lesson 01 onwards).

Each widget keeps its state in ordinary ``.value`` attributes, so a cell can drive it exactly as a
learner's mouse would (``explorer.preset.value = "sharpen"``) and show the result as a plain picture
with ``.show()``. This is how the tests run the notebooks without a browser. When ipywidgets is not
installed the same attributes exist as plain value holders: nothing is interactive, but every cell
still runs and the pictures still show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from course_utils.validation import check_positive_int, describe

__all__ = ["CUSTOM", "PIXEL_RATIO", "KernelExplorer", "filter_image", "png_size", "set_figure"]

#: The preset name shown when the kernel was edited by hand and matches no preset.
CUSTOM = "(custom)"
#: Pictures hold this many pixels per displayed pixel along each side, so they stay sharp on high-density
#: ("retina") screens; they are shown at the size the figure would have at its display dpi.
PIXEL_RATIO = 2


class _Value:
    """A stand-in for an ipywidgets control when ipywidgets is missing: a value that calls observers."""

    def __init__(self, value: Any, options: tuple[Any, ...] | None = None) -> None:
        self._value, self.options, self._observers = value, options, []

    @property
    def value(self) -> Any:
        return self._value

    @value.setter
    def value(self, new: Any) -> None:
        if self.options is not None and new not in self.options:
            raise ValueError(f"value must be one of {list(self.options)}; got {new!r}.")
        old, self._value = self._value, new
        if new != old:
            for callback in self._observers:
                callback({"name": "value", "old": old, "new": new})

    def observe(self, callback: Callable[[dict], None], names: str = "value") -> None:
        self._observers.append(callback)


def png_size(png: bytes) -> tuple[int, int]:
    """The (width, height) in pixels of PNG bytes, read from the header; lessons 01, 04 and 09."""
    if not isinstance(png, (bytes, bytearray)) or png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        raise ValueError(f"png must be the bytes of a PNG file; got {describe(png)}.")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def set_figure(picture: Any, fig: Any, *, dpi: int = 72, pixel_ratio: int = PIXEL_RATIO) -> bytes:
    """Show a matplotlib figure in an ``ipywidgets.Image``, sharp on high-density screens; lessons 01 and 09.

    The PNG is rendered at ``dpi * pixel_ratio`` and the widget is sized to the figure at ``dpi``, so the
    picture keeps its size on the page and gains detail. Returns the PNG bytes.
    """
    from course_utils import viz

    dpi = check_positive_int("dpi", dpi)
    pixel_ratio = check_positive_int("pixel_ratio", pixel_ratio)
    png = viz.figure_to_png(fig, dpi=dpi * pixel_ratio)
    width, height = png_size(png)
    picture.value = png
    picture.layout.width = f"{round(width / pixel_ratio)}px"
    picture.layout.height = "auto"  # with max_width, a narrow page shrinks the picture but keeps its shape
    picture.layout.max_width = "100%"
    return png


def _ipywidgets() -> Any:
    """The ipywidgets module, or None when it is not installed."""
    try:
        import ipywidgets
    except ImportError:
        return None
    return ipywidgets


def _as_kernel(kernel: Any, size: int | None = None) -> np.ndarray:
    array = np.asarray(kernel, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"a kernel must be a square 2-D array (k, k); got {describe(array)}.")
    if size is not None and array.shape[0] != size:
        raise ValueError(f"this explorer edits {size}x{size} kernels; got {describe(array)}.")
    if not np.all(np.isfinite(array)):
        raise ValueError("a kernel must hold finite numbers (no NaN or infinity).")
    return array


def filter_image(image: Any, kernel: Any) -> np.ndarray:
    """Cross-correlate a grey (H, W) or colour (H, W, C) image with a (k, k) kernel, 'same' size; lesson 01.

    Uses :func:`course_utils.conv.conv2d` with TensorFlow's 'same' zero padding; each colour channel is
    filtered on its own. Returns float64 values (not clipped).
    """
    from course_utils import conv

    picture = np.asarray(image, dtype=np.float64)
    if picture.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C); got {describe(picture)}.")
    k = _as_kernel(kernel)
    channels = picture[None, :, :, None] if picture.ndim == 2 else np.moveaxis(picture, -1, 0)[..., None]
    out = conv.conv2d(channels, k[:, :, None, None], padding="same")[..., 0]  # (C, H, W)
    return out[0] if picture.ndim == 2 else np.moveaxis(out, 0, -1)


class PictureWidget:
    """Controls above a picture that redraws when they change; the base of the course's widgets.

    A subclass sets ``dpi`` and, when ipywidgets is there, ``picture`` (an ``ipywidgets.Image``), then
    defines :meth:`figure` (the current state as a matplotlib figure), :meth:`_build_widget` (the
    controls laid out above the picture, so the picture never covers them) and :meth:`_describe` (a
    one-line text). Setting a control's ``.value`` in code redraws, so the widgets work without a browser
    (the tests drive them that way). ``dpi`` sets the displayed size; the PNG holds ``pixel_ratio`` times
    more pixels per side (:func:`set_figure`).
    """

    dpi: int = 72
    pixel_ratio: int = PIXEL_RATIO
    picture: Any = None
    _ipw: Any = None
    _box: Any = None

    def figure(self) -> Any:
        """The current state as a matplotlib figure."""
        raise NotImplementedError

    def _build_widget(self) -> Any:
        raise NotImplementedError

    def _describe(self) -> str:
        return type(self).__name__

    def png(self) -> bytes:
        """The current picture as PNG bytes, at ``dpi * pixel_ratio``."""
        from course_utils import viz

        return viz.figure_to_png(self.figure(), dpi=self.dpi * self.pixel_ratio)

    def display_size(self, png: bytes) -> tuple[int, int]:
        """The (width, height) at which ``png`` is shown: its pixels divided by ``pixel_ratio``."""
        width, height = png_size(png)
        return round(width / self.pixel_ratio), round(height / self.pixel_ratio)

    def _refresh(self) -> None:
        if self.picture is not None:
            set_figure(self.picture, self.figure(), dpi=self.dpi, pixel_ratio=self.pixel_ratio)

    def show(self) -> None:
        """Display the current state as a plain picture (works without a browser)."""
        from IPython.display import Image, display

        png = self.png()
        width, height = self.display_size(png)
        display(Image(data=png, width=width, height=height))

    @property
    def widget(self) -> Any:
        """The interactive version: the controls with the picture (None without ipywidgets)."""
        if self._ipw is None:
            return None
        if self._box is None:
            self._box = self._build_widget()
        return self._box

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Jupyter shows the widget; a viewer without widgets (GitHub, a static export) shows the PNG.

        Returns the data and the metadata that gives the PNG its displayed size.
        """
        import base64

        png = self.png()
        width, height = self.display_size(png)
        bundle: dict[str, Any] = {
            "text/plain": self._describe(),
            "image/png": base64.b64encode(png).decode("ascii"),
        }
        widget = self.widget
        if widget is not None:  # the same message ipywidgets 7 and 8 send to show a widget
            bundle["application/vnd.jupyter.widget-view+json"] = {
                "version_major": 2,
                "version_minor": 0,
                "model_id": widget.model_id,
            }
        return bundle, {"image/png": {"width": width, "height": height}}


class KernelExplorer(PictureWidget):
    """Pick a preset or type a k x k kernel and see the filtered image update; lesson 01.

    ``presets`` maps names to (k, k) kernels (all the same size). ``apply(image, kernel)`` computes the
    output (by default :func:`filter_image`). Controls: ``preset`` (a dropdown) and ``cells`` (k rows of k
    number boxes). Read ``kernel`` and ``result``; ``set_kernel()`` types a whole kernel in; ``show()``
    displays the current state as a picture; displaying the explorer itself gives the interactive version.
    """

    def __init__(
        self,
        image: Any,
        presets: Mapping[str, Any],
        *,
        apply: Callable[[np.ndarray, np.ndarray], Any] | None = None,
        image_title: str = "input",
        dpi: int = 72,
    ) -> None:
        picture = np.asarray(image)
        if picture.ndim not in (2, 3) or not np.issubdtype(picture.dtype, np.number):
            raise ValueError(
                f"image must be a grey (H, W) or colour (H, W, C) array of numbers; got {describe(picture)}."
            )
        if not isinstance(presets, Mapping) or not presets:
            raise ValueError("presets must be a dict of at least one name -> (k, k) kernel, e.g. {'identity': ...}.")
        first = _as_kernel(next(iter(presets.values())))
        self.size = first.shape[0]
        self.presets = {str(name): _as_kernel(k, self.size) for name, k in presets.items()}
        if CUSTOM in self.presets:
            raise ValueError(f"{CUSTOM!r} is reserved for hand-edited kernels; rename that preset.")
        self.image = picture
        self.apply = apply or filter_image
        self.image_title = image_title
        self.dpi = check_positive_int("dpi", dpi)
        self._updating = False
        self._box: Any = None
        self._ipw = _ipywidgets()
        names = (*self.presets, CUSTOM)
        start = next(iter(self.presets))
        if self._ipw is not None:
            ipw = self._ipw
            self.preset = ipw.Dropdown(options=names, value=start, description="preset",
                                       layout=ipw.Layout(width="16em", min_width="12em"))
            self.cells = [
                [ipw.FloatText(value=float(first[r, c]), step=0.1, layout=ipw.Layout(width="5.5em"))
                 for c in range(self.size)]
                for r in range(self.size)
            ]
            self.picture = ipw.Image(format="png")
        else:
            self.preset = _Value(start, names)
            self.cells = [[_Value(float(first[r, c])) for c in range(self.size)] for r in range(self.size)]
            self.picture = None
        self.preset.observe(self._on_preset, names="value")
        for row in self.cells:
            for cell in row:
                cell.observe(self._on_cell, names="value")
        self._refresh()

    # ------------------------------------------------------------------ state

    @property
    def kernel(self) -> np.ndarray:
        """The kernel as typed in the cells, a (k, k) float array."""
        return np.array([[float(cell.value) for cell in row] for row in self.cells])

    @property
    def result(self) -> np.ndarray:
        """The image filtered with the current kernel."""
        return np.asarray(self.apply(self.image, self.kernel))

    def set_kernel(self, kernel: Any) -> None:
        """Type a whole (k, k) kernel into the cells (the preset follows if it matches one)."""
        k = _as_kernel(kernel, self.size)
        self._updating = True
        try:
            for r, row in enumerate(self.cells):
                for c, cell in enumerate(row):
                    cell.value = float(k[r, c])
        finally:
            self._updating = False
        self._match_preset()
        self._refresh()

    def _match_preset(self) -> None:
        kernel = self.kernel
        name = next((n for n, k in self.presets.items() if np.allclose(k, kernel)), CUSTOM)
        if self.preset.value != name:
            self._updating = True
            try:
                self.preset.value = name
            finally:
                self._updating = False

    def _on_preset(self, change: dict) -> None:
        if self._updating or change["new"] == CUSTOM:
            return
        self.set_kernel(self.presets[change["new"]])

    def _on_cell(self, change: dict) -> None:
        if self._updating:
            return
        self._match_preset()
        self._refresh()

    # ------------------------------------------------------------------ pictures

    def figure(self) -> Any:
        """A matplotlib figure of the input, the kernel with its numbers, and the output."""
        from matplotlib.figure import Figure

        from course_utils import viz

        kernel, result = self.kernel, self.result
        fig = Figure(figsize=(9.6, 3.4))
        axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 0.8, 1]})
        image = np.asarray(self.image, dtype=np.float64)
        scale = 255.0 if image.max() > 1.5 else 1.0  # extra: uint8-style images shown in [0, 255]
        # A kernel whose weights sum to 0 answers "how much does the image change here": centred on zero.
        # Any other kernel gives an image-like output, shown on the input's scale (values beyond it clipped).
        signed = abs(kernel.sum()) < 1e-9
        for ax, picture, title in ((axes[0], image, self.image_title), (axes[2], result, None)):
            picture = np.asarray(picture, dtype=np.float64)
            if picture.ndim == 3:
                ax.imshow(np.clip(picture / scale, 0, 1), interpolation="nearest")
            elif signed and picture is result:
                low, high = viz.signed_limits(picture)
                ax.imshow(picture, cmap=viz.SIGNED_CMAP, vmin=low, vmax=high, interpolation="nearest")
            else:
                ax.imshow(picture, cmap="gray", vmin=0, vmax=scale, interpolation="nearest")
            ax.axis("off")
            ax.set_title(title or f"output, values in [{picture.min():.3g}, {picture.max():.3g}]", fontsize=10)
        title = f"kernel '{self.preset.value}', sum {kernel.sum():.3g}"
        viz.draw_number_grid(kernel, axes[1], fmt="{:.3g}", title=title)
        fig.tight_layout()
        return fig

    def _build_widget(self) -> Any:
        ipw = self._ipw
        grid = ipw.GridBox(
            [cell for row in self.cells for cell in row],
            layout=ipw.Layout(grid_template_columns=f"repeat({self.size}, 6em)"),
        )
        note = ipw.HTML("<b>kernel</b>: type a number, press Enter")
        # The controls sit above the picture, never beside it: a wide picture could squeeze or cover them.
        controls = ipw.HBox([self.preset, ipw.VBox([note, grid])], layout=ipw.Layout(flex_flow="row wrap"))
        return ipw.VBox([controls, self.picture])

    def _describe(self) -> str:
        return f"KernelExplorer({self.size}x{self.size} kernel, preset {self.preset.value!r})"
