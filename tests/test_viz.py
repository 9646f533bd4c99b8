"""Plotting helpers draw what they are given, choose colour scales sensibly and explain bad arguments."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import viz  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_show_images_lays_out_a_grid_with_titles() -> None:
    images = [np.random.default_rng(i).random((8, 8)) for i in range(5)]
    fig = viz.show_images(images, [f"image {i}" for i in range(5)], ncols=3)
    axes = fig.get_axes()
    assert len(axes) == 6  # 2 rows of 3; the last one empty and hidden
    assert [ax.get_title() for ax in axes[:5]] == [f"image {i}" for i in range(5)]
    assert not axes[5].images


def test_signed_images_are_centred_on_zero_and_limits_are_applied() -> None:
    response = np.array([[-1.0, 0.5], [2.0, 0.0]])
    photo = np.array([[0.2, 0.4], [0.6, 0.8]])
    fig = viz.show_images([response, photo, photo], limits=[None, (0, 1), None])
    signed, fixed, own = (ax.images[0] for ax in fig.get_axes())
    assert signed.get_cmap().name == viz.SIGNED_CMAP and signed.get_clim() == (-2.0, 2.0)
    assert fixed.get_cmap().name == "gray" and fixed.get_clim() == (0, 1)
    assert own.get_clim() == pytest.approx((0.2, 0.8))
    fig = viz.show_images([response], signed=False)
    assert fig.get_axes()[0].images[0].get_cmap().name == "gray"


def test_show_images_accepts_one_image_colour_and_channel_axes() -> None:
    assert len(viz.show_images(np.zeros((4, 4))).get_axes()) == 1
    assert len(viz.show_images([np.zeros((4, 4, 1)), np.ones((4, 4, 3))]).get_axes()) == 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: viz.show_images([]), "at least one image"),
        (lambda: viz.show_images([np.zeros((2, 4, 4, 1))]), "a batch?"),
        (lambda: viz.show_images([np.zeros((4, 4))], ["a", "b"]), "one title per image"),
        (lambda: viz.show_images([np.zeros((4, 4))], signed=[True, False]), "signed must be one setting"),
        (lambda: viz.show_images([np.zeros((4, 4))], limits=(0, 1, 2)), "limits must be one setting"),
        (lambda: viz.show_images([np.array([["a"]])]), "array of numbers"),
    ],
)
def test_show_images_explains_bad_arguments(call, message: str) -> None:
    with pytest.raises((ValueError, TypeError)) as caught:
        call()
    assert message in str(caught.value)


def test_draw_number_grid_writes_every_value_and_draws_boxes_and_marks() -> None:
    values = np.arange(6).reshape(2, 3)
    marked = values % 2 == 0
    ax = viz.draw_number_grid(values, marked=marked, boxes=[(0, 0, 2, 2), (1, 2, 1, 1)], title="numbers")
    assert [t.get_text() for t in ax.texts] == [str(v) for v in range(6)]
    assert len(ax.patches) == 2 and ax.get_title() == "numbers"
    colours = ax.images[0].get_array()
    assert np.allclose(colours[0, 0, :3], matplotlib.colors.to_rgb("#f2c14e"))  # marked cell
    assert not np.allclose(colours[0, 1, :3], matplotlib.colors.to_rgb("#f2c14e"))


def test_draw_number_grid_formats_and_checks_arguments() -> None:
    ax = viz.draw_number_grid(np.array([[0.12345]]), fmt="{:.2f}", shade=False)
    assert ax.texts[0].get_text() == "0.12"
    with pytest.raises(ValueError, match="2-D array of numbers"):
        viz.draw_number_grid(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="marked must have the array's shape"):
        viz.draw_number_grid(np.zeros((2, 2)), marked=np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="each box must be"):
        viz.draw_number_grid(np.zeros((2, 2)), boxes=[(0, 0, 1)])


def test_figure_to_png_and_limits() -> None:
    fig = viz.show_images([np.eye(4)])
    assert viz.figure_to_png(fig).startswith(b"\x89PNG")
    assert viz.signed_limits(np.array([-3.0, 1.0])) == (-3.0, 3.0)
    assert viz.signed_limits(np.zeros(3)) == (-1.0, 1.0)
    assert viz.is_signed(np.array([-0.1, 1])) and not viz.is_signed(np.array([0, 1]))


def test_importing_viz_does_not_import_pyplot() -> None:
    import subprocess
    import sys

    code = "import sys, course_utils.viz; print('matplotlib.pyplot' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
