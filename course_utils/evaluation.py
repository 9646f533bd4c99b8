"""Numbers that say how good a generator is: FID, KID, precision/recall, mode coverage; lesson 07.

Every metric here compares two sets of *feature vectors* (one row per image). Lesson 07 takes the features
from the layer before the output of lesson 03's digit classifier (:func:`digits_features`); the papers take
them from one particular Inception-v3 graph. :func:`try_inception` gives Keras' ImageNet InceptionV3 instead,
whose FIDs are *not* comparable with published ones (other weights, other resize). The metrics themselves
are plain NumPy/SciPy, so they can be tested against closed forms. TensorFlow is imported only inside the
functions that run a network.
"""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.linalg

from course_utils.validation import check_positive_int, describe

__all__ = [
    "INCEPTION_WEIGHTS_URL",
    "ModeCoverage",
    "PrecisionRecall",
    "covariance_statistics",
    "digits_features",
    "fid_from_features",
    "frechet_distance",
    "inception_features",
    "interpolate_latents",
    "kid_from_features",
    "mode_coverage",
    "nearest_neighbours",
    "precision_recall",
    "try_inception",
]

#: Where Keras downloads the ImageNet weights of InceptionV3 without its classification head.
INCEPTION_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
)

_CHUNK = 1024  # rows per block of a pairwise-distance computation (keeps memory at a few MB per block)


# --------------------------------------------------------------------------- argument checks


def _features(name: str, features: Any, *, minimum: int = 1) -> np.ndarray:
    """``features`` as a finite float64 matrix (N, d) with at least ``minimum`` rows."""
    array = features.numpy() if hasattr(features, "numpy") else np.asarray(features)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
        hint = " (flatten each image first, e.g. x.reshape(len(x), -1))" if array.ndim > 2 else ""
        raise ValueError(
            f"{name} must be a 2-D array of numbers, one feature vector per row; got {describe(array)}{hint}."
        )
    if len(array) < minimum:
        raise ValueError(f"{name} needs at least {minimum} rows (feature vectors); got {len(array)}.")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values; got {describe(array)}.")
    return array


def _same_dimension(name1: str, f1: np.ndarray, name2: str, f2: np.ndarray) -> None:
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(
            f"{name1} and {name2} must have the same number of features per row; got {f1.shape[1]} and "
            f"{f2.shape[1]}. Were they computed by the same feature extractor?"
        )


def _vector(name: str, value: Any) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D mean vector; got {describe(array)}.")
    return array


def _square(name: str, value: Any, d: int) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (d, d):
        raise ValueError(
            f"{name} must be a covariance matrix of shape ({d}, {d}) to match the mean; got {describe(array)}."
        )
    return array


# --------------------------------------------------------------------------- FID


def covariance_statistics(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """The mean vector and covariance matrix (unbiased, N - 1) of feature rows (N, d); lesson 07."""
    f = _features("features", features)
    if len(f) < 2:
        raise ValueError(
            f"A covariance needs at least 2 feature vectors (and more than the {f.shape[1]} features per row to be "
            f"full rank); got {len(f)}."
        )
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _is_singular(name: str, sigma: np.ndarray) -> bool:
    """True when a covariance matrix has (numerically) a zero eigenvalue; an error when it is no covariance."""
    eigenvalues = np.linalg.eigvalsh((sigma + sigma.T) / 2)
    scale = max(float(np.abs(eigenvalues).max()), 1e-300)
    if not np.allclose(sigma, sigma.T, atol=1e-8 * scale) or eigenvalues.min() < -1e-8 * scale:
        raise ValueError(
            f"{name} is not a covariance matrix: a covariance is symmetric with no negative eigenvalue; got one "
            f"with eigenvalues in [{eigenvalues.min():.3g}, {eigenvalues.max():.3g}]."
        )
    return bool(eigenvalues.min() <= 1e-12 * scale)


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any, *, eps: float = 1e-6) -> float:
    """The Fréchet distance ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) of two Gaussians; lesson 07.

    When the product S1 S2 is singular its square root may come out non-finite: then ``eps`` times the
    identity is added to both covariances (a warning says so). Tiny imaginary parts left by the numerical
    square root are dropped; large ones raise an error.
    """
    mu1, mu2 = _vector("mu1", mu1), _vector("mu2", mu2)
    if mu1.shape != mu2.shape:
        raise ValueError(f"mu1 and mu2 must have the same length; got {len(mu1)} and {len(mu2)}.")
    d = len(mu1)
    sigma1, sigma2 = _square("sigma1", sigma1, d), _square("sigma2", sigma2, d)
    diff = mu1 - mu2
    # A singular covariance (fewer samples than features, or a feature that never changes, like a ReLU that is
    # always off) makes S1 S2 singular, and its square root unreliable: then add eps x I to both and say so.
    singular = _is_singular("sigma1", sigma1) | _is_singular("sigma2", sigma2)
    covmean = None if singular else scipy.linalg.sqrtm(sigma1 @ sigma2)
    if covmean is None or not np.all(np.isfinite(covmean)):
        warnings.warn(
            f"The product of the two covariances is singular (fewer samples than features, or features that never "
            f"change): adding {eps:g} x I to both before taking the matrix square root.",
            RuntimeWarning,
            stacklevel=2,
        )
        offset = eps * np.eye(d)
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        # Round-off makes sqrtm of a real product return tiny imaginary parts; a large one means a real problem.
        scale = max(1.0, float(np.abs(covmean).max()))
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3 * scale):
            largest = float(np.abs(covmean.imag).max())
            raise ValueError(
                f"The matrix square root of sigma1 @ sigma2 has an imaginary part of size {largest:.3g}: are both "
                "matrices symmetric positive semi-definite covariances?"
            )
        covmean = covmean.real
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)  # a distance is never negative; round-off can give -1e-12


def fid_from_features(features1: Any, features2: Any) -> float:
    """FID between two sets of feature rows (N1, d) and (N2, d): fit a Gaussian to each, compare; lesson 07."""
    f1 = _features("features1", features1)
    f2 = _features("features2", features2)
    _same_dimension("features1", f1, "features2", f2)
    for name, f in (("features1", f1), ("features2", f2)):
        if len(f) < 2:
            raise ValueError(
                f"FID fits a covariance to each set, which needs at least 2 feature vectors (and more than "
                f"{f.shape[1]} for a full-rank one); {name} has {len(f)}."
            )
    return frechet_distance(*covariance_statistics(f1), *covariance_statistics(f2))


# --------------------------------------------------------------------------- KID


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x . y / d + 1)^3 for every pair of rows."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kid_from_features(
    features1: Any, features2: Any, *, subsets: int = 10, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID: mean and std over random subsets of the unbiased MMD^2 with kernel (x.y/d + 1)^3; lesson 07.

    Each subset draws ``subset_size`` rows (fewer when a set is smaller) from each set without replacement,
    so with a ``subset_size`` as large as both sets every subset is the whole set and the std is 0: an error
    bar needs smaller subsets. Unbiased means the average over many draws is 0 when both sets come from the
    same distribution, so a single estimate can be slightly negative.
    """
    f1 = _features("features1", features1)
    f2 = _features("features2", features2)
    _same_dimension("features1", f1, "features2", f2)
    subsets = check_positive_int("subsets", subsets)
    subset_size = check_positive_int("subset_size", subset_size, minimum=2)
    seed = check_positive_int("seed", seed, minimum=0)
    m = min(subset_size, len(f1), len(f2))
    if m < 2:
        raise ValueError(
            f"KID's unbiased estimate needs at least 2 feature vectors in each set; got {len(f1)} and {len(f2)}."
        )
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for s in range(subsets):
        x = f1[rng.choice(len(f1), m, replace=False)]
        y = f2[rng.choice(len(f2), m, replace=False)]
        k_xx, k_yy, k_xy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
        # Unbiased: leave out the diagonal k(x_i, x_i), which compares a sample with itself.
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        values[s] = within - 2.0 * k_xy.mean()
    return float(values.mean()), float(values.std())


# --------------------------------------------------------------------------- distances, precision/recall


def _pairwise_distances(a: np.ndarray, b: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Euclidean distances between rows a[start:stop] and every row of b."""
    block = a[start:stop]
    squared = (block * block).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * block @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def _kth_neighbour_radii(f: np.ndarray, k: int) -> np.ndarray:
    """For each row, the distance to its k-th nearest other row of the same set."""
    radii = np.empty(len(f))
    for start in range(0, len(f), _CHUNK):
        d = _pairwise_distances(f, f, start, start + _CHUNK)
        rows = np.arange(start, min(start + _CHUNK, len(f)))
        d[rows - start, rows] = np.inf  # a point is not its own neighbour
        radii[rows] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return radii


def _inside_manifold(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each point, whether it lies in at least one ball (centre, radius)."""
    inside = np.zeros(len(points), dtype=bool)
    for start in range(0, len(points), _CHUNK):
        d = _pairwise_distances(points, centres, start, start + _CHUNK)
        inside[start : start + _CHUNK] = np.any(d <= radii[None, :], axis=1)
    return inside


class PrecisionRecall(NamedTuple):
    """Precision (fakes that look real) and recall (reals the fakes cover), each in [0, 1]; lesson 07."""

    precision: float
    recall: float


def precision_recall(real: Any, fake: Any, *, k: int = 3) -> PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al. 2019) from k-nearest-neighbour balls; lesson 07.

    Each real row gets a ball reaching its k-th nearest real neighbour; their union estimates the real
    manifold. Precision is the fraction of fake rows inside it. Recall swaps the roles.
    """
    k = check_positive_int("k", k)
    r = _features("real", real, minimum=k + 1)
    f = _features("fake", fake, minimum=k + 1)
    _same_dimension("real", r, "fake", f)
    precision = _inside_manifold(f, r, _kth_neighbour_radii(r, k)).mean()
    recall = _inside_manifold(r, f, _kth_neighbour_radii(f, k)).mean()
    return PrecisionRecall(float(precision), float(recall))


def nearest_neighbours(fake: Any, real: Any, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Indices (N, k) and distances (N, k) of the k closest real rows to each fake one; lesson 07.

    Images (N, H, W[, C]) are compared pixel by pixel (flattened); feature rows (N, d) as they are.
    """
    fake_array, real_array = np.asarray(fake), np.asarray(real)
    if fake_array.ndim > 2:
        fake_array = fake_array.reshape(len(fake_array), -1)
    if real_array.ndim > 2:
        real_array = real_array.reshape(len(real_array), -1)
    k = check_positive_int("k", k)
    f = _features("fake", fake_array)
    r = _features("real", real_array, minimum=k)
    if f.shape[1] != r.shape[1]:
        raise ValueError(
            f"fake and real must be compared in the same space; got {f.shape[1]} and {r.shape[1]} values per "
            f"sample (fake: {describe(np.asarray(fake))}, real: {describe(np.asarray(real))})."
        )
    indices = np.empty((len(f), k), dtype=np.int64)
    distances = np.empty((len(f), k))
    for start in range(0, len(f), _CHUNK):
        d = _pairwise_distances(f, r, start, start + _CHUNK)
        # argpartition finds the k smallest without sorting the whole row; then sort only those k.
        nearest = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.tile(np.arange(k), (len(d), 1))
        nearest = np.take_along_axis(nearest, np.argsort(np.take_along_axis(d, nearest, axis=1), axis=1), axis=1)
        indices[start : start + _CHUNK] = nearest
        distances[start : start + _CHUNK] = np.take_along_axis(d, nearest, axis=1)
    return indices, distances


# --------------------------------------------------------------------------- mode coverage


class ModeCoverage(NamedTuple):
    """A histogram of predicted classes and what it says about missing modes; lesson 07."""

    counts: np.ndarray  #: images predicted as each class
    fractions: np.ndarray  #: counts / total
    kl_to_uniform: float  #: KL(fractions || uniform) in nats: 0 when balanced, ln(K) when one class only
    modes_covered: int  #: classes holding at least ``threshold`` of their fair share N / K


def mode_coverage(predicted_classes: Any, num_classes: int = 10, *, threshold: float = 0.1) -> ModeCoverage:
    """Count the predicted classes of generated images and measure how far they are from uniform; lesson 07.

    A class counts as covered when it holds at least ``threshold`` x N / num_classes of the N images.
    """
    num_classes = check_positive_int("num_classes", num_classes)
    labels = np.asarray(predicted_classes)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"predicted_classes must be a 1-D array of whole-number classes (e.g. classifier.predict_classes(...)); "
            f"got {describe(labels)}."
        )
    if labels.size == 0:
        raise ValueError("predicted_classes is empty: there is nothing to count.")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(
            f"predicted_classes must hold classes 0 to {num_classes - 1}; "
            f"got values in [{labels.min()}, {labels.max()}]."
        )
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be a fraction of the fair share between 0 and 1; got {threshold!r}.")
    counts = np.bincount(labels, minlength=num_classes).astype(np.int64)
    fractions = counts / counts.sum()
    present = fractions > 0  # 0 log 0 = 0
    kl = float(np.sum(fractions[present] * np.log(fractions[present] * num_classes)))
    covered = int(np.sum(counts >= max(threshold * counts.sum() / num_classes, 1)))
    return ModeCoverage(counts, fractions, max(kl, 0.0), covered)


# --------------------------------------------------------------------------- latent interpolation


def interpolate_latents(z0: Any, z1: Any, steps: int, *, spherical: bool = True) -> np.ndarray:
    """``steps`` latent vectors from z0 to z1 (both included), along a great circle or a line; lesson 07.

    Spherical interpolation (slerp) keeps the norm near that of typical Gaussian noise, which a straight line
    between two noise vectors does not: in d dimensions noise has length near sqrt(d), the line's midpoint
    near sqrt(d / 2), about 0.71 times as long.
    """
    a, b = np.asarray(z0, dtype=np.float64).ravel(), np.asarray(z1, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"z0 and z1 must have the same length; got {a.size} and {b.size}.")
    steps = check_positive_int("steps", steps, minimum=2)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    cos = np.clip(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12), -1.0, 1.0)
    omega = np.arccos(cos)
    if not spherical or np.sin(omega) < 1e-6:  # (anti)parallel vectors: the line is the only sensible path
        return ((1 - t) * a + t * b).astype(np.float32)
    path = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    return path.astype(np.float32)


# --------------------------------------------------------------------------- feature extractors


def digits_features(images: Any, model: Any = None, *, profile: Any = None, batch_size: int = 256) -> np.ndarray:
    """The 128 "features" of lesson 03's classifier for digit images (uint8, or float in [-1, 1]); lesson 07.

    ``model`` is the classifier (or its feature extractor); by default the one
    ``classifier.load_or_train_classifier(profile)`` gives, with ``profile`` defaulting to
    :func:`course_utils.get_profile`.
    """
    from course_utils import classifier

    batch_size = check_positive_int("batch_size", batch_size)
    if model is None:
        if profile is None:
            from course_utils.profiles import get_profile

            profile = get_profile()
        model = classifier.load_or_train_classifier(profile, verbose=False)
    if not any(layer.name == classifier.FEATURES_LAYER for layer in getattr(model, "layers", ())):
        raise ValueError(
            f"model must be lesson 03's classifier, with a layer named {classifier.FEATURES_LAYER!r}; "
            f"got {describe(model)}."
        )
    if model.layers[-1].name != classifier.FEATURES_LAYER:  # the classifier itself: stop at its features
        model = classifier.feature_extractor(model)
    x = classifier._model_inputs(model, images)
    if len(x) == 0:
        raise ValueError("images is empty: there is nothing to compute features of.")
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)


def _cached_inception_weights() -> Path | None:
    """The InceptionV3 weight file in Keras' cache, if it was downloaded before."""
    base = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    path = base / "models" / INCEPTION_WEIGHTS_URL.rsplit("/", 1)[1]
    return path if path.is_file() else None


def _reachable(url: str, timeout: float) -> str | None:
    """None if a connection to the URL's host opens within ``timeout`` seconds, else why not."""
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return None
    except socket.gaierror:
        return f"no internet connection (could not look up {host})"
    except OSError as error:
        return f"could not reach {host} ({error})"


def try_inception(*, timeout: float = 3.0) -> tuple[Any, str]:
    """Keras' InceptionV3 with ImageNet weights (no head, pooled 2048 features), or None and why; lesson 07.

    Not the network of the published FIDs (Heusel et al.'s 2015 TensorFlow graph, which pytorch-fid and
    clean-fid reproduce): FIDs in these features are comparable only with each other.

    Never hangs offline: with ``COURSE_OFFLINE=1`` nothing is tried, and otherwise the download server must
    answer within ``timeout`` seconds unless the weights are already in Keras' cache.
    """
    needs = (
        f"InceptionV3's ImageNet weights (about 90 MB, from {INCEPTION_WEIGHTS_URL.split('/')[2]}), downloaded once "
        "into ~/.keras/models. Colab has internet, so there it just works."
    )
    cached = _cached_inception_weights()
    if cached is None:
        if os.environ.get("COURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
            return None, f"Skipped the Inception features: COURSE_OFFLINE is set. It needs {needs}"
        problem = _reachable(INCEPTION_WEIGHTS_URL, timeout)
        if problem is not None:
            return None, f"Keras' InceptionV3 is not available here: {problem}. It needs {needs}"
    import keras

    try:
        model = keras.applications.InceptionV3(include_top=False, weights="imagenet", pooling="avg")
    except Exception as error:  # a failed or interrupted download, a proxy, a full disk...
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        return None, f"Could not build InceptionV3 ({type(error).__name__}: {first}). It needs {needs}"
    return model, f"Built InceptionV3 with ImageNet weights ({model.count_params():,} parameters)."


def inception_features(images: Any, model: Any, *, batch_size: int = 32) -> np.ndarray:
    """Inception-v3 pool features (N, 2048) of images in [-1, 1]: grey to RGB, resized to 299x299; lesson 07.

    The resize is ``tf.image.resize`` (bilinear, no antialiasing), not the reference FID's; see :func:`try_inception`.
    """
    import tensorflow as tf

    from course_utils.validation import check_image_batch

    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    x = check_image_batch("images", x, value_range=(-1.0, 1.0))
    batch_size = check_positive_int("batch_size", batch_size)
    out = []
    for start in range(0, len(x), batch_size):
        batch = tf.image.resize(x[start : start + batch_size], (299, 299), method="bilinear")
        if batch.shape[-1] == 1:
            batch = tf.repeat(batch, 3, axis=-1)
        out.append(np.asarray(model(batch, training=False)))  # Inception's own input range is [-1, 1] too
    return np.concatenate(out).astype(np.float64)
