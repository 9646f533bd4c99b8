"""The kernel explorer follows its controls when driven from code, and still works without ipywidgets."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
import io  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.signal  # noqa: E402
from PIL import Image  # noqa: E402

from course_utils import widgets  # noqa: E402

IDENTITY = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
BOX = np.full((3, 3), 1 / 9)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
PRESETS = {"identity": IDENTITY, "box blur": BOX, "Sobel x": SOBEL_X}


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(0).random((12, 10))


def test_filter_image_is_same_size_cross_correlation(image: np.ndarray) -> None:
    kernel = np.arange(9.0).reshape(3, 3)
    expected = scipy.signal.correlate2d(image, kernel, mode="same")  # zero padding, no flip
    np.testing.assert_allclose(widgets.filter_image(image, kernel), expected)
    colour = np.stack([image, 2 * image], axis=-1)
    out = widgets.filter_image(colour, kernel)
    assert out.shape == colour.shape
    np.testing.assert_allclose(out[..., 1], 2 * expected)


def test_explorer_follows_preset_and_cells(image: np.ndarray) -> None:
    explorer = widgets.KernelExplorer(image, PRESETS)
    np.testing.assert_allclose(explorer.kernel, IDENTITY)
    np.testing.assert_allclose(explorer.result, image)
    first_picture = bytes(explorer.picture.value)
    assert first_picture.startswith(b"\x89PNG")

    explorer.preset.value = "Sobel x"
    np.testing.assert_allclose(explorer.kernel, SOBEL_X)
    np.testing.assert_allclose(explorer.result, widgets.filter_image(image, SOBEL_X))
    assert bytes(explorer.picture.value) != first_picture

    explorer.cells[1][1].value = 1.0  # a hand edit matches no preset
    assert explorer.preset.value == widgets.CUSTOM
    assert explorer.kernel[1, 1] == 1.0
    explorer.set_kernel(BOX)  # typing a preset's numbers selects it again
    assert explorer.preset.value == "box blur"
    explorer.preset.value = widgets.CUSTOM  # choosing "(custom)" keeps the kernel as it is
    np.testing.assert_allclose(explorer.kernel, BOX)


def test_explorer_displays_as_widget_with_a_png_fallback(image: np.ndarray) -> None:
    explorer = widgets.KernelExplorer(image, PRESETS)
    bundle, metadata = explorer._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id
    png = base64.b64decode(bundle["image/png"])
    assert metadata["image/png"] == dict(zip(("width", "height"), explorer.display_size(png)))
    assert bundle["image/png"] and "KernelExplorer(3x3" in bundle["text/plain"]
    assert explorer.widget is explorer.widget  # built once


def test_explorer_without_ipywidgets_still_runs(image: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(widgets, "_ipywidgets", lambda: None)
    explorer = widgets.KernelExplorer(image, PRESETS)
    assert explorer.widget is None and explorer.picture is None
    explorer.preset.value = "box blur"
    np.testing.assert_allclose(explorer.kernel, BOX)
    explorer.cells[0][0].value = 5.0
    assert explorer.preset.value == widgets.CUSTOM
    bundle, _ = explorer._repr_mimebundle_()
    assert "image/png" in bundle and "application/vnd.jupyter.widget-view+json" not in bundle
    with pytest.raises(ValueError, match="must be one of"):
        explorer.preset.value = "no such preset"


def test_explorer_accepts_a_custom_apply(image: np.ndarray) -> None:
    explorer = widgets.KernelExplorer(image, PRESETS, apply=lambda img, k: img * k.sum())
    explorer.preset.value = "Sobel x"
    np.testing.assert_allclose(explorer.result, 0 * image)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"presets": {}}, "at least one name"),
        ({"presets": {"a": np.ones((3, 3)), "b": np.ones((5, 5))}}, "edits 3x3 kernels"),
        ({"presets": {"a": np.ones((3, 2))}}, "square 2-D array"),
        ({"presets": {"a": np.full((3, 3), np.nan)}}, "finite numbers"),
        ({"presets": {widgets.CUSTOM: IDENTITY}}, "reserved"),
        ({"presets": PRESETS, "image": np.zeros((2, 2, 2, 2))}, "grey (H, W) or colour"),
    ],
)
def test_explorer_explains_bad_arguments(kwargs: dict, message: str, image: np.ndarray) -> None:
    kwargs.setdefault("image", image)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        widgets.KernelExplorer(**kwargs)


def test_set_kernel_checks_the_size(image: np.ndarray) -> None:
    explorer = widgets.KernelExplorer(image, PRESETS)
    with pytest.raises(ValueError, match="edits 3x3 kernels"):
        explorer.set_kernel(np.ones((5, 5)))


def test_pictures_are_rendered_sharp_and_shown_at_their_figure_size(image: np.ndarray) -> None:
    explorer = widgets.KernelExplorer(image, PRESETS)  # dpi 72: the size a figure has on the page
    png = bytes(explorer.picture.value)
    width, height = widgets.png_size(png)
    opened = Image.open(io.BytesIO(png))
    assert opened.size == (width, height)  # the header is read right
    assert opened.info["dpi"] == pytest.approx((72 * widgets.PIXEL_RATIO,) * 2, abs=0.5)
    shown = explorer.display_size(png)
    assert shown == (round(width / widgets.PIXEL_RATIO), round(height / widgets.PIXEL_RATIO))
    assert explorer.picture.layout.width == f"{shown[0]}px" and explorer.picture.layout.max_width == "100%"
    figure_width = explorer.figure().get_size_inches()[0] * 72  # the tight bounding box trims a few margins
    assert 0.8 * figure_width < shown[0] <= figure_width + 1


def test_set_figure_and_png_size_explain_bad_arguments() -> None:
    ipywidgets = pytest.importorskip("ipywidgets")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1))
    fig.subplots().plot([0, 1])
    picture = ipywidgets.Image(format="png")
    png = widgets.set_figure(picture, fig, dpi=50, pixel_ratio=3)
    assert widgets.png_size(png)[0] > 3 * 90 and picture.layout.width == f"{round(widgets.png_size(png)[0] / 3)}px"
    with pytest.raises(ValueError, match="pixel_ratio"):
        widgets.set_figure(picture, fig, pixel_ratio=0)
    with pytest.raises(ValueError, match="png must be the bytes of a PNG file"):
        widgets.png_size(b"GIF89a" + bytes(30))


def test_the_controls_sit_above_the_picture_never_beside_it(image: np.ndarray) -> None:
    explorer = widgets.KernelExplorer(image, PRESETS)
    box = explorer.widget
    assert type(box).__name__ == "VBox" and box.children[-1] is explorer.picture
    controls = box.children[0]

    def contains(widget, target) -> bool:
        return widget is target or any(contains(child, target) for child in getattr(widget, "children", ()))

    assert contains(controls, explorer.preset) and not contains(controls, explorer.picture)
    assert all(contains(controls, cell) for row in explorer.cells for cell in row)
