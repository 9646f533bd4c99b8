"""The course's datasets: a registry with checksums, verified downloads and offline stand-ins (lesson 00).

Every dataset the course downloads is described in ``data/registry.json`` (addresses, sha256, size,
licence, citation). A file is used only after its sha256 has been checked; downloads are retried, written
to a temporary file and moved into place in one step, so an interrupted download never leaves a file
under its final name. Files are looked for, in order, in ``$COURSE_DATA_DIR``, the repository's ``data/``
folder and Keras' cache (``$KERAS_HOME/datasets``, by default ``~/.keras/datasets``).

When a dataset cannot be had (no internet, nothing staged), :func:`load_digits` and
:func:`load_natural_images` fall back to stand-ins the course makes itself (``course_utils.standins``)
and print one line saying which data they used and why.

Instructors stage the data for an offline lab with::

    python -m course_utils.datasets stage --all
    python -m course_utils.datasets verify --all
"""

from __future__ import annotations

import argparse
import codecs
import gzip
import hashlib
import http.client
import importlib
import json
import os
import pickle
import socket
import struct
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from course_utils.paths import PROJECT_ROOT
from course_utils.validation import check_choice, check_positive_int, describe

#: The registry shipped with the course; ``$COURSE_DATA_REGISTRY`` may name another one.
REGISTRY_PATH = PROJECT_ROOT / "data" / "registry.json"
#: The repository's own data folder (second place searched).
REPO_DATA_DIR = PROJECT_ROOT / "data"
#: File formats the loaders can read.
FORMATS = ("npz", "idx-gz", "cifar-python-tar")
#: Files at least this big get a progress bar while they download.
PROGRESS_BAR_BYTES = 5_000_000
#: Stand-in set sizes used when ``load_digits`` is asked for "everything" but must render digits.
STANDIN_DIGITS_DEFAULT = (6_000, 1_000)
#: How long a loader that has a stand-in to fall back on waits for a server to answer (seconds).
FALLBACK_TIMEOUT = 5.0
#: A hidden ``.<name>.*.part`` file untouched for this long is left over from a killed download (seconds).
STALE_PART_SECONDS = 15 * 60

_HEX = frozenset("0123456789abcdef")
_REACHABILITY_SECONDS = 30.0  # how long a network probe's answer is trusted
_reachability: dict[tuple[str, int], tuple[float, str | None]] = {}
_digests: dict[tuple[str, int, int], str] = {}


class DatasetUnavailable(RuntimeError):
    """A registered dataset is neither staged nor downloadable; the message says how to stage it (lesson 00)."""

    def __init__(
        self, message: str, *, dataset: str, file: str, state: str, reason: str, folders: Sequence[Path]
    ) -> None:
        super().__init__(message)
        self.dataset = dataset  #: registry name, e.g. "mnist"
        self.file = file  #: the file that is missing, e.g. "mnist.npz"
        self.state = state  #: e.g. "is not cached"
        self.reason = reason  #: why it could not be downloaded, e.g. "no internet connection"
        self.folders = list(folders)  #: the folders searched, in order


class DownloadError(RuntimeError):
    """Every address of a file failed; ``offline`` is True when no download could even be tried."""

    def __init__(self, message: str, *, reason: str, offline: bool, attempts: Sequence[str]) -> None:
        super().__init__(message)
        self.reason = reason  #: one short phrase, e.g. "no internet connection: COURSE_OFFLINE=1 is set"
        self.offline = offline
        self.attempts = list(attempts)  #: one line per failed attempt


class CorruptFileWarning(UserWarning):
    """A cached dataset file does not match its registered sha256 and is not used."""


class _PermanentFailure(Exception):
    """This address will not give the right file however often it is asked (404, wrong sha256...)."""


class _TransientFailure(Exception):
    """This attempt failed in a way that a retry may fix (server error, truncated transfer...)."""


# ----------------------------------------------------------------------------------------------------
# Where the files live
# ----------------------------------------------------------------------------------------------------


def is_offline() -> bool:
    """True when ``COURSE_OFFLINE`` is set to 1/true/yes: no network access is tried; lesson 00."""
    return os.environ.get("COURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _labelled_data_dirs() -> list[tuple[Path, str]]:
    dirs: list[tuple[Path, str]] = []
    custom = os.environ.get("COURSE_DATA_DIR", "").strip()
    if custom:
        dirs.append((Path(custom).expanduser(), "COURSE_DATA_DIR"))
    dirs.append((Path(REPO_DATA_DIR), "the repository's data folder"))
    keras_home = os.environ.get("KERAS_HOME", "").strip() or "~/.keras"
    dirs.append((Path(keras_home).expanduser() / "datasets", "Keras' cache"))
    return dirs


def data_dirs() -> list[Path]:
    """The folders searched for dataset files, in order: $COURSE_DATA_DIR, data/, Keras' cache; lesson 00."""
    return [path for path, _ in _labelled_data_dirs()]


def _can_write(folder: Path) -> bool:
    """True if ``folder`` exists and is writable, or could be created."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def download_dir() -> Path | None:
    """The first writable folder of :func:`data_dirs`, where new downloads go (None if none is); lesson 00."""
    for folder in data_dirs():
        if _can_write(folder):
            return folder
    return None


# ----------------------------------------------------------------------------------------------------
# The registry
# ----------------------------------------------------------------------------------------------------


def _registry_path() -> Path:
    custom = os.environ.get("COURSE_DATA_REGISTRY", "").strip()
    return Path(custom).expanduser() if custom else REGISTRY_PATH


def _check_sha256(where: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX:
        raise ValueError(f"{where}: sha256 must be 64 lower-case hexadecimal digits; got {value!r}.")
    return value


def _check_dataset_entry(name: str, entry: Any) -> None:
    where = f"dataset {name!r}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be a JSON object; got {describe(entry)}.")
    for key in ("title", "homepage", "licence", "citation"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ValueError(f"{where} needs a non-empty text field {key!r}; got {entry.get(key)!r}.")
    files = entry.get("files")
    if not isinstance(files, list) or not files:
        raise ValueError(f"{where} needs a non-empty list 'files'; got {files!r}.")
    names = [f.get("name") for f in files if isinstance(f, dict)]
    if len(set(names)) != len(files):
        raise ValueError(f"{where}: every file needs a distinct 'name'; got {names}.")
    for file in files:
        here = f"{where}, file {file['name']!r}"
        urls = file.get("urls")
        if not isinstance(urls, list) or not urls:
            raise ValueError(f"{here} needs a non-empty list 'urls'; got {urls!r}.")
        for url in urls:
            if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in ("http", "https", "file"):
                raise ValueError(f"{here}: each url must start with http://, https:// or file://; got {url!r}.")
        _check_sha256(here, file.get("sha256"))
        size = file.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ValueError(f"{here} needs 'size', a positive number of bytes; got {size!r}.")
        if file.get("format") not in FORMATS:
            raise ValueError(f"{here}: 'format' must be one of {', '.join(FORMATS)}; got {file.get('format')!r}.")


def load_registry(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The checked dataset registry: ``data/registry.json`` or ``$COURSE_DATA_REGISTRY``; lesson 00."""
    path = Path(path) if path is not None else _registry_path()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"The dataset registry {path} is missing; it comes with the course repository "
            "(run the notebooks from a clone of the repository)."
        ) from None
    datasets = document.get("datasets") if isinstance(document, dict) else None
    if not isinstance(datasets, dict) or not datasets:
        raise ValueError(f"{path} must hold a JSON object with a non-empty 'datasets' object.")
    for name, entry in datasets.items():
        _check_dataset_entry(name, entry)
    return datasets


def _entry(name: str, registry: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    registry = load_registry() if registry is None else registry
    if name not in registry:
        raise ValueError(f"There is no dataset called {name!r}; the registered ones are: {', '.join(registry)}.")
    return registry[name]


# ----------------------------------------------------------------------------------------------------
# Checksums and finding cached copies
# ----------------------------------------------------------------------------------------------------


def sha256_of(path: str | Path) -> str:
    """The sha256 of a file as 64 hex digits, read in 1 MiB blocks; lesson 00."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _is_valid(path: Path, sha256: str, size: int | None) -> bool:
    """True if ``path`` has the expected size and sha256 (digests are remembered per size and mtime)."""
    stat = path.stat()
    if size is not None and stat.st_size != size:
        return False
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        _digests[key] = sha256_of(path)
    return _digests[key] == sha256


def _candidates(entry: dict[str, Any], file: dict[str, Any], folders: Sequence[Path]) -> list[Path]:
    sub = entry.get("folder") or ""
    names = [file["name"], *file.get("aliases", [])]
    return [folder / sub / name for folder in folders for name in names]


def _locate(entry: dict[str, Any], file: dict[str, Any], folders: Sequence[Path]) -> tuple[Path | None, list[Path]]:
    """The first verified copy of ``file`` (or None) and every corrupt copy met before it."""
    corrupt: list[Path] = []
    for path in _candidates(entry, file, folders):
        if path.is_file():
            if _is_valid(path, file["sha256"], file["size"]):
                return path, corrupt
            corrupt.append(path)
    return None, corrupt


# ----------------------------------------------------------------------------------------------------
# Downloading
# ----------------------------------------------------------------------------------------------------


def _unreachable(url: str, connect_timeout: float) -> str | None:
    """None if a TCP connection to the URL's host (or its proxy) opens quickly, else why not, in words."""
    parts = urllib.parse.urlsplit(url)
    target, what = parts, parts.hostname
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        target = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        what = f"the proxy {target.hostname}"
    host = target.hostname or ""
    port = target.port or (443 if target.scheme == "https" else 80)
    cached = _reachability.get((host, port))
    if cached is not None and time.monotonic() - cached[0] < _REACHABILITY_SECONDS:
        return cached[1]
    problem: str | None = None
    try:
        with socket.create_connection((host, port), timeout=connect_timeout):
            pass
    except socket.gaierror:
        problem = f"no internet connection: could not look up {what}"
    except OSError as exc:
        problem = f"no internet connection, or the server is down: could not reach {what} ({exc})"
    _reachability[(host, port)] = (time.monotonic(), problem)
    return problem


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int | None, label: str, progress: bool | None) -> Any:
    show = progress if progress is not None else bool(total and total >= PROGRESS_BAR_BYTES)
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024, leave=False)


def _remove_stale_parts(destination: Path, *, older_than: float = STALE_PART_SECONDS) -> list[Path]:
    """Delete the hidden ``.<name>.*.part`` files a killed download of ``destination`` left behind.

    Only parts untouched for ``older_than`` seconds go: a download in progress (another student's, in a
    shared data folder) writes to its part every moment and is left alone.
    """
    removed = []
    now = time.time()
    for part in destination.parent.glob(f".{destination.name}.*.part"):
        try:
            if now - part.stat().st_mtime > older_than:
                part.unlink()
                removed.append(part)
        except OSError:  # gone already, or not ours to delete: leave it
            pass
    return removed


def _shared_file_mode() -> int:
    """The permissions a new file gets from the process' umask (e.g. 0o644), as ``open()`` would give it."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _download_once(
    url: str, destination: Path, *, sha256: str, size: int | None, timeout: float, progress: bool | None
) -> None:
    """One attempt: stream to a hidden temporary file beside ``destination``, check it, move it into place."""
    _remove_stale_parts(destination)
    fd, temporary_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    temporary = Path(temporary_name)
    try:
        digest = hashlib.sha256()
        received = 0
        request = urllib.request.Request(url, headers={"User-Agent": "course-utils (dataset download)"})
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(request, timeout=timeout)
            except urllib.error.HTTPError as exc:
                failure = _TransientFailure if exc.code in (408, 429) or exc.code >= 500 else _PermanentFailure
                raise failure(f"the server answered HTTP {exc.code} {exc.reason}") from None
            except TimeoutError:
                # A server that takes the connection and never answers rarely recovers within seconds.
                raise _PermanentFailure(f"the server did not answer within {timeout:g} s") from None
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, TimeoutError):
                    raise _PermanentFailure(f"the server did not answer within {timeout:g} s") from None
                raise
            with response:
                header = response.headers.get("Content-Length")
                announced = int(header) if header and header.strip().isdigit() else None
                if size is not None and announced is not None and announced != size:
                    raise _PermanentFailure(f"the server offers {announced} bytes, but the file has {size} bytes")
                bar = _progress_bar(size or announced, destination.name, progress)
                try:
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                finally:
                    bar.close()
            out.flush()
            os.fsync(out.fileno())
        expected = size if size is not None else announced
        if expected is not None and received != expected:
            raise _TransientFailure(f"the transfer stopped after {received} of {expected} bytes")
        if digest.hexdigest() != sha256:
            raise _PermanentFailure(f"the file received has sha256 {digest.hexdigest()}, expected {sha256}")
        # mkstemp makes files only their owner can read; in a lab-wide data folder everyone must read them.
        os.chmod(temporary, _shared_file_mode())
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def download(
    urls: str | Sequence[str],
    destination: str | Path,
    *,
    sha256: str,
    size: int | None = None,
    retries: int = 3,
    timeout: float = 30.0,
    connect_timeout: float = 3.0,
    backoff: float = 1.0,
    progress: bool | None = None,
    verbose: bool = False,
) -> Path:
    """Download a file from the first address that works, verified by size and sha256; lesson 00.

    Each address is tried ``retries`` times (waiting ``backoff``, then twice as long...), except one whose
    server takes the connection but sends no answer within ``timeout`` seconds: it is given up at once. The
    bytes go to a temporary file in the destination's folder that is moved into place only once verified
    (with the permissions a normal new file gets), and removed on any failure; parts left by a killed
    download are cleaned up. ``http(s)`` addresses are skipped when ``COURSE_OFFLINE=1`` is set or their
    host cannot be reached within ``connect_timeout`` seconds. Raises :class:`DownloadError` when every
    address fails. ``verbose`` prints a line before each attempt that goes over the network.
    """
    url_list = [urls] if isinstance(urls, str) else list(urls)
    if not url_list or not all(isinstance(u, str) for u in url_list):
        raise ValueError(f"urls must be an address or a non-empty list of addresses; got {urls!r}.")
    sha256 = _check_sha256("download", sha256.lower() if isinstance(sha256, str) else sha256)
    retries = check_positive_int("retries", retries)
    if size is not None:
        size = check_positive_int("size", size)
    destination = Path(destination)

    attempts: list[str] = []
    offline_reasons: list[str] = []
    tried_any = False
    for url in url_list:
        if urllib.parse.urlsplit(url).scheme in ("http", "https"):
            problem = "no internet connection: COURSE_OFFLINE=1 is set" if is_offline() else None
            problem = problem or _unreachable(url, connect_timeout)
            if problem:
                attempts.append(f"{url}: not tried, {problem}")
                offline_reasons.append(problem)
                continue
        tried_any = True
        destination.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, retries + 1):
            if verbose and urllib.parse.urlsplit(url).scheme in ("http", "https"):
                host = urllib.parse.urlsplit(url).hostname
                print(f"Downloading {destination.name} from {host} (waiting at most {timeout:g} s for an answer)...")
            try:
                _download_once(url, destination, sha256=sha256, size=size, timeout=timeout, progress=progress)
                return destination
            except _PermanentFailure as exc:
                attempts.append(f"{url}: {exc}")
                break
            except (_TransientFailure, OSError, http.client.HTTPException) as exc:
                attempts.append(f"{url} (attempt {attempt} of {retries}): {exc}")
                if attempt < retries:
                    time.sleep(backoff * 2 ** (attempt - 1))
    if tried_any:
        reason = f"the download failed: {attempts[-1]}"
    else:
        reason = offline_reasons[0]
    message = f"Could not download {destination.name}; {reason}.\nAttempts:\n" + "\n".join(
        f"  - {line}" for line in attempts
    )
    raise DownloadError(message, reason=reason, offline=not tried_any, attempts=attempts)


# ----------------------------------------------------------------------------------------------------
# Making sure a registered dataset is present
# ----------------------------------------------------------------------------------------------------


def _human_size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes / 1e3:.1f} kB"


def _unavailable(
    name: str, entry: dict[str, Any], file: dict[str, Any], state: str, reason: str, folders: list[tuple[Path, str]]
) -> DatasetUnavailable:
    sub = entry.get("folder") or ""
    lines = [
        f"The dataset {name!r} ({entry['title']}) is not available: its file {file['name']} {state} "
        f"and could not be downloaded ({reason}).",
        f"To use it offline, put {file['name']} ({_human_size(file['size'])}, sha256 {file['sha256']}) "
        "into one of these folders (searched in this order):",
        *(f"  - {folder / sub}  ({label})" for folder, label in folders),
        "On a machine with internet, this command downloads and checks it: "
        f"python -m course_utils.datasets stage {name}",
    ]
    return DatasetUnavailable(
        "\n".join(lines),
        dataset=name,
        file=file["name"],
        state=state,
        reason=reason,
        folders=[folder / sub for folder, _ in folders],
    )


def fetch(
    name: str,
    *,
    data_dir: str | Path | None = None,
    progress: bool | None = None,
    timeout: float = 30.0,
    verbose: bool = True,
) -> dict[str, Path]:
    """Make sure every file of a registered dataset is present and verified, downloading if needed; lesson 00.

    Returns ``{file name: path}``. A cached copy whose sha256 is wrong is never used: it is reported
    (:class:`CorruptFileWarning`) and replaced by a fresh download. ``data_dir`` is searched first and
    receives new downloads; ``timeout`` is how long a server may stay silent. Raises
    :class:`DatasetUnavailable` when a file can be neither found nor downloaded.
    """
    entry = _entry(name)
    folders = _labelled_data_dirs()
    if data_dir is not None:
        folders.insert(0, (Path(data_dir).expanduser(), "the folder asked for"))
    sub = entry.get("folder") or ""
    paths: dict[str, Path] = {}
    for file in entry["files"]:
        found, corrupt = _locate(entry, file, [folder for folder, _ in folders])
        for bad in corrupt:
            action = "ignored" if found else "replaced by a fresh download"
            warnings.warn(
                f"{bad} does not match the sha256 registered for {name!r} (it is damaged or incomplete); "
                f"it is not used and will be {action}.",
                CorruptFileWarning,
                stacklevel=2,
            )
        if found is not None:
            paths[file["name"]] = found
            continue
        state = f"is cached only as a damaged copy ({corrupt[0]})" if corrupt else "is not cached"
        if corrupt and _can_write(corrupt[0].parent):
            target = corrupt[0]
        else:
            writable = next((folder for folder, _ in folders if _can_write(folder)), None)
            if writable is None:
                raise _unavailable(name, entry, file, state, "none of the data folders is writable", folders)
            target = writable / sub / file["name"]
        try:
            download(
                file["urls"],
                target,
                sha256=file["sha256"],
                size=file["size"],
                progress=progress,
                timeout=timeout,
                verbose=verbose,
            )
        except DownloadError as exc:
            raise _unavailable(name, entry, file, state, exc.reason, folders) from exc
        paths[file["name"]] = target
    return paths


# ----------------------------------------------------------------------------------------------------
# Reading the files (NumPy only)
# ----------------------------------------------------------------------------------------------------

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX array file, gzipped (``.gz``) or not, as used by MNIST and Fashion-MNIST; lesson 03."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = bytearray(handle.read())
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (its first bytes are {bytes(data[:4])!r}).")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", bytes(data[4:header]))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{path} announces an array of shape {shape} ({expected} bytes) but holds {len(data) - header} bytes."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def read_npz_splits(path: str | Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Read ``x_train, y_train, x_test, y_test`` from an ``.npz`` file such as Keras' mnist.npz; lesson 03."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(
            f"{path} is not a NumPy .npz archive of arrays (NumPy could not read it: {type(exc).__name__}). "
            "Delete it and download or stage the dataset again."
        ) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds a single array, not an .npz archive with x_train, y_train, x_test, y_test.")
    with loaded as arrays:
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays.files]
        if missing:
            raise ValueError(f"{path} lacks the arrays {', '.join(missing)}; it holds {', '.join(arrays.files)}.")
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


_NUMPY_RECONSTRUCT = np.empty(0).__reduce__()[0]


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR batch (a dict of lists, bytes and one uint8 array) and refuses any other object."""

    def find_class(self, module: str, name: str) -> Any:
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return _NUMPY_RECONSTRUCT
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if (module, name) == ("_codecs", "encode"):  # how Python 3 writes bytes in the old pickle protocols
            return codecs.encode
        raise pickle.UnpicklingError(
            f"a CIFAR batch never holds a Python object of type {module}.{name}; this is not a CIFAR file"
        )


def _read_cifar_batch(handle: BinaryIO, label: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _CifarUnpickler(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ValueError(f"{label} is not a readable CIFAR batch: {exc}.") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{label} should hold a dict; it holds {describe(batch)}.")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(f"{label} lacks 'data' or 'labels'; its keys are {sorted(batch)}.")
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch["labels"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(
            f"{label} should hold N rows of 3072 pixels and N labels; got {describe(data)} and {len(labels)} labels."
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # channels first -> channels last
    return np.ascontiguousarray(images), labels


def read_cifar_archive(
    path: str | Path,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Read CIFAR-10's python archive (data_batch_1..5, test_batch) into uint8 arrays; lesson 06."""
    batches: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    wanted = {f"data_batch_{i}" for i in range(1, 6)} | {"test_batch"}
    with tarfile.open(path, "r:*") as archive:
        for member in archive:  # in archive order: a gzip stream reads fastest front to back
            base = member.name.rsplit("/", 1)[-1]
            if member.isfile() and base in wanted:
                handle = archive.extractfile(member)
                assert handle is not None  # a regular file always has contents
                batches[base] = _read_cifar_batch(handle, f"{base} in {path}")
    missing = sorted(wanted - set(batches))
    if missing:
        raise ValueError(f"{path} is not a complete CIFAR-10 python archive: {', '.join(missing)} missing.")
    train = [batches[f"data_batch_{i}"] for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train), batches["test_batch"]


def load_mnist(*, timeout: float = 30.0) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST as uint8 arrays ``((x_train (60000,28,28), y_train), (x_test, y_test))``, verified; lesson 03."""
    return read_npz_splits(fetch("mnist", timeout=timeout)["mnist.npz"])


def load_fashion_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Fashion-MNIST as uint8 arrays shaped like MNIST's, read from the verified IDX files; lesson 06."""
    paths = fetch("fashion_mnist")
    x_train, y_train = read_idx(paths["train-images-idx3-ubyte.gz"]), read_idx(paths["train-labels-idx1-ubyte.gz"])
    x_test, y_test = read_idx(paths["t10k-images-idx3-ubyte.gz"]), read_idx(paths["t10k-labels-idx1-ubyte.gz"])
    return (x_train, y_train), (x_test, y_test)


def load_cifar10(*, timeout: float = 30.0) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10 as uint8 arrays ``((x_train (50000,32,32,3), y_train (50000,)), (x_test, y_test))``; lesson 06."""
    return read_cifar_archive(fetch("cifar10", timeout=timeout)["cifar-10-python.tar.gz"])


# ----------------------------------------------------------------------------------------------------
# What the notebooks call: real data when it can be had, else a stand-in
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageData:
    """Train and test images of one dataset, with a sentence saying where they come from; lesson 03."""

    x_train: np.ndarray
    y_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray | None
    name: str  #: e.g. "mnist" or "standin-digits"
    source: str  #: one sentence saying what the images are
    class_names: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return (
            f"ImageData(name={self.name!r}, x_train: {describe(self.x_train)}, x_test: {describe(self.x_test)}, "
            f"labels: {'yes' if self.y_train is not None else 'none'})"
        )


def _subsample(n: int | None, *arrays: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """The same ``n`` randomly chosen rows (kept in their original order) of each array; all rows if n is None."""
    total = len(arrays[0])
    if n is None or n >= total:
        return arrays
    rows = np.sort(np.random.default_rng(seed).choice(total, size=n, replace=False))
    return tuple(a[rows] for a in arrays)


def _standins() -> Any:
    # Imported when needed, so that a missing or slow stand-in module never slows the real-data path.
    return importlib.import_module("course_utils.standins")


def _why_not(title: str, exc: DatasetUnavailable) -> str:
    return (
        f"{title} {exc.state} and could not be downloaded ({exc.reason}). "
        f"Stage it with `python -m course_utils.datasets stage {exc.dataset}`."
    )


def load_digits(
    n_train: int | None = None,
    n_test: int | None = None,
    *,
    source: str = "auto",
    seed: int = 0,
    verbose: bool = True,
) -> ImageData:
    """Handwritten digits: MNIST when it can be had, else rendered stand-in digits; lessons 03 and 06.

    ``source`` is "auto" (MNIST, falling back to the stand-in), "mnist" (raises
    :class:`DatasetUnavailable` when offline and not staged) or "standin". ``n_train``/``n_test`` take a
    random subset chosen by ``seed`` (``None``: all of MNIST, or 6,000/1,000 stand-in digits). One line says
    which data was used and why.
    """
    check_choice("source", source, ("auto", "mnist", "standin"))
    n_train = None if n_train is None else check_positive_int("n_train", n_train)
    n_test = None if n_test is None else check_positive_int("n_test", n_test)
    seed = check_positive_int("seed", seed, minimum=0)
    if source == "standin":
        why = "as asked (source='standin')."
    else:
        try:
            # With a stand-in to fall back on, a silent server is given a few seconds, not minutes.
            (x_train, y_train), (x_test, y_test) = load_mnist(timeout=30.0 if source == "mnist" else FALLBACK_TIMEOUT)
        except DatasetUnavailable as exc:
            if source == "mnist":
                raise
            why = _why_not("MNIST", exc)
        else:
            x_train, y_train = _subsample(n_train, x_train, y_train, seed=seed)
            x_test, y_test = _subsample(n_test, x_test, y_test, seed=seed + 1)
            if verbose:
                print(f"Using MNIST: {len(x_train):,} training and {len(x_test):,} test images (28x28, greyscale).")
            entry = _entry("mnist")
            return ImageData(
                x_train,
                y_train,
                x_test,
                y_test,
                name="mnist",
                source="MNIST: handwritten digits written by American students and census employees (LeCun et al.).",
                class_names=tuple(entry.get("class_names") or ()) or None,
            )
    n_train = STANDIN_DIGITS_DEFAULT[0] if n_train is None else n_train
    n_test = STANDIN_DIGITS_DEFAULT[1] if n_test is None else n_test
    images, labels = _standins().render_digits(n_train + n_test, seed=seed, image_size=28)
    if verbose:
        print(f"Using the rendered stand-in digits ({n_train:,} training and {n_test:,} test images): {why}")
    return ImageData(
        images[:n_train],
        labels[:n_train],
        images[n_train:],
        labels[n_train:],
        name="standin-digits",
        source="Stand-in digits rendered from the fonts matplotlib ships, randomly distorted (not MNIST).",
        class_names=tuple(str(d) for d in range(10)),
    )


def _resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Resize a uint8 batch (N, H, W, C) to (N, size, size, C) with Pillow (Lanczos down, bicubic up)."""
    from PIL import Image

    if images.shape[1] == size:
        return images
    resample = Image.Resampling.LANCZOS if size < images.shape[1] else Image.Resampling.BICUBIC
    return np.stack([np.asarray(Image.fromarray(image).resize((size, size), resample)) for image in images])


def load_natural_images(
    n_train: int,
    n_test: int,
    *,
    size: int = 32,
    source: str = "auto",
    seed: int = 0,
    verbose: bool = True,
) -> ImageData:
    """Small colour photos: CIFAR-10 when it can be had, else crops of scikit-image's photos; lesson 09.

    ``source`` is "auto", "cifar10" (raises :class:`DatasetUnavailable` when offline and not staged) or
    "standin". CIFAR-10 images are resized to ``size`` when it is not 32. One line says which data was
    used and why.
    """
    n_train = check_positive_int("n_train", n_train)
    n_test = check_positive_int("n_test", n_test)
    size = check_positive_int("size", size, minimum=8)
    check_choice("source", source, ("auto", "cifar10", "standin"))
    seed = check_positive_int("seed", seed, minimum=0)
    if source == "standin":
        why = "as asked (source='standin')."
    else:
        try:
            timeout = 30.0 if source == "cifar10" else FALLBACK_TIMEOUT
            (x_train, y_train), (x_test, y_test) = load_cifar10(timeout=timeout)
        except DatasetUnavailable as exc:
            if source == "cifar10":
                raise
            why = _why_not("CIFAR-10", exc)
        else:
            x_train, y_train = _subsample(n_train, x_train, y_train, seed=seed)
            x_test, y_test = _subsample(n_test, x_test, y_test, seed=seed + 1)
            resized = "" if size == 32 else f", resized from 32x32 to {size}x{size}"
            if verbose:
                print(f"Using CIFAR-10: {len(x_train):,} training and {len(x_test):,} test images{resized}.")
            entry = _entry("cifar10")
            return ImageData(
                _resize_images(x_train, size),
                y_train,
                _resize_images(x_test, size),
                y_test,
                name="cifar10",
                source="CIFAR-10: small colour photos of ten kinds of objects and animals (Krizhevsky, 2009).",
                class_names=tuple(entry.get("class_names") or ()) or None,
            )
    standins = _standins()
    x_train = standins.photo_crops(n_train, size=size, split="train", seed=seed)
    x_test = standins.photo_crops(n_test, size=size, split="test", seed=seed)
    if verbose:
        print(f"Using the stand-in photo crops ({n_train:,} training and {n_test:,} test images, {size}x{size}): {why}")
    return ImageData(
        x_train,
        None,
        x_test,
        None,
        name="standin-photos",
        source="Stand-in crops of the photographs that scikit-image ships (not CIFAR-10; no labels).",
        class_names=None,
    )


# ----------------------------------------------------------------------------------------------------
# The instructor command: python -m course_utils.datasets {list,stage,verify}
# ----------------------------------------------------------------------------------------------------


def _chosen(names: Sequence[str], everything: bool, registry: dict[str, Any], *, default_all: bool) -> list[str]:
    if everything or (not names and default_all):
        return list(registry)
    if not names:
        raise ValueError("name at least one dataset, or pass --all")
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ValueError(f"unknown dataset(s) {', '.join(unknown)}; the registered ones are: {', '.join(registry)}")
    return list(dict.fromkeys(names))


def _command_list(names: list[str], registry: dict[str, Any]) -> int:
    print("Data folders, searched in this order:")
    for folder, label in _labelled_data_dirs():
        print(f"  - {folder}  ({label})")
    target = download_dir()
    print(f"New downloads go to: {target if target else 'nowhere (no folder is writable)'}\n")
    for name in names:
        entry = registry[name]
        folders = data_dirs()
        states = [_locate(entry, file, folders) for file in entry["files"]]
        total = sum(file["size"] for file in entry["files"])
        if all(found for found, _ in states):
            where = sorted({str(found.parent) for found, _ in states if found})
            status = f"staged and verified ({', '.join(where)})"
        else:
            present = sum(1 for found, _ in states if found)
            status = f"not staged ({present} of {len(states)} files present)"
            status += f"; run: python -m course_utils.datasets stage {name}"
        corrupt = [str(path) for _, bad in states for path in bad]
        print(f"{name}: {entry['title']}")
        print(f"    size {_human_size(total)} in {len(entry['files'])} file(s); licence: {entry['licence']}")
        print(f"    status: {status}")
        if corrupt:
            print(f"    DAMAGED (sha256 mismatch, not used): {', '.join(corrupt)}")
    return 0


def _command_stage(names: list[str], data_dir: str | None) -> int:
    failed = []
    for name in names:
        try:
            paths = fetch(name, data_dir=data_dir, progress=True)
        except DatasetUnavailable as exc:
            print(f"\n{exc}\n", file=sys.stderr)
            failed.append(name)
            continue
        for path in paths.values():
            print(f"{name}: staged and verified {path}")
    if failed:
        print(f"Could not stage: {', '.join(failed)}.", file=sys.stderr)
        return 1
    return 0


def _command_verify(names: list[str], registry: dict[str, Any]) -> int:
    bad: list[str] = []
    missing: list[str] = []
    for name in names:
        entry = registry[name]
        for file in entry["files"]:
            copies = [p for p in _candidates(entry, file, data_dirs()) if p.is_file()]
            if not copies:
                print(f"MISSING  {name}: {file['name']} is in none of the data folders")
                missing.append(name)
            for path in copies:
                actual = sha256_of(path)
                if actual == file["sha256"]:
                    print(f"OK       {name}: {path}")
                else:
                    print(f"DAMAGED  {name}: {path} has sha256 {actual}, expected {file['sha256']}")
                    bad.append(str(path))
    if bad:
        print(
            f"\n{len(bad)} file(s) do not match the registry: {', '.join(bad)}. Delete them and run "
            "`python -m course_utils.datasets stage NAME` to download them again.",
            file=sys.stderr,
        )
    if missing:
        names_missing = " ".join(dict.fromkeys(missing))
        print(
            f"\nNot staged: {names_missing}. Run `python -m course_utils.datasets stage {names_missing}`.",
            file=sys.stderr,
        )
    return 1 if bad or missing else 0


def main(argv: Sequence[str] | None = None) -> int:
    """The instructor command ``python -m course_utils.datasets {list,stage,verify}``; lesson 00."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.datasets",
        description="List, download (stage) and check the course's datasets, e.g. before an offline lab.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    helps = {
        "list": "show each dataset with its size, licence and whether it is staged and verified",
        "stage": "download and verify datasets (needs internet)",
        "verify": "re-check the sha256 of staged files; exit code 1 if one is missing or damaged",
    }
    for command, text in helps.items():
        sub = commands.add_parser(command, help=text, description=text)
        sub.add_argument("names", nargs="*", metavar="NAME", help="dataset names (default for list/verify: all)")
        sub.add_argument("--all", action="store_true", help="every registered dataset")
        if command == "stage":
            sub.add_argument("--dir", help="stage into this folder (point COURSE_DATA_DIR at it afterwards)")
    args = parser.parse_args(argv)
    registry = load_registry()
    try:
        names = _chosen(args.names, args.all, registry, default_all=args.command != "stage")
    except ValueError as exc:
        parser.error(str(exc))
    if args.command == "list":
        return _command_list(names, registry)
    if args.command == "stage":
        return _command_stage(names, args.dir)
    return _command_verify(names, registry)


if __name__ == "__main__":
    raise SystemExit(main())
