"""Tests of the NumPy convolution reference (course_utils.conv) against TensorFlow, Keras and SciPy."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from course_utils import conv
from course_utils.conv import (
    avg_pool2d,
    conv2d,
    conv2d_loops,
    conv2d_transpose,
    conv_matrix,
    conv_output_size,
    convolve2d_true,
    im2col,
    max_pool2d,
    pad,
    same_padding,
    transposed_output_size,
)

# TensorFlow runs in float64 here too, so the two sides agree to rounding error.
TOLERANCE = {"rtol": 1e-9, "atol": 1e-12}
FEW = settings(max_examples=50, deadline=None)
SOME = settings(max_examples=100, deadline=None)


def _tf_padding(padding):
    """Our padding argument in tf.nn's terms: 'VALID', 'SAME' or the explicit four pairs."""
    if isinstance(padding, str):
        return padding.upper()
    top, bottom, left, right = padding
    return [[0, 0], [top, bottom], [left, right], [0, 0]]


def _span(kernel: int, dilation: int) -> int:
    return dilation * (kernel - 1) + 1


@st.composite
def conv_cases(draw, max_size: int = 9, dilate_with_stride: bool = False, allow_dilation: bool = True):
    """A random convolution: x, w, b, stride, dilation, padding, all of which fit together."""
    n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (1, 1)
    if allow_dilation and (stride == (1, 1) or dilate_with_stride):  # tf.nn.conv2d refuses stride > 1 with dilation > 1
        dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kind = draw(st.sampled_from(["valid", "same", "explicit"]))
    padding = tuple(draw(st.integers(0, 3)) for _ in range(4)) if kind == "explicit" else kind
    h, w = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    if kind != "same":
        pads = (0, 0, 0, 0) if kind == "valid" else padding
        assume(h + pads[0] + pads[1] >= _span(kh, dilation[0]) and w + pads[2] + pads[3] >= _span(kw, dilation[1]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, h, w, c_in))
    kernel = rng.standard_normal((kh, kw, c_in, c_out))
    bias = rng.standard_normal(c_out)
    return x, kernel, bias, stride, dilation, padding


# ------------------------------------------------------------------------------------ conv2d


@SOME
@given(conv_cases())
def test_conv2d_matches_tf(case) -> None:
    x, w, b, stride, dilation, padding = case
    ours = conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    reference = tf.nn.conv2d(x, w, strides=stride, padding=_tf_padding(padding), dilations=dilation) + b
    assert ours.shape == tuple(reference.shape)
    np.testing.assert_allclose(ours, reference.numpy(), **TOLERANCE)


@FEW
@given(conv_cases(max_size=6, dilate_with_stride=True))
def test_loops_and_im2col_agree_with_conv2d(case) -> None:
    x, w, b, stride, dilation, padding = case
    fast = conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    np.testing.assert_allclose(conv2d_loops(x, w, b, stride=stride, padding=padding, dilation=dilation), fast)
    padded = pad(x, padding, kernel=w.shape[:2], stride=stride, dilation=dilation)
    patches = im2col(padded, w.shape[:2], stride, dilation)
    assert patches.shape == fast.shape[:3] + (w.shape[0] * w.shape[1] * w.shape[2],)
    np.testing.assert_allclose(patches @ w.reshape(-1, w.shape[3]) + b, fast)


def test_im2col_rows_are_the_patches() -> None:
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    patches = im2col(x, 2, stride=2)
    assert patches.shape == (1, 2, 2, 4)
    np.testing.assert_array_equal(patches[0, 0, 0], [0, 1, 4, 5])
    np.testing.assert_array_equal(patches[0, 1, 1], [10, 11, 14, 15])
    dilated = im2col(x, 2, dilation=2)  # taps two pixels apart
    np.testing.assert_array_equal(dilated[0, 0, 0], [0, 2, 8, 10])


def test_conv2d_keeps_float32_and_promotes_integers() -> None:
    x = np.ones((1, 3, 3, 1), np.float32)
    assert conv2d(x, np.ones((2, 2, 1, 1), np.float32)).dtype == np.float32
    y = conv2d(x.astype(np.uint8), np.ones((2, 2, 1, 1), np.int64))
    assert y.dtype == np.float64 and np.all(y == 4)


def test_conv2d_accepts_every_padding_form() -> None:
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 5, 6, 2)), rng.standard_normal((3, 3, 2, 1))
    expected = conv2d(x, w, padding=((1, 2), (0, 1)))
    for form in ((1, 2, 0, 1), [[1, 2], [0, 1]], ((0, 0), (1, 2), (0, 1), (0, 0))):
        np.testing.assert_array_equal(conv2d(x, w, padding=form), expected)
    np.testing.assert_array_equal(conv2d(x, w, padding=1), conv2d(x, w, padding=(1, 1, 1, 1)))
    np.testing.assert_array_equal(conv2d(x, w, padding="SAME"), conv2d(x, w, padding=1))  # 3x3, stride 1


# ------------------------------------------------------------------------------------ true convolution


@pytest.mark.parametrize("image_shape, kernel_shape", [((6, 7), (3, 3)), ((5, 5), (2, 4)), ((4, 9), (4, 1))])
def test_true_convolution_and_correlation_match_scipy(image_shape, kernel_shape) -> None:
    rng = np.random.default_rng(1)
    image, kernel = rng.standard_normal(image_shape), rng.standard_normal(kernel_shape)
    x, w = image[None, :, :, None], kernel[:, :, None, None]
    np.testing.assert_allclose(convolve2d_true(x, w)[0, :, :, 0], scipy.signal.convolve2d(image, kernel, "valid"))
    np.testing.assert_allclose(conv2d(x, w)[0, :, :, 0], scipy.signal.correlate2d(image, kernel, "valid"))
    full = ((kernel_shape[0] - 1,) * 2, (kernel_shape[1] - 1,) * 2)  # 'full': every overlap, however small
    np.testing.assert_allclose(
        convolve2d_true(x, w, padding=full)[0, :, :, 0], scipy.signal.convolve2d(image, kernel, "full")
    )
    assert not np.allclose(convolve2d_true(x, w), conv2d(x, w))  # the flip matters for a lopsided kernel


# ------------------------------------------------------------------------------------ transposed convolution


@st.composite
def transpose_cases(draw):
    """A random transposed convolution with an output size chosen by Keras' default or among the valid ones."""
    n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 2])))
    kind = draw(st.sampled_from(["valid", "same", "explicit"]))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(4)) if kind == "explicit" else kind
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    given_shape = kind == "explicit" or draw(st.booleans())
    if given_shape:  # any size that a convolution with this stride maps back onto h x w
        sizes = []
        for size, k, s, axis in ((h, kh, stride[0], 0), (w, kw, stride[1], 1)):
            offset = draw(st.integers(0, s - 1))
            if kind == "same":
                sizes.append((size - 1) * s + 1 + offset)
            else:
                before_after = padding[2 * axis] + padding[2 * axis + 1] if kind == "explicit" else 0
                sizes.append((size - 1) * s + k - before_after + offset)
        assume(min(sizes) >= 1)
        output_shape = (n, sizes[0], sizes[1], c_out)
    else:
        output_shape = None
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, h, w, c_in))
    kernel = rng.standard_normal((kh, kw, c_out, c_in))
    return x, kernel, stride, padding, output_shape


@SOME
@given(transpose_cases())
def test_conv2d_transpose_matches_tf(case) -> None:
    x, w, stride, padding, output_shape = case
    ours = conv2d_transpose(x, w, output_shape=output_shape, stride=stride, padding=padding)
    if output_shape is None:  # TensorFlow needs it: use the one Keras' Conv2DTranspose would pick
        output_shape = (
            x.shape[0],
            transposed_output_size(x.shape[1], w.shape[0], stride=stride[0], padding=padding),
            transposed_output_size(x.shape[2], w.shape[1], stride=stride[1], padding=padding),
            w.shape[2],
        )
    reference = tf.nn.conv2d_transpose(x, w, output_shape, strides=stride, padding=_tf_padding(padding))
    assert ours.shape == tuple(reference.shape)
    np.testing.assert_allclose(ours, reference.numpy(), **TOLERANCE)


@FEW
@given(conv_cases(max_size=7, allow_dilation=False))  # TensorFlow's CPU kernels cannot differentiate dilated convs
def test_conv2d_transpose_is_the_gradient_of_conv2d(case) -> None:
    x, w, _, stride, dilation, padding = case
    tf_padding = _tf_padding(padding)
    x_tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_tensor)
        y = tf.nn.conv2d(x_tensor, w, strides=stride, padding=tf_padding)
    upstream = np.random.default_rng(2).standard_normal(y.shape)
    gradient = tape.gradient(y, x_tensor, output_gradients=tf.constant(upstream))
    # The same kernel array: (KH, KW, C_in, C_out) for the conv is (KH, KW, C_out', C_in') for its transpose.
    ours = conv2d_transpose(upstream, w, output_shape=x.shape, stride=stride, padding=padding)
    np.testing.assert_allclose(ours, gradient.numpy(), **TOLERANCE)


@FEW
@given(conv_cases(max_size=7, dilate_with_stride=True))
def test_conv2d_transpose_is_the_adjoint_of_conv2d(case) -> None:
    """<conv2d(x), y> == <x, conv2d_transpose(y)>: also with dilation, which TensorFlow's CPU ops lack."""
    x, w, _, stride, dilation, padding = case
    y = np.random.default_rng(3).standard_normal(conv2d(x, w, stride=stride, padding=padding, dilation=dilation).shape)
    forward = conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    back = conv2d_transpose(y, w, output_shape=x.shape, stride=stride, padding=padding, dilation=dilation)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(forward * y), np.sum(x * back), rtol=1e-9)


def test_conv2d_transpose_stamps_the_kernel() -> None:
    x = np.zeros((1, 2, 2, 1))
    x[0, 1, 0, 0] = 2.0  # one lit pixel: the output is the kernel, doubled, at (1*stride, 0)
    kernel = np.arange(1.0, 10.0).reshape(3, 3, 1, 1)
    y = conv2d_transpose(x, kernel, stride=2)
    assert y.shape == (1, 5, 5, 1)
    np.testing.assert_array_equal(y[0, 2:5, 0:3, 0], 2 * kernel[:, :, 0, 0])
    assert np.count_nonzero(y) == 9
    b = np.array([0.5])
    np.testing.assert_array_equal(conv2d_transpose(x, kernel, b, stride=2), y + b)
    np.testing.assert_array_equal(conv2d_transpose(x, kernel, stride=2, padding=1), y[:, 1:4, 1:4])  # crop 1 a side


# ------------------------------------------------------------------------------------ convolution as a matrix


@FEW
@given(conv_cases(max_size=7, dilate_with_stride=True))
def test_conv_matrix_is_conv2d_and_its_transpose_is_conv2d_transpose(case) -> None:
    x, w, _, stride, dilation, padding = case
    image, kernel = x[0, :, :, 0], w[:, :, 0, 0]
    single_x, single_w = image[None, :, :, None], kernel[:, :, None, None]
    matrix = conv_matrix(image.shape, kernel, stride=stride, padding=padding, dilation=dilation)
    y = conv2d(single_x, single_w, stride=stride, padding=padding, dilation=dilation)
    assert matrix.shape == (y.size, image.size)
    np.testing.assert_allclose(matrix @ image.ravel(), y.ravel(), **TOLERANCE)
    upstream = np.random.default_rng(4).standard_normal(y.shape)
    back = conv2d_transpose(
        upstream, single_w, output_shape=image.shape, stride=stride, padding=padding, dilation=dilation
    )
    np.testing.assert_allclose(matrix.T @ upstream.ravel(), back.ravel(), **TOLERANCE)


def test_conv_matrix_small_example() -> None:
    matrix = conv_matrix((3, 3), np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert matrix.shape == (4, 9)
    np.testing.assert_array_equal(matrix[0], [1, 2, 0, 3, 4, 0, 0, 0, 0])  # output (0, 0) sees pixels 0, 1, 3, 4
    np.testing.assert_array_equal(matrix[3], [0, 0, 0, 0, 1, 2, 0, 3, 4])


# ------------------------------------------------------------------------------------ pooling


@SOME
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 8), st.integers(1, 8), st.integers(1, 3)),
    size=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    padding=st.sampled_from(["valid", "same"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_pools_match_tf(shape, size, stride, padding, seed) -> None:
    if padding == "valid":
        assume(shape[1] >= size[0] and shape[2] >= size[1])
    x = np.random.default_rng(seed).standard_normal(shape)
    tf_stride = size if stride is None else stride
    for ours, theirs in ((max_pool2d, tf.nn.max_pool2d), (avg_pool2d, tf.nn.avg_pool2d)):
        result = ours(x, size, stride, padding)
        reference = theirs(tf.constant(x), size, tf_stride, padding.upper()).numpy()
        assert result.shape == reference.shape
        np.testing.assert_allclose(result, reference, **TOLERANCE)


def test_same_average_pooling_ignores_the_padding() -> None:
    x = np.ones((1, 5, 5, 1))
    np.testing.assert_array_equal(avg_pool2d(x, 3, 2, "same"), np.ones((1, 3, 3, 1)))
    np.testing.assert_array_equal(max_pool2d(-x, 3, 2, "same"), -np.ones((1, 3, 3, 1)))  # -inf padding never wins


# ------------------------------------------------------------------------------------ sizes and padding


@SOME
@given(
    size=st.integers(1, 20),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same"]),
)
def test_conv_output_size_matches_keras_conv2d(size, kernel, stride, dilation, padding) -> None:
    assume(stride == 1 or dilation == 1)  # Keras refuses both at once
    if padding == "valid":
        assume(size >= _span(kernel, dilation))
    layer = keras.layers.Conv2D(1, kernel, strides=stride, padding=padding, dilation_rate=dilation)
    expected = layer.compute_output_shape((None, size, size, 1))[1]
    assert conv_output_size(size, kernel, stride=stride, padding=padding, dilation=dilation) == expected
    if padding == "valid":
        assert conv_output_size(size, kernel, stride=stride, dilation=dilation) == expected


@SOME
@given(
    size=st.integers(1, 12),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same"]),
    output_padding=st.one_of(st.none(), st.integers(0, 2)),
)
def test_transposed_output_size_matches_keras_conv2d_transpose(size, kernel, stride, padding, output_padding) -> None:
    assume(output_padding is None or output_padding < stride)
    layer = keras.layers.Conv2DTranspose(1, kernel, strides=stride, padding=padding, output_padding=output_padding)
    expected = layer.compute_output_shape((None, size, size, 1))[1]
    got = transposed_output_size(size, kernel, stride=stride, padding=padding, output_padding=output_padding)
    assert got == expected


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_sizes_match_shapes_of_real_keras_layers(padding) -> None:
    x = np.zeros((1, 9, 10, 2), np.float32)
    down = keras.layers.Conv2D(3, (3, 4), strides=2, padding=padding)(x)
    assert down.shape[1:3] == (
        conv_output_size(9, 3, stride=2, padding=padding),
        conv_output_size(10, 4, stride=2, padding=padding),
    )
    up = keras.layers.Conv2DTranspose(3, (3, 4), strides=2, padding=padding)(x)
    assert up.shape[1:3] == (
        transposed_output_size(9, 3, stride=2, padding=padding),
        transposed_output_size(10, 4, stride=2, padding=padding),
    )
    assert conv2d_transpose(x, np.zeros((3, 4, 3, 2)), stride=2, padding=padding).shape == tuple(up.shape)


def test_conv_output_size_formula() -> None:
    assert conv_output_size(28, 5) == 24
    assert conv_output_size(28, 5, padding=2) == 28
    assert conv_output_size(28, 3, stride=2, padding=1) == 14
    assert conv_output_size(7, 3, dilation=2) == 3  # a 3-tap kernel with dilation 2 spans 5 pixels
    assert conv_output_size(7, 2, stride=2, padding=(0, 1)) == 4
    assert conv_output_size(7, 3, stride=2, padding="same") == 4


def test_same_padding_puts_the_odd_pixel_after() -> None:
    assert same_padding(5, 3) == (1, 1)
    assert same_padding(5, 2) == (0, 1)
    assert same_padding(4, 3, 2) == (0, 1)
    assert same_padding(5, 4) == (1, 2)
    assert same_padding(5, 3, 1, 2) == (2, 2)
    assert same_padding(7, 1, 3) == (0, 0)


def test_pad_adds_zeros_on_the_spatial_axes_only() -> None:
    x = np.ones((2, 3, 4, 5))
    padded = pad(x, (1, 2, 3, 0))
    assert padded.shape == (2, 6, 7, 5)
    assert padded.sum() == x.sum() and np.all(padded[:, 1:4, 3:7] == 1)
    assert pad(x, 1).shape == (2, 5, 6, 5)
    assert pad(x, "valid").shape == x.shape
    assert pad(x, ((0, 0), (1, 1), (2, 2), (0, 0))).shape == (2, 5, 8, 5)
    assert pad(x, "same", kernel=(2, 3)).shape == (2, 4, 6, 5)


# ------------------------------------------------------------------------------------ plain-language errors


X = np.zeros((1, 6, 6, 3))
W = np.zeros((3, 3, 3, 2))


@pytest.mark.parametrize(
    "call, error, text",
    [
        (
            lambda: conv2d(np.zeros((1, 3, 3, 1)), np.zeros((5, 5, 1, 1))),
            ValueError,
            "a 5x5 kernel does not fit in a 3x3 input with padding 0: the output would have -1 rows",
        ),
        (lambda: conv2d(np.zeros((1, 3, 3, 1)), np.zeros((5, 5, 1, 1))), ValueError, "pad the input or use a smaller"),
        (lambda: conv2d(np.zeros((1, 8, 3, 1)), np.zeros((1, 4, 1, 1))), ValueError, "an 8x3 input"),
        (lambda: conv2d(X, W[:, :, :1]), ValueError, "x has 3 channels but the kernel expects 1 (w.shape[2])"),
        (lambda: conv2d(X[0], W), ValueError, "add a batch axis with x[None]"),
        (lambda: conv2d(X[0, :, :, 0], W), ValueError, "x[None, :, :, None]"),
        (lambda: conv2d(X, W[:, :, 0, 0]), ValueError, "use w[:, :, None, None]"),
        (lambda: conv2d(X, W, stride=0), ValueError, "stride must be at least 1; got 0"),
        (lambda: conv2d(X, W, stride=1.5), TypeError, "stride must be a whole number; got float 1.5"),
        (lambda: conv2d(X, W, dilation=(1, 0)), ValueError, "dilation[1] must be at least 1; got 0"),
        (lambda: conv2d(X, W, stride=(1, 2, 3)), ValueError, "a pair (rows, columns)"),
        (lambda: conv2d(X, W, dilation=3), ValueError, "with dilation (3, 3) (it spans 7x7 pixels) does not fit"),
        (lambda: conv2d(X, W, padding="full"), ValueError, "padding must be 'valid', 'same', a whole number"),
        (lambda: conv2d(X, W, padding=-1), ValueError, "padding amounts must be whole numbers >= 0"),
        (lambda: conv2d(X, W, padding=(1, 2)), ValueError, "got (1, 2)"),
        (lambda: conv2d(X, W, np.zeros(3)), ValueError, "b must hold one number per output channel, shaped (2,)"),
        (lambda: conv2d(np.array([["a"]]), W), TypeError, "x must be an array of numbers"),
        (lambda: conv_output_size(3, 5), ValueError, "a 5-pixel kernel does not fit in a 3-pixel input"),
        (lambda: conv_output_size(3, 5), ValueError, "the output would have -1 pixels"),
        (lambda: pad(X, "same"), ValueError, "padding='same' depends on the kernel size: pass kernel="),
        (
            lambda: conv2d_transpose(X, W),
            ValueError,
            "x has 3 channels but the kernel expects 2 (w.shape[3]; a transposed-convolution kernel is laid out",
        ),
        (
            lambda: conv2d_transpose(np.zeros((1, 3, 3, 2)), W, output_shape=(1, 9, 9, 3), stride=2),
            ValueError,
            "turns 9x9 into 4x4, not into x's 3x3",
        ),
        (
            lambda: conv2d_transpose(np.zeros((1, 3, 3, 2)), W, output_shape=(1, 7, 7, 5), stride=2),
            ValueError,
            "the kernel makes 3 channels (w.shape[2])",
        ),
        (lambda: transposed_output_size(4, 3, stride=2, output_padding=2), ValueError, "smaller than the stride (2)"),
        (lambda: max_pool2d(X, 7), ValueError, "a 7x7 pooling window does not fit in a 6x6 input"),
        (lambda: avg_pool2d(X, 2, padding=1), ValueError, "'valid' or 'same' for pooling"),
        (lambda: conv_matrix((4, 4), W), ValueError, "(take one channel pair with w[:, :, 0, 0])"),
        (lambda: conv_matrix((1, 4, 4, 1), W[:, :, 0, 0]), ValueError, "input_shape must be (H, W)"),
    ],
)
def test_errors_say_what_was_expected_and_what_was_given(call, error, text) -> None:
    with pytest.raises(error) as caught:
        call()
    assert text in str(caught.value)


# ------------------------------------------------------------------------------------ the module itself


def test_every_public_function_names_its_lesson() -> None:
    for name in conv.__all__:
        first_line = getattr(conv, name).__doc__.strip().splitlines()[0]
        assert first_line.rstrip(".").split("; ")[-1].startswith("lesson 0"), name


def test_importing_conv_does_not_import_tensorflow() -> None:
    code = "import sys, course_utils.conv; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
