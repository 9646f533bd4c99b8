"""Tests of course_utils.datasets: registry, verified downloads, cache folders, parsers, fallbacks, CLI.

No test uses the internet, the repository's data/ folder or ~/.keras: files are served by a local HTTP
server on 127.0.0.1 (or file:// addresses) and every data folder points into pytest's tmp_path.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib.util
import io
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import tarfile
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from course_utils import datasets
from course_utils.paths import PROJECT_ROOT

# ------------------------------------------------------------------------------------------------
# Fixtures: an isolated set of data folders and a local file server
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """COURSE_DATA_DIR, the repository's data folder and Keras' cache, all inside tmp_path; offline."""
    paths = types.SimpleNamespace(
        course=tmp_path / "course-data", repo=tmp_path / "repo-data", keras=tmp_path / "keras-home" / "datasets"
    )
    monkeypatch.setenv("COURSE_DATA_DIR", str(paths.course))
    monkeypatch.setattr(datasets, "REPO_DATA_DIR", paths.repo)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.delenv("COURSE_DATA_REGISTRY", raising=False)
    monkeypatch.setattr(datasets, "_reachability", {})
    monkeypatch.setattr(datasets, "_digests", {})
    return paths


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes[path]``: a dict with the payload and how to misbehave."""

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        route = self.server.routes.get(self.path)
        self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1
        if route is None:
            self.send_error(404)
            return
        failures = route.get("fail_first", [])
        if failures:
            self.send_error(failures.pop(0))
            return
        payload = route["payload"]
        self.send_response(200)
        self.send_header("Content-Length", str(route.get("announce", len(payload))))
        self.end_headers()
        try:
            if route.get("slow"):  # trickle the bytes out, so a client can be killed mid-transfer
                for start in range(0, len(payload), 1024):
                    self.wfile.write(payload[start : start + 1024])
                    self.wfile.flush()
                    time.sleep(0.02)
            else:
                self.wfile.write(payload[: route.get("send", len(payload))])
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.routes, httpd.hits = {}, {}
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def write_registry(tmp_path: Path, monkeypatch, datasets_: dict) -> Path:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"schema": 1, "datasets": datasets_}), encoding="utf-8")
    monkeypatch.setenv("COURSE_DATA_REGISTRY", str(path))
    return path


def tiny_entry(files: list[tuple[str, bytes, list[str]]], *, folder: str = "", fmt: str = "npz") -> dict:
    return {
        "title": "A tiny test set",
        "homepage": "https://example.org/",
        "licence": "CC0",
        "citation": "Nobody, 2024.",
        "folder": folder,
        "files": [
            {"name": name, "format": fmt, "size": len(data), "sha256": sha(data), "urls": urls, "aliases": []}
            for name, data, urls in files
        ],
    }


# ------------------------------------------------------------------------------------------------
# The registry
# ------------------------------------------------------------------------------------------------


def test_registry_is_well_formed():
    registry = datasets.load_registry(datasets.REGISTRY_PATH)
    assert {"mnist", "fashion_mnist", "cifar10"} <= set(registry)
    for name, entry in registry.items():
        for key in ("title", "homepage", "licence", "citation"):
            assert entry[key].strip(), (name, key)
        for file in entry["files"]:
            assert len(file["sha256"]) == 64 and set(file["sha256"]) <= set("0123456789abcdef"), (name, file)
            assert file["size"] > 0 and file["urls"], (name, file)
            assert all(url.startswith("https://") or url.startswith("http://") for url in file["urls"])
    assert len(registry["fashion_mnist"]["files"]) == 4


def test_registry_hashes_agree_with_keras_own_loaders():
    # Keras passes file_hash= for the very same files; its source is the reference.
    keras_dir = Path(importlib.util.find_spec("keras").submodule_search_locations[0]) / "src" / "datasets"
    registry = datasets.load_registry(datasets.REGISTRY_PATH)
    assert registry["mnist"]["files"][0]["sha256"] in (keras_dir / "mnist.py").read_text()
    assert registry["cifar10"]["files"][0]["sha256"] in (keras_dir / "cifar10.py").read_text()


def test_registry_rejects_a_bad_checksum(tmp_path, monkeypatch):
    entry = tiny_entry([("a.npz", b"abc", ["https://example.org/a.npz"])])
    entry["files"][0]["sha256"] = "1234"
    path = write_registry(tmp_path, monkeypatch, {"tiny": entry})
    with pytest.raises(ValueError, match=r"dataset 'tiny', file 'a.npz'.*64 lower-case hexadecimal"):
        datasets.load_registry(path)


# ------------------------------------------------------------------------------------------------
# download()
# ------------------------------------------------------------------------------------------------


def test_download_writes_the_verified_file(folders, server, online, tmp_path):
    payload = os.urandom(50_000)
    server.routes["/f.bin"] = {"payload": payload}
    target = tmp_path / "out" / "f.bin"
    result = datasets.download(server.base + "/f.bin", target, sha256=sha(payload), size=len(payload))
    assert result == target and target.read_bytes() == payload
    assert leftovers(target.parent) == ["f.bin"]


def test_download_retries_after_transient_server_errors(folders, server, online, tmp_path):
    payload = b"x" * 1000
    server.routes["/f.bin"] = {"payload": payload, "fail_first": [503, 500]}
    target = tmp_path / "f.bin"
    datasets.download(server.base + "/f.bin", target, sha256=sha(payload), retries=3, backoff=0.01)
    assert target.read_bytes() == payload
    assert server.hits["/f.bin"] == 3


def test_download_gives_up_after_its_retries_and_tries_the_mirror(folders, server, online, tmp_path):
    payload = b"y" * 1000
    server.routes["/broken"] = {"payload": payload, "fail_first": [503] * 10}
    server.routes["/mirror"] = {"payload": payload}
    target = tmp_path / "f.bin"
    urls = [server.base + "/missing", server.base + "/broken", server.base + "/mirror"]
    datasets.download(urls, target, sha256=sha(payload), retries=2, backoff=0.01)
    assert target.read_bytes() == payload
    assert server.hits == {"/missing": 1, "/broken": 2, "/mirror": 1}  # a 404 is not retried


def test_download_with_the_wrong_sha256_leaves_nothing(folders, server, online, tmp_path):
    payload = b"z" * 5000
    server.routes["/f.bin"] = {"payload": payload}
    target = tmp_path / "out" / "f.bin"
    with pytest.raises(datasets.DownloadError, match="sha256") as info:
        datasets.download(server.base + "/f.bin", target, sha256=sha(b"something else"), backoff=0.01)
    assert not info.value.offline
    assert leftovers(target.parent) == []
    assert server.hits["/f.bin"] == 1  # a wrong checksum is not retried on the same address


def test_download_cut_off_mid_stream_leaves_nothing(folders, server, online, tmp_path):
    payload = os.urandom(20_000)
    server.routes["/f.bin"] = {"payload": payload, "send": 7_000}  # announces 20,000 bytes, sends 7,000
    target = tmp_path / "out" / "f.bin"
    with pytest.raises(datasets.DownloadError, match="7000 of 20000 bytes"):
        datasets.download(server.base + "/f.bin", target, sha256=sha(payload), retries=2, backoff=0.01)
    assert leftovers(target.parent) == []
    assert server.hits["/f.bin"] == 2


def test_a_killed_download_never_leaves_a_file_under_its_final_name(folders, server, tmp_path):
    payload = os.urandom(400_000)  # about 8 s at the server's trickle: plenty of time to kill the client
    server.routes["/big.bin"] = {"payload": payload, "slow": True}
    target = tmp_path / "out" / "big.bin"
    code = (
        "import sys; from course_utils.datasets import download; "
        "download(sys.argv[1], sys.argv[2], sha256=sys.argv[3], progress=False)"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("COURSE_OFFLINE", None)
    child = subprocess.Popen([sys.executable, "-c", code, server.base + "/big.bin", str(target), sha(payload)], env=env)

    def started() -> bool:
        return any(part.stat().st_size > 0 for part in target.parent.glob(".big.bin.*.part"))

    try:
        deadline = time.monotonic() + 20
        while not (target.parent.exists() and started()):
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert not target.exists()
    assert all(name.startswith(".big.bin.") and name.endswith(".part") for name in leftovers(target.parent))


def test_offline_setting_skips_the_network(folders, server, tmp_path):
    server.routes["/f.bin"] = {"payload": b"abc"}
    with pytest.raises(datasets.DownloadError, match="COURSE_OFFLINE=1") as info:
        datasets.download(server.base + "/f.bin", tmp_path / "f.bin", sha256=sha(b"abc"))
    assert info.value.offline and server.hits == {}


def test_an_unreachable_host_fails_fast(folders, online, tmp_path):
    import socket

    with socket.socket() as probe:  # find a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(datasets.DownloadError, match="could not reach") as info:
        datasets.download(f"http://127.0.0.1:{port}/f.bin", tmp_path / "f.bin", sha256=sha(b"abc"), backoff=5)
    assert info.value.offline and time.monotonic() - start < 2


def test_file_urls_work_even_offline(folders, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"hello")
    target = datasets.download(source.as_uri(), tmp_path / "copy" / "f.bin", sha256=sha(b"hello"), size=5)
    assert target.read_bytes() == b"hello"


def test_download_explains_a_bad_checksum_argument(tmp_path):
    with pytest.raises(ValueError, match="64 lower-case hexadecimal digits; got 'abc'"):
        datasets.download("file:///nowhere", tmp_path / "f", sha256="abc")


# ------------------------------------------------------------------------------------------------
# fetch(): cache folders, corrupt copies, the message when offline
# ------------------------------------------------------------------------------------------------


def test_a_valid_cached_file_is_used_without_network(folders, server, online, tmp_path, monkeypatch):
    payload = b"cached bytes"
    write_registry(tmp_path, monkeypatch, {"tiny": tiny_entry([("t.npz", payload, [server.base + "/t.npz"])])})
    folders.keras.mkdir(parents=True)
    (folders.keras / "t.npz").write_bytes(payload)
    assert datasets.fetch("tiny") == {"t.npz": folders.keras / "t.npz"}
    assert server.hits == {}


def test_folders_are_searched_in_order(folders, tmp_path, monkeypatch):
    payload = b"same bytes"
    write_registry(tmp_path, monkeypatch, {"tiny": tiny_entry([("t.npz", payload, ["https://example.org/t"])])})
    for folder in (folders.course, folders.repo, folders.keras):
        folder.mkdir(parents=True)
        (folder / "t.npz").write_bytes(payload)
    assert datasets.data_dirs() == [folders.course, folders.repo, folders.keras]
    assert datasets.fetch("tiny")["t.npz"] == folders.course / "t.npz"
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert datasets.data_dirs() == [folders.repo, folders.keras]
    assert datasets.fetch("tiny")["t.npz"] == folders.repo / "t.npz"


def test_new_downloads_go_to_the_first_writable_folder(folders, server, online, tmp_path, monkeypatch):
    payload = b"fresh"
    server.routes["/t"] = {"payload": payload}
    write_registry(tmp_path, monkeypatch, {"tiny": tiny_entry([("t.npz", payload, [server.base + "/t"])])})
    assert datasets.fetch("tiny")["t.npz"] == folders.course / "t.npz"
    monkeypatch.setattr(datasets, "_can_write", lambda folder: folder != folders.course)
    (folders.course / "t.npz").unlink()
    assert datasets.fetch("tiny")["t.npz"] == folders.repo / "t.npz"


def test_a_corrupt_cached_file_is_reported_and_replaced(folders, server, online, tmp_path, monkeypatch):
    payload = b"the genuine file"
    server.routes["/t"] = {"payload": payload}
    write_registry(tmp_path, monkeypatch, {"tiny": tiny_entry([("t.npz", payload, [server.base + "/t"])])})
    folders.repo.mkdir(parents=True)
    (folders.repo / "t.npz").write_bytes(b"the damaged file")  # same size, wrong bytes
    with pytest.warns(datasets.CorruptFileWarning, match="does not match the sha256"):
        paths = datasets.fetch("tiny")
    assert paths["t.npz"] == folders.repo / "t.npz"
    assert (folders.repo / "t.npz").read_bytes() == payload and server.hits["/t"] == 1


def test_a_corrupt_cached_file_is_never_used_offline(folders, tmp_path, monkeypatch):
    payload = b"the genuine file"
    write_registry(tmp_path, monkeypatch, {"tiny": tiny_entry([("t.npz", payload, ["https://example.org/t"])])})
    folders.course.mkdir(parents=True)
    (folders.course / "t.npz").write_bytes(b"truncated")
    with pytest.warns(datasets.CorruptFileWarning), pytest.raises(datasets.DatasetUnavailable, match="damaged copy"):
        datasets.fetch("tiny")


def test_keras_cache_names_are_recognised(folders, tmp_path, monkeypatch):
    payload = b"archive"
    entry = tiny_entry([("cifar-10-python.tar.gz", payload, ["https://example.org/c"])], fmt="cifar-python-tar")
    entry["files"][0]["aliases"] = ["cifar-10-batches-py_archive"]
    write_registry(tmp_path, monkeypatch, {"tiny": entry})
    folders.keras.mkdir(parents=True)
    (folders.keras / "cifar-10-batches-py_archive").write_bytes(payload)
    assert datasets.fetch("tiny")["cifar-10-python.tar.gz"] == folders.keras / "cifar-10-batches-py_archive"


def test_the_offline_message_says_what_where_and_how(folders):
    with pytest.raises(datasets.DatasetUnavailable) as info:
        datasets.fetch("fashion_mnist")
    error = info.value
    message = str(error)
    assert isinstance(error, RuntimeError)
    assert "'fashion_mnist'" in message and "train-images-idx3-ubyte.gz" in message
    assert "no internet connection" in message
    assert "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84" in message
    for folder in (folders.course, folders.repo, folders.keras):
        assert str(folder / "fashion-mnist") in message
    assert "python -m course_utils.datasets stage fashion_mnist" in message
    assert error.dataset == "fashion_mnist" and error.file == "train-images-idx3-ubyte.gz"


def test_fetch_names_the_registered_datasets_when_the_name_is_wrong(folders):
    with pytest.raises(ValueError, match="no dataset called 'mnsit'.*mnist, fashion_mnist, cifar10"):
        datasets.fetch("mnsit")


# ------------------------------------------------------------------------------------------------
# Parsers, on small files built here in the documented formats
# ------------------------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def cifar_batch_bytes(images_chw: np.ndarray, labels: list[int], *, old_numpy_names: bool = False) -> bytes:
    batch = {b"batch_label": b"test", b"labels": labels, b"data": images_chw.reshape(len(labels), -1)}
    data = pickle.dumps(batch, protocol=2)
    if old_numpy_names:  # the module name the original (Python 2, NumPy 1) files refer to
        data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    return data


def cifar_tar_bytes(batches: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in batches.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_read_idx_matches_the_array_written(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    (tmp_path / "i.gz").write_bytes(idx_bytes(images))
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "i.gz"), images)
    labels = np.arange(5, dtype=np.uint8)
    (tmp_path / "l.gz").write_bytes(idx_bytes(labels))
    out = datasets.read_idx(tmp_path / "l.gz")
    assert out.shape == (5,) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, labels)


def test_read_idx_rejects_truncated_and_foreign_files(tmp_path):
    data = gzip.decompress(idx_bytes(np.zeros((3, 4, 4), np.uint8)))
    (tmp_path / "short.gz").write_bytes(gzip.compress(data[:-5]))
    with pytest.raises(ValueError, match=r"shape \(3, 4, 4\)"):
        datasets.read_idx(tmp_path / "short.gz")
    (tmp_path / "text.gz").write_bytes(gzip.compress(b"hello world"))
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "text.gz")


def test_read_npz_splits(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {
        "x_train": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "y_train": np.array([1, 2, 3, 4], np.uint8),
        "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "y_test": np.array([5, 6], np.uint8),
    }
    np.savez(tmp_path / "m.npz", **arrays)
    (x_train, y_train), (x_test, y_test) = datasets.read_npz_splits(tmp_path / "m.npz")
    for key, value in zip(arrays, (x_train, y_train, x_test, y_test), strict=True):
        np.testing.assert_array_equal(value, arrays[key])
    np.savez(tmp_path / "bad.npz", x_train=arrays["x_train"])
    with pytest.raises(ValueError, match="lacks the arrays y_train, x_test, y_test"):
        datasets.read_npz_splits(tmp_path / "bad.npz")


@pytest.mark.parametrize("old_numpy_names", [False, True])
def test_read_cifar_archive_puts_channels_last(tmp_path, old_numpy_names):
    rng = np.random.default_rng(2)
    chw = {name: rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8) for name in ["test_batch"]}
    chw.update({f"data_batch_{i}": rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8) for i in range(1, 6)})
    labels = {name: [int(v) for v in rng.integers(0, 10, 3)] for name in chw}
    files = {name: cifar_batch_bytes(chw[name], labels[name], old_numpy_names=old_numpy_names) for name in chw}
    (tmp_path / "c.tar.gz").write_bytes(cifar_tar_bytes(files))
    (x_train, y_train), (x_test, y_test) = datasets.read_cifar_archive(tmp_path / "c.tar.gz")
    assert x_train.shape == (15, 32, 32, 3) and x_test.shape == (3, 32, 32, 3) and y_train.shape == (15,)
    assert x_train.dtype == y_train.dtype == np.uint8
    # pixel (row r, column c, channel k) of image i is byte k*1024 + r*32 + c of its row in the batch
    row = chw["data_batch_2"].reshape(3, -1)[1]
    for r, c, k in [(0, 0, 0), (5, 17, 1), (31, 31, 2), (31, 0, 1)]:
        assert x_train[4, r, c, k] == row[k * 1024 + r * 32 + c]
    np.testing.assert_array_equal(y_train, sum((labels[f"data_batch_{i}"] for i in range(1, 6)), []))
    np.testing.assert_array_equal(x_test, chw["test_batch"].transpose(0, 2, 3, 1))


def test_read_cifar_archive_refuses_foreign_pickles_and_missing_batches(tmp_path):
    hostile = pickle.dumps(os.system, protocol=2)  # a pickle may name any function; only NumPy's are allowed
    batches = {f"data_batch_{i}": hostile for i in range(1, 6)} | {"test_batch": hostile}
    (tmp_path / "evil.tar.gz").write_bytes(cifar_tar_bytes(batches))
    with pytest.raises(ValueError, match="not a readable CIFAR batch"):
        datasets.read_cifar_archive(tmp_path / "evil.tar.gz")
    one = cifar_batch_bytes(np.zeros((1, 3, 32, 32), np.uint8), [0])
    (tmp_path / "part.tar.gz").write_bytes(cifar_tar_bytes({"data_batch_1": one}))
    with pytest.raises(ValueError, match="data_batch_2, data_batch_3, data_batch_4, data_batch_5, test_batch"):
        datasets.read_cifar_archive(tmp_path / "part.tar.gz")


# ------------------------------------------------------------------------------------------------
# Loaders and the stand-in fallback
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_standins(monkeypatch):
    """A stand-in module with the agreed signatures, so these tests do not depend on its speed."""
    module = types.ModuleType("course_utils.standins")

    def render_digits(n, *, seed=0, image_size=28):
        rng = np.random.default_rng(seed)
        return rng.integers(0, 256, (n, image_size, image_size), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)

    def photo_crops(n, *, size=32, split="train", seed=0):
        value = 10 if split == "train" else 200
        return np.full((n, size, size, 3), value, np.uint8)

    module.render_digits, module.photo_crops = render_digits, photo_crops
    monkeypatch.setitem(sys.modules, "course_utils.standins", module)
    return module


@pytest.fixture
def staged_mnist(folders, tmp_path, monkeypatch):
    """A small file in mnist.npz's format, registered as 'mnist' and staged in COURSE_DATA_DIR."""
    rng = np.random.default_rng(3)
    arrays = {
        "x_train": rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(50) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(20) % 10).astype(np.uint8),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    folders.course.mkdir(parents=True)
    (folders.course / "mnist.npz").write_bytes(buffer.getvalue())
    entry = tiny_entry([("mnist.npz", buffer.getvalue(), ["https://example.org/mnist.npz"])])
    entry["class_names"] = [str(d) for d in range(10)]
    write_registry(tmp_path, monkeypatch, {"mnist": entry})
    return arrays


def test_load_mnist_and_load_digits_read_the_staged_file(staged_mnist, fake_standins, capsys):
    (x_train, y_train), (x_test, _) = datasets.load_mnist()
    np.testing.assert_array_equal(x_train, staged_mnist["x_train"])
    data = datasets.load_digits(10, 5, seed=4)
    assert "Using MNIST: 10 training and 5 test images" in capsys.readouterr().out
    assert data.name == "mnist" and data.x_train.shape == (10, 28, 28) and data.y_test.shape == (5,)
    assert data.class_names == tuple("0123456789")
    # the subset is made of real rows, with their labels, and depends on the seed alone
    rows = [int(np.flatnonzero((x_train == image).all(axis=(1, 2)))[0]) for image in data.x_train]
    np.testing.assert_array_equal(data.y_train, y_train[rows])
    again = datasets.load_digits(10, 5, seed=4, verbose=False)
    other = datasets.load_digits(10, 5, seed=5, verbose=False)
    np.testing.assert_array_equal(again.x_train, data.x_train)
    assert not np.array_equal(other.x_train, data.x_train)
    assert datasets.load_digits(verbose=False).x_train.shape == (50, 28, 28)
    np.testing.assert_array_equal(x_test, datasets.load_digits(verbose=False).x_test)


def test_load_digits_falls_back_to_the_standin_offline_and_says_why(folders, fake_standins, capsys):
    data = datasets.load_digits(30, 12)
    line = capsys.readouterr().out.strip()
    assert "\n" not in line
    assert line.startswith("Using the rendered stand-in digits (30 training and 12 test images)")
    assert "MNIST is not cached and could not be downloaded (no internet connection" in line
    assert "python -m course_utils.datasets stage mnist" in line
    assert data.name == "standin-digits" and data.x_train.shape == (30, 28, 28) and data.x_test.shape == (12, 28, 28)
    expected, labels = fake_standins.render_digits(42, seed=0)
    np.testing.assert_array_equal(np.concatenate([data.x_train, data.x_test]), expected)
    np.testing.assert_array_equal(data.y_test, labels[30:])


def test_load_digits_can_insist_on_mnist(folders, fake_standins):
    with pytest.raises(datasets.DatasetUnavailable, match="stage mnist"):
        datasets.load_digits(10, 10, source="mnist")
    with pytest.raises(ValueError, match="source must be one of 'auto', 'mnist', 'standin'; got 'MNIST'"):
        datasets.load_digits(source="MNIST")
    with pytest.raises(ValueError, match="n_train must be at least 1; got 0"):
        datasets.load_digits(0)


def test_load_natural_images_falls_back_to_photo_crops(folders, fake_standins, capsys):
    data = datasets.load_natural_images(6, 4, size=16)
    line = capsys.readouterr().out
    assert line.startswith("Using the stand-in photo crops (6 training and 4 test images, 16x16)")
    assert "CIFAR-10 is not cached" in line and "stage cifar10" in line
    assert data.x_train.shape == (6, 16, 16, 3) and data.y_train is None and data.class_names is None
    assert data.x_train[0, 0, 0, 0] == 10 and data.x_test[0, 0, 0, 0] == 200  # the right split of each


def test_load_cifar10_and_fashion_mnist_from_staged_files(folders, tmp_path, monkeypatch, fake_standins, capsys):
    rng = np.random.default_rng(5)

    def smooth_images() -> np.ndarray:  # 4x4 blocks of 8x8 pixels: resizing barely changes them
        return np.kron(rng.integers(0, 256, (2, 3, 4, 4)), np.ones((8, 8))).astype(np.uint8)

    chw = {f"data_batch_{i}": smooth_images() for i in range(1, 6)}
    chw["test_batch"] = smooth_images()
    archive = cifar_tar_bytes({name: cifar_batch_bytes(chw[name], [1, 2]) for name in chw})
    fashion = {
        "train-images-idx3-ubyte.gz": idx_bytes(rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)),
        "train-labels-idx1-ubyte.gz": idx_bytes(np.array([0, 1, 2], np.uint8)),
        "t10k-images-idx3-ubyte.gz": idx_bytes(rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)),
        "t10k-labels-idx1-ubyte.gz": idx_bytes(np.array([3, 4], np.uint8)),
    }
    cifar = tiny_entry([("cifar-10-python.tar.gz", archive, ["https://example.org/c"])], fmt="cifar-python-tar")
    cifar["class_names"] = list("abcdefghij")
    registry = {
        "cifar10": cifar,
        "fashion_mnist": tiny_entry(
            [(n, d, ["https://example.org/" + n]) for n, d in fashion.items()], folder="fashion-mnist", fmt="idx-gz"
        ),
    }
    write_registry(tmp_path, monkeypatch, registry)
    (folders.repo / "fashion-mnist").mkdir(parents=True)
    (folders.repo / "cifar-10-python.tar.gz").write_bytes(archive)
    for name, data in fashion.items():
        (folders.repo / "fashion-mnist" / name).write_bytes(data)

    (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist()
    assert x_train.shape == (3, 28, 28) and y_test.tolist() == [3, 4]
    (x_train, y_train), (x_test, y_test) = datasets.load_cifar10()
    assert x_train.shape == (10, 32, 32, 3) and y_train.shape == (10,)
    data = datasets.load_natural_images(4, 2, size=64, seed=1)
    assert "Using CIFAR-10: 4 training and 2 test images, resized from 32x32 to 64x64." in capsys.readouterr().out
    assert data.x_train.shape == (4, 64, 64, 3) and data.x_train.dtype == np.uint8
    assert data.class_names == tuple("abcdefghij") and data.y_test.shape == (2,)
    # averaging 2x2 blocks of an image enlarged twice gives back (nearly) the image it came from
    shrunk = data.x_train.astype(float).reshape(4, 32, 2, 32, 2, 3).mean(axis=(2, 4))
    errors = np.abs(shrunk[:, None] - x_train[None].astype(float)).mean(axis=(2, 3, 4))  # (resized, original)
    assert (errors.min(axis=1) < 0.1 * np.median(errors, axis=1)).all(), errors


# ------------------------------------------------------------------------------------------------
# The instructor command, run as `python -m course_utils.datasets`
# ------------------------------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "course_utils.datasets", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
        timeout=60,
    )


def test_cli_list_verify_and_stage(tmp_path, monkeypatch):
    good, other = b"good bytes", b"other bytes"
    source = tmp_path / "server" / "other.npz"
    source.parent.mkdir()
    source.write_bytes(other)
    registry = write_registry(
        tmp_path,
        monkeypatch,
        {
            "alpha": tiny_entry([("a.npz", good, ["https://example.org/a.npz"])]),
            "beta": tiny_entry([("b.npz", other, [source.as_uri()])]),
            "gamma": tiny_entry([("c.npz", b"never staged", ["https://example.org/c.npz"])]),
        },
    )
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "a.npz").write_bytes(good)
    env = {
        "COURSE_DATA_REGISTRY": str(registry),
        "COURSE_DATA_DIR": str(data_dir),
        "KERAS_HOME": str(tmp_path / "keras"),
        "COURSE_OFFLINE": "1",
    }

    listing = run_cli("list", env=env)
    assert listing.returncode == 0, listing.stderr
    assert "alpha: A tiny test set" in listing.stdout and "licence: CC0" in listing.stdout
    assert f"status: staged and verified ({data_dir})" in listing.stdout
    assert "status: not staged (0 of 1 files present)" in listing.stdout

    assert run_cli("verify", "alpha", env=env).returncode == 0

    staged = run_cli("stage", "beta", env=env)  # a file:// address works offline
    assert staged.returncode == 0, staged.stderr
    assert (data_dir / "b.npz").read_bytes() == other

    offline = run_cli("stage", "gamma", env=env)
    assert offline.returncode == 1
    assert "no internet connection" in offline.stderr and "stage gamma" in offline.stderr

    missing = run_cli("verify", "--all", env=env)
    assert missing.returncode == 1 and "MISSING  gamma: c.npz" in missing.stdout

    (data_dir / "a.npz").write_bytes(b"bad bytes!")
    damaged = run_cli("verify", "alpha", "beta", env=env)
    assert damaged.returncode == 1
    assert f"DAMAGED  alpha: {data_dir / 'a.npz'}" in damaged.stdout and "OK       beta" in damaged.stdout

    wrong = run_cli("verify", "delta", env=env)
    assert wrong.returncode == 2 and "unknown dataset(s) delta" in wrong.stderr


# ------------------------------------------------------------------------------------------------
# A shared lab folder: permissions, leftovers of killed downloads, servers that never answer
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def silent_server():
    """A TCP server on 127.0.0.1 that accepts connections and never sends a byte (a stalled mirror)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield types.SimpleNamespace(base=f"http://127.0.0.1:{listener.getsockname()[1]}", accepted=accepted)
    stop.set()
    thread.join(timeout=1)
    for connection in accepted:
        connection.close()
    listener.close()


def test_downloads_get_the_permissions_of_a_normal_file(folders, online, server, tmp_path):
    server.routes["/f.bin"] = {"payload": b"shared"}
    old = os.umask(0o022)
    try:
        target = datasets.download(server.base + "/f.bin", tmp_path / "lab" / "f.bin", sha256=sha(b"shared"))
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644  # others in the lab can read it (mkstemp alone gives 0o600)


def test_parts_left_by_a_killed_download_are_cleaned_up_but_live_ones_kept(folders, online, server, tmp_path):
    server.routes["/f.bin"] = {"payload": b"abc"}
    folder = tmp_path / "lab"
    folder.mkdir()
    stale, live = folder / ".f.bin.old1234.part", folder / ".f.bin.live5678.part"
    stale.write_bytes(b"half")
    live.write_bytes(b"growing")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    datasets.download(server.base + "/f.bin", folder / "f.bin", sha256=sha(b"abc"))
    assert leftovers(folder) == [".f.bin.live5678.part", "f.bin"]


def test_a_server_that_never_answers_is_given_up_at_once(folders, online, silent_server, tmp_path, capsys):
    start = time.monotonic()
    with pytest.raises(datasets.DownloadError, match="did not answer within 0.3 s") as info:
        datasets.download(
            silent_server.base + "/f.bin", tmp_path / "f.bin", sha256=sha(b"abc"), timeout=0.3, backoff=5, verbose=True
        )
    assert time.monotonic() - start < 2  # no retries, no back-off
    assert len(info.value.attempts) == 1 and not info.value.offline
    assert "waiting at most 0.3 s for an answer" in capsys.readouterr().out
    assert leftovers(tmp_path) == []


def test_load_digits_falls_back_within_seconds_when_the_mirror_stalls(
    folders, online, silent_server, fake_standins, tmp_path, monkeypatch, capsys
):
    entry = tiny_entry([("mnist.npz", b"never sent", [silent_server.base + "/mnist.npz"])])
    write_registry(tmp_path, monkeypatch, {"mnist": entry})
    monkeypatch.setattr(datasets, "FALLBACK_TIMEOUT", 0.3)
    start = time.monotonic()
    data = datasets.load_digits(20, 5)
    assert time.monotonic() - start < 3
    out = capsys.readouterr().out
    assert "Downloading mnist.npz from 127.0.0.1 (waiting at most 0.3 s for an answer)" in out
    assert "did not answer within 0.3 s" in out and data.name == "standin-digits"


def test_read_npz_splits_names_a_file_that_is_not_an_archive_without_pickle_advice(tmp_path):
    (tmp_path / "page.npz").write_bytes(b"<html>Sign in to continue</html>")
    with pytest.raises(ValueError, match="is not a NumPy .npz archive") as info:
        datasets.read_npz_splits(tmp_path / "page.npz")
    assert "allow_pickle" not in str(info.value)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        datasets.read_npz_splits(tmp_path / "one.npy")
