"""Convolution, transposed convolution and pooling in plain NumPy: the readable reference of lessons 01 and 02.

Everything uses TensorFlow's layout (channels last), so results can be compared with ``tf.nn`` directly:

* images ``x``: ``(N, H, W, C_in)``: N images of H rows, W columns and C_in channels;
* kernels ``w``: ``(KH, KW, C_in, C_out)`` for a convolution (as ``tf.nn.conv2d`` and ``keras.layers.Conv2D``)
  but ``(KH, KW, C_out, C_in)`` for a transposed convolution (as ``tf.nn.conv2d_transpose``);
* bias ``b``: ``(C_out,)``; outputs ``(N, out_H, out_W, C_out)``.

What deep-learning libraries call "convolution" is cross-correlation: the kernel slides over the image
without being flipped, ``Y(i, j) = sum_p sum_q X(i + p, j + q) W(p, q) + B``. :func:`convolve2d_true` is the
convolution of mathematics and signal processing (kernel flipped), for comparison.

``padding`` may be

* ``"valid"``: no padding, the kernel only visits places where it fits entirely;
* ``"same"``: TensorFlow's rule, the output has ``ceil(input / stride)`` pixels; the zeros are split evenly
  and the odd one goes after (bottom, right), see :func:`same_padding`;
* an int ``p``: ``p`` zero pixels on every side;
* ``(top, bottom, left, right)`` or ``((top, bottom), (left, right))``, the latter being TensorFlow's explicit
  padding (TF's full form ``((0, 0), (top, bottom), (left, right), (0, 0))`` is accepted too).

``stride`` and ``dilation`` are an int (the same for rows and columns) or a pair ``(rows, columns)``.
A dilation ``d`` spreads the kernel taps ``d`` pixels apart, so a ``k``-tap kernel spans ``d(k - 1) + 1`` pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from course_utils.validation import check_choice, check_positive_int, describe

__all__ = [
    "avg_pool2d",
    "conv2d",
    "conv2d_loops",
    "conv2d_transpose",
    "conv_matrix",
    "conv_output_size",
    "convolve2d_true",
    "im2col",
    "max_pool2d",
    "pad",
    "same_padding",
    "transposed_output_size",
]

Padding = Any  # "valid", "same", an int, (top, bottom, left, right) or ((top, bottom), (left, right))
PADDING_FORMS = "'valid', 'same', a whole number, (top, bottom, left, right) or ((top, bottom), (left, right))"


# ------------------------------------------------------------------------------------ argument checks


def _pair(name: str, value: Any) -> tuple[int, int]:
    """An int or a pair of ints, each >= 1, as (rows, columns)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be one whole number or a pair (rows, columns); got {describe(value)}.")
        return check_positive_int(f"{name}[0]", value[0]), check_positive_int(f"{name}[1]", value[1])
    value = check_positive_int(name, value)
    return value, value


def _as_batch(x: Any, name: str = "x") -> np.ndarray:
    """Check that x is a 4-D array of numbers (N, H, W, C) and return it as an array."""
    array = np.asarray(x)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must be an array of numbers; got {describe(array)}.")
    if array.ndim != 4:
        hints = {
            2: " (a single grey image (H, W)? add a batch and a channel axis with x[None, :, :, None])",
            3: " (a single image (H, W, C)? add a batch axis with x[None])",
        }
        raise ValueError(
            f"{name} must be a batch of images shaped (N, H, W, C); got {describe(array)}{hints.get(array.ndim, '')}."
        )
    return array


def _as_kernel(w: Any, *, transposed: bool = False) -> np.ndarray:
    """Check that w is a 4-D kernel and return it as an array."""
    array = np.asarray(w)
    layout = "(KH, KW, C_out, C_in)" if transposed else "(KH, KW, C_in, C_out)"
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"w must be an array of numbers; got {describe(array)}.")
    if array.ndim != 4:
        hint = " (a single-channel kernel (KH, KW)? use w[:, :, None, None])" if array.ndim == 2 else ""
        raise ValueError(f"w must be a kernel shaped {layout}; got {describe(array)}{hint}.")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"w must be at least 1x1 pixels; got {describe(array)}.")
    return array


def _as_bias(b: Any, channels: int) -> np.ndarray | None:
    """Check that b is None or one number per output channel."""
    if b is None:
        return None
    array = np.asarray(b)
    if array.shape != (channels,):
        raise ValueError(f"b must hold one number per output channel, shaped ({channels},); got {describe(array)}.")
    return array


def _float_dtype(*arrays: np.ndarray | None) -> np.dtype:
    """The floating-point type to compute in: float32 stays float32, float64 or integers give float64."""
    return np.result_type(*(a.dtype for a in arrays if a is not None), np.float32)


def _check_padding_amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"padding amounts must be whole numbers >= 0; got {describe(value)}.")
    return int(value)


def _padding_amounts(
    padding: Padding,
    in_hw: tuple[int, int] | None,
    kernel_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[int, int, int, int]:
    """Turn any accepted form of ``padding`` into (top, bottom, left, right); 'same' needs the input size."""
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same"):
            raise ValueError(f"padding must be {PADDING_FORMS}; got {padding!r}.")
        if padding.lower() == "valid":
            return 0, 0, 0, 0
        top, bottom = same_padding(in_hw[0], kernel_hw[0], stride[0], dilation[0])
        left, right = same_padding(in_hw[1], kernel_hw[1], stride[1], dilation[1])
        return top, bottom, left, right
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        p = _check_padding_amount(padding)
        return p, p, p, p
    try:
        amounts = np.asarray(padding, dtype=object)
    except ValueError:  # ragged nesting such as ((1, 2), 3)
        amounts = np.empty(0, dtype=object)
    if amounts.shape == (4, 2) and tuple(amounts[0]) == (0, 0) and tuple(amounts[3]) == (0, 0):
        amounts = amounts[1:3]  # TensorFlow's full form: no padding on the batch and channel axes
    if amounts.shape in ((4,), (2, 2)):
        top, bottom, left, right = (_check_padding_amount(v) for v in amounts.ravel())
        return top, bottom, left, right
    raise ValueError(f"padding must be {PADDING_FORMS}; got {padding!r}.")


def _a(number: int) -> str:
    """The article read before a number: 'an' 8, 11, 18, 80...; 'a' otherwise."""
    return "an" if str(number).startswith("8") or number in (11, 18) else "a"


def _describe_padding(pads: tuple[int, int, int, int]) -> str:
    if len(set(pads)) == 1:
        return f"padding {pads[0]}"
    return f"padding (top, bottom, left, right) = {pads}"


def _output_hw(
    what: str,
    in_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    pads: tuple[int, int, int, int],
) -> tuple[int, int]:
    """Output (rows, columns) of sliding a kernel (or pooling window) over an input; raise if it does not fit."""
    out_h = _output_length(in_hw[0], kernel_hw[0], stride[0], pads[0] + pads[1], dilation[0])
    out_w = _output_length(in_hw[1], kernel_hw[1], stride[1], pads[2] + pads[3], dilation[1])
    if out_h < 1 or out_w < 1:
        size = f"{_a(kernel_hw[0])} {kernel_hw[0]}x{kernel_hw[1]} {what}"
        if dilation != (1, 1):
            spans = [d * (k - 1) + 1 for k, d in zip(kernel_hw, dilation)]
            size += f" with dilation {dilation} (it spans {spans[0]}x{spans[1]} pixels)"
        short = [f"{n} {unit}" for n, unit in ((out_h, "rows"), (out_w, "columns")) if n < 1]
        raise ValueError(
            f"{size} does not fit in {_a(in_hw[0])} {in_hw[0]}x{in_hw[1]} input with {_describe_padding(pads)}: "
            f"the output would have {' and '.join(short)}; pad the input or use a smaller {what}."
        )
    return out_h, out_w


# ------------------------------------------------------------------------------------ sizes and padding


def _output_length(size: int, kernel: int, stride: int, total_padding: int, dilation: int) -> int:
    """floor((size + total_padding - span) / stride) + 1, where span = dilation (kernel - 1) + 1."""
    span = dilation * (kernel - 1) + 1
    return (size + total_padding - span) // stride + 1


def conv_output_size(
    size: int, kernel: int, *, stride: int = 1, padding: int | tuple[int, int] | str = 0, dilation: int = 1
) -> int:
    """Output length of a convolution along one axis, floor((size + 2p - d(k - 1) - 1) / s) + 1; lesson 01.

    ``padding`` is ``p`` zeros on each side, or ``(before, after)``, or ``'valid'`` (0) or ``'same'``
    (TensorFlow's rule, which gives ``ceil(size / stride)``). Raises ValueError when the kernel does not fit.
    """
    size = check_positive_int("size", size)
    kernel = check_positive_int("kernel", kernel)
    stride = check_positive_int("stride", stride)
    dilation = check_positive_int("dilation", dilation)
    if isinstance(padding, str):
        if check_choice("padding", padding.lower(), ("valid", "same")) == "same":
            return -(-size // stride)  # ceil(size / stride)
        before = after = 0
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        before, after = (_check_padding_amount(p) for p in padding)
    elif isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        before = after = _check_padding_amount(padding)
    else:
        raise ValueError(f"padding must be 'valid', 'same', a whole number or (before, after); got {padding!r}.")
    out = _output_length(size, kernel, stride, before + after, dilation)
    if out < 1:
        span = dilation * (kernel - 1) + 1
        spans = f" with dilation {dilation} (it spans {span} pixels)" if dilation > 1 else ""
        pads = f"padding {before}" if before == after else f"padding (before, after) = ({before}, {after})"
        raise ValueError(
            f"{_a(kernel)} {kernel}-pixel kernel{spans} does not fit in {_a(size)} {size}-pixel input with {pads}: "
            f"the output would have {out} pixels; pad the input or use a smaller kernel."
        )
    return out


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """The (before, after) zeros TensorFlow's padding='same' adds along one axis, the odd one after; lesson 01.

    'same' means the output has ``ceil(size / stride)`` pixels (the input size itself when stride is 1). The
    padding is the least that makes this many kernel positions fit; it is split in two, any odd pixel after.
    """
    size = check_positive_int("size", size, minimum=0)
    kernel = check_positive_int("kernel", kernel)
    stride = check_positive_int("stride", stride)
    dilation = check_positive_int("dilation", dilation)
    out = -(-size // stride)  # ceil(size / stride)
    span = dilation * (kernel - 1) + 1
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def transposed_output_size(
    size: int,
    kernel: int,
    *,
    stride: int = 1,
    padding: int | tuple[int, int] | str = "valid",
    output_padding: int | None = None,
    dilation: int = 1,
) -> int:
    """Output length of a transposed convolution along one axis, as keras.layers.Conv2DTranspose gives; lesson 02.

    A convolution with stride ``s`` maps several input sizes to the same output size (with ``s = 2``,
    both 7 and 8 pixels give 4), so going back is ambiguous; ``output_padding`` picks one. With span
    ``k' = d(k - 1) + 1``:

    * ``output_padding=None`` is Keras' default: ``(size - 1) s + max(k', s)`` for ``'valid'`` and
      ``size * s`` for ``'same'``;
    * an int ``op`` (``0 <= op < s``) gives ``(size - 1) s + k' + op`` for ``'valid'`` and
      ``(size - 1) s + (k' mod 2) + op`` for ``'same'`` (Keras' rule), and
      ``(size - 1) s + k' - before - after + op`` for explicit padding ``p`` or ``(before, after)``.
    """
    size = check_positive_int("size", size)
    kernel = check_positive_int("kernel", kernel)
    stride = check_positive_int("stride", stride)
    dilation = check_positive_int("dilation", dilation)
    span = dilation * (kernel - 1) + 1
    if output_padding is not None:
        output_padding = check_positive_int("output_padding", output_padding, minimum=0)
        if output_padding >= stride:
            raise ValueError(
                f"output_padding must be smaller than the stride ({stride}); got {output_padding} — a larger value "
                "would ask for pixels that no kernel position reaches."
            )
    if isinstance(padding, str):
        mode = check_choice("padding", padding.lower(), ("valid", "same"))
        if output_padding is None:
            return (size - 1) * stride + max(span, stride) if mode == "valid" else size * stride
        if mode == "valid":
            return (size - 1) * stride + span + output_padding
        return (size - 1) * stride + span % 2 + output_padding
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        before, after = (_check_padding_amount(p) for p in padding)
    elif isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        before = after = _check_padding_amount(padding)
    else:
        raise ValueError(f"padding must be 'valid', 'same', a whole number or (before, after); got {padding!r}.")
    out = (size - 1) * stride + span - before - after + (output_padding or 0)
    if out < 1:
        raise ValueError(
            f"padding ({before}, {after}) removes more than the transposed convolution makes: "
            f"the output would have {out} pixels; use less padding."
        )
    return out


def pad(
    x: np.ndarray,
    padding: Padding,
    *,
    kernel: int | tuple[int, int] | None = None,
    stride: int | tuple[int, int] = 1,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Add zero rows and columns around each image of a batch (N, H, W, C), never on N or C; lesson 01.

    ``padding`` takes every form listed in this module's docstring. ``'same'`` depends on the kernel size,
    stride and dilation, so it needs ``kernel=``.
    """
    x = _as_batch(x)
    if isinstance(padding, str) and padding.lower() == "same" and kernel is None:
        raise ValueError(
            "padding='same' depends on the kernel size: pass kernel=(KH, KW) (and stride= and dilation= if not 1)."
        )
    kernel_hw = _pair("kernel", kernel) if kernel is not None else (1, 1)
    top, bottom, left, right = _padding_amounts(
        padding, x.shape[1:3], kernel_hw, _pair("stride", stride), _pair("dilation", dilation)
    )
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


# ------------------------------------------------------------------------------------ convolution


def im2col(
    x: np.ndarray,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Every kernel-sized patch of x laid out as a row: (N, H, W, C) -> (N, out_H, out_W, KH*KW*C); lesson 01.

    ``x`` must already be padded (see :func:`pad`). The patch at output position (i, j) holds the pixels
    ``x[:, i*sh + p*dh, j*sw + q*dw, :]`` for ``p < KH``, ``q < KW``, flattened in the order (p, q, channel),
    the same order as ``w.reshape(KH*KW*C_in, C_out)``, so a convolution is one matrix product:
    ``im2col(x, (KH, KW)) @ w.reshape(-1, C_out)``.
    """
    x = _as_batch(x)
    kh, kw = _pair("kernel", kernel)
    sh, sw = _pair("stride", stride)
    dh, dw = _pair("dilation", dilation)
    out_h, out_w = _output_hw("kernel", x.shape[1:3], (kh, kw), (sh, sw), (dh, dw), (0, 0, 0, 0))
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    # Every span_h x span_w window, without copying: shape (N, H - span_h + 1, W - span_w + 1, C, span_h, span_w).
    windows = sliding_window_view(x, (span_h, span_w), axis=(1, 2))
    # Keep every stride-th window and, inside each, every dilation-th pixel: (N, out_h, out_w, C, KH, KW).
    windows = windows[:, ::sh, ::sw, :, ::dh, ::dw]
    patches = windows.transpose(0, 1, 2, 4, 5, 3)  # (N, out_h, out_w, KH, KW, C)
    return patches.reshape(x.shape[0], out_h, out_w, kh * kw * x.shape[3])


def _prepare_conv(
    x: Any, w: Any, b: Any, stride: Any, padding: Padding, dilation: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Check the arguments of a convolution; return padded x, w, b, stride, dilation and the output size."""
    x = _as_batch(x)
    w = _as_kernel(w)
    if x.shape[3] != w.shape[2]:
        raise ValueError(f"x has {x.shape[3]} channels but the kernel expects {w.shape[2]} (w.shape[2]).")
    b = _as_bias(b, w.shape[3])
    stride = _pair("stride", stride)
    dilation = _pair("dilation", dilation)
    pads = _padding_amounts(padding, x.shape[1:3], w.shape[:2], stride, dilation)
    out_hw = _output_hw("kernel", x.shape[1:3], w.shape[:2], stride, dilation, pads)
    dtype = _float_dtype(x, w, b)
    top, bottom, left, right = pads
    x_padded = np.pad(x.astype(dtype), ((0, 0), (top, bottom), (left, right), (0, 0)))
    return x_padded, w.astype(dtype), b, stride, dilation, out_hw


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """2-D cross-correlation of a batch, exactly what tf.nn.conv2d and keras Conv2D compute; lesson 01.

    ``x`` is (N, H, W, C_in), ``w`` is (KH, KW, C_in, C_out), ``b`` is (C_out,) or None; the result is
    (N, out_H, out_W, C_out) with the sizes of :func:`conv_output_size`. Computed as :func:`im2col` followed
    by one matrix product; :func:`conv2d_loops` computes the same with plain loops. Unlike ``tf.nn.conv2d``,
    a stride and a dilation both larger than 1 are allowed.
    """
    x_padded, w, b, stride, dilation, _ = _prepare_conv(x, w, b, stride, padding, dilation)
    kh, kw, c_in, c_out = w.shape
    patches = im2col(x_padded, (kh, kw), stride, dilation)  # (N, out_h, out_w, KH*KW*C_in)
    y = patches @ w.reshape(kh * kw * c_in, c_out)  # (N, out_h, out_w, C_out)
    return y if b is None else y + b


def conv2d_loops(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """conv2d written as the formula Y(i, j) = sum_p sum_q X(i + p, j + q) W(p, q) + B, with four loops; lesson 01.

    Same arguments and result as :func:`conv2d`, but slow: meant to be read, and run on small inputs.
    With a stride and a dilation the input pixel under tap (p, q) is ``X(i*stride + p*dilation, ...)``.
    The whole batch and all the channels are handled at once: ``X(...)`` is an (N, C_in) slice and
    ``W(p, q)`` a (C_in, C_out) matrix, so their product sums over the input channels.
    """
    x_padded, w, b, (sh, sw), (dh, dw), (out_h, out_w) = _prepare_conv(x, w, b, stride, padding, dilation)
    kh, kw, _, c_out = w.shape
    y = np.zeros((x_padded.shape[0], out_h, out_w, c_out), dtype=x_padded.dtype)
    for i in range(out_h):  # output row
        for j in range(out_w):  # output column
            for p in range(kh):  # kernel row
                for q in range(kw):  # kernel column
                    y[:, i, j, :] += x_padded[:, i * sh + p * dh, j * sw + q * dw, :] @ w[p, q]
    return y if b is None else y + b


def convolve2d_true(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """True convolution (the kernel flipped top-bottom and left-right), as scipy.signal.convolve2d; lesson 01.

    Same arguments as :func:`conv2d`. Deep-learning layers learn their kernels, so whether they are flipped
    does not matter to them and they skip the flip: conv2d is cross-correlation. Here
    ``convolve2d_true(x, w) == conv2d(x, w[::-1, ::-1])``.
    """
    w = _as_kernel(w)
    return conv2d(x, w[::-1, ::-1], b, stride=stride, padding=padding, dilation=dilation)


def conv_matrix(
    input_shape: tuple[int, int],
    kernel: np.ndarray,
    *,
    stride: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """The matrix C with conv2d(x, kernel) == C @ x.ravel() for one single-channel image x (H, W); lesson 02.

    ``kernel`` is (KH, KW). C has one row per output pixel and one column per input pixel, both in
    row-major order, so it is (out_H * out_W, H * W). Row (i, j) holds the kernel weights at the input
    pixels that output (i, j) sees; zero padding simply drops the taps that fall outside the image.
    ``C.T @ y.ravel()`` maps an output back to the input's shape: that is the transposed convolution
    (:func:`conv2d_transpose`).
    """
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in input_shape)
    ):
        raise ValueError(f"input_shape must be (H, W), two whole numbers >= 1; got {input_shape!r}.")
    k = np.asarray(kernel)
    if k.ndim != 2 or not np.issubdtype(k.dtype, np.number):
        hint = " (take one channel pair with w[:, :, 0, 0])" if k.ndim == 4 else ""
        raise ValueError(f"kernel must be a single-channel kernel (KH, KW); got {describe(k)}{hint}.")
    height, width = (int(v) for v in input_shape)
    sh, sw = _pair("stride", stride)
    dh, dw = _pair("dilation", dilation)
    pads = _padding_amounts(padding, (height, width), k.shape, (sh, sw), (dh, dw))
    out_h, out_w = _output_hw("kernel", (height, width), k.shape, (sh, sw), (dh, dw), pads)
    top, left = pads[0], pads[2]
    matrix = np.zeros((out_h * out_w, height * width), dtype=_float_dtype(k))
    for i in range(out_h):
        for j in range(out_w):
            for p in range(k.shape[0]):
                for q in range(k.shape[1]):
                    row, col = i * sh + p * dh - top, j * sw + q * dw - left  # input pixel under tap (p, q)
                    if 0 <= row < height and 0 <= col < width:
                        matrix[i * out_w + j, row * width + col] += k[p, q]
    return matrix


def conv2d_transpose(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    output_shape: tuple[int, ...] | None = None,
    stride: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Transposed convolution, as tf.nn.conv2d_transpose and keras Conv2DTranspose compute; lesson 02.

    Each input pixel stamps a copy of the kernel, scaled by the pixel's value, onto the output; the stamps
    of neighbouring pixels are ``stride`` pixels apart and add up where they overlap. Then the padding a
    convolution would have added is cropped off. This is the transpose of :func:`conv2d` (with the same
    ``w``, stride, padding and dilation): the gradient of a convolution with respect to its input.

    Kernel layout: ``w`` is (KH, KW, C_out, C_in), as TensorFlow stores it: ``w.shape[3]`` is the channels
    ``x`` must have and ``w.shape[2]`` the channels this op produces. The two channel axes look swapped
    compared with :func:`conv2d` because the layout is that of the convolution being transposed: a kernel
    (KH, KW, 3, 16) makes ``conv2d`` go from 3 channels to 16, and ``conv2d_transpose`` back from 16 to 3.

    ``output_shape`` is (N, H, W, C_out) as in TensorFlow, or just (H, W). Several sizes are possible when
    the stride is larger than 1; by default the one Keras' Conv2DTranspose picks
    (:func:`transposed_output_size` with ``output_padding=None``). ``b`` (C_out,) is added if given.
    """
    x = _as_batch(x)
    w = _as_kernel(w, transposed=True)
    kh, kw, c_out, c_in = w.shape
    if x.shape[3] != c_in:
        raise ValueError(
            f"x has {x.shape[3]} channels but the kernel expects {c_in} (w.shape[3]; a transposed-convolution "
            "kernel is laid out (KH, KW, C_out, C_in))."
        )
    b = _as_bias(b, c_out)
    sh, sw = _pair("stride", stride)
    dh, dw = _pair("dilation", dilation)
    n, in_h, in_w, _ = x.shape

    if output_shape is None:
        if isinstance(padding, str):
            per_axis = (padding, padding)
        else:
            top, bottom, left, right = _padding_amounts(padding, None, (kh, kw), (sh, sw), (dh, dw))
            per_axis = ((top, bottom), (left, right))
        out_h = transposed_output_size(in_h, kh, stride=sh, padding=per_axis[0], dilation=dh)
        out_w = transposed_output_size(in_w, kw, stride=sw, padding=per_axis[1], dilation=dw)
    else:
        shape = tuple(output_shape)
        if len(shape) == 4 and (shape[0] != n or shape[3] != c_out):
            raise ValueError(
                f"output_shape {shape} must be (N, H, W, C_out) = ({n}, H, W, {c_out}): x holds {n} images and "
                f"the kernel makes {c_out} channels (w.shape[2])."
            )
        if len(shape) not in (2, 4):
            raise ValueError(f"output_shape must be (N, H, W, C_out) or (H, W); got {output_shape!r}.")
        out_h, out_w = shape[1:3] if len(shape) == 4 else shape
        out_h, out_w = check_positive_int("output height", out_h), check_positive_int("output width", out_w)

    # The forward convolution this op is the transpose of: from (out_h, out_w) to x's (in_h, in_w).
    pads = _padding_amounts(padding, (out_h, out_w), (kh, kw), (sh, sw), (dh, dw))
    top, bottom, left, right = pads
    forward_h = _output_length(out_h, kh, sh, top + bottom, dh)
    forward_w = _output_length(out_w, kw, sw, left + right, dw)
    if (forward_h, forward_w) != (in_h, in_w):
        raise ValueError(
            f"output_shape asks for {out_h}x{out_w} images, but a convolution with this {kh}x{kw} kernel, "
            f"stride {(sh, sw)} and {_describe_padding(pads)} turns {out_h}x{out_w} into {forward_h}x{forward_w}, "
            f"not into x's {in_h}x{in_w}; choose sizes with transposed_output_size() or leave output_shape=None."
        )

    dtype = _float_dtype(x, w, b)
    x, w = x.astype(dtype), w.astype(dtype)
    # The canvas is the padded input of the forward convolution; the stamps cover its top-left part.
    canvas = np.zeros((n, top + out_h + bottom, left + out_w + right, c_out), dtype=dtype)
    # Input pixel (i, j) puts x[i, j] * w[p, q] at canvas position (i*sh + p*dh, j*sw + q*dw). For a fixed
    # kernel tap (p, q) these positions form a grid with spacing (sh, sw), so one slice places tap (p, q)
    # of every pixel's stamp at once: KH * KW additions instead of one stamp per input pixel.
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, p * dh + (in_h - 1) * sh + 1, sh)
            cols = slice(q * dw, q * dw + (in_w - 1) * sw + 1, sw)
            canvas[:, rows, cols, :] += x @ w[p, q].T  # (N, in_h, in_w, C_in) @ (C_in, C_out)
    y = canvas[:, top : top + out_h, left : left + out_w, :]
    return y if b is None else y + b


# ------------------------------------------------------------------------------------ pooling


def _pool(x: Any, size: Any, stride: Any, padding: str, how: str) -> np.ndarray:
    """Max or average over windows; 'same' padding never counts as data (as in TensorFlow)."""
    x = _as_batch(x)
    window = _pair("size", size)
    stride = window if stride is None else _pair("stride", stride)
    if not isinstance(padding, str):
        raise ValueError(f"padding must be 'valid' or 'same' for pooling; got {padding!r}.")
    pads = _padding_amounts(padding, x.shape[1:3], window, stride, (1, 1))
    _output_hw("pooling window", x.shape[1:3], window, stride, (1, 1), pads)
    x = x.astype(_float_dtype(x))
    top, bottom, left, right = pads
    spatial = ((0, 0), (top, bottom), (left, right), (0, 0))

    def windows(image: np.ndarray) -> np.ndarray:  # (N, out_H, out_W, C, size_h, size_w)
        return sliding_window_view(image, window, axis=(1, 2))[:, :: stride[0], :: stride[1]]

    if how == "max":  # padding with -inf: it never wins a maximum
        return windows(np.pad(x, spatial, constant_values=-np.inf)).max(axis=(-2, -1))
    sums = windows(np.pad(x, spatial)).sum(axis=(-2, -1))
    # How many real (not padding) pixels each window holds: the same sum over an image of ones.
    counts = windows(np.pad(np.ones((1, *x.shape[1:3], 1), dtype=x.dtype), spatial)).sum(axis=(-2, -1))
    return sums / counts


def max_pool2d(
    x: np.ndarray,
    size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    padding: str = "valid",
) -> np.ndarray:
    """Largest value in each size x size window of each channel, as tf.nn.max_pool2d; lesson 01.

    ``x`` is (N, H, W, C); ``stride`` defaults to ``size`` (windows side by side). With ``'same'`` the
    padding is never the maximum. Returns floats, (N, out_H, out_W, C).
    """
    return _pool(x, size, stride, padding, "max")


def avg_pool2d(
    x: np.ndarray,
    size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    padding: str = "valid",
) -> np.ndarray:
    """Mean of each size x size window of each channel, as tf.nn.avg_pool2d; lesson 01.

    ``x`` is (N, H, W, C); ``stride`` defaults to ``size``. With ``'same'`` a window that overlaps the
    padding averages only its real pixels (TensorFlow's rule), so borders are not darkened.
    Returns floats, (N, out_H, out_W, C).
    """
    return _pool(x, size, stride, padding, "avg")
