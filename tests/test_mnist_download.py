"""The named MNIST dataset: download from mirrors with md5 checks, failover and atomic writes.

Every test serves files from a local HTTP server on 127.0.0.1 and points
``$MNISTVEC_DATA`` and the default mirrors at local places, so nothing reaches
the internet.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from mnistvec.data import DataError, file_md5, load_images, write_idx
from mnistvec.data import mnist as mnist_module

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


class LocalHandler(SimpleHTTPRequestHandler):
    """Serves the server's folder; ``/short/…`` promises more bytes than it sends; ``/stall/…`` never answers."""

    release: threading.Event

    def do_GET(self):
        if self.path.startswith("/short/"):
            self.send_response(200)
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + bytes(98))
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path.startswith("/stall/"):
            self.release.wait(30)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(folder served, base URL) of an HTTP server on 127.0.0.1."""
    root = tmp_path / "www"
    root.mkdir()
    release = threading.Event()
    handler = type("Handler", (LocalHandler,), {"release": release})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """A private data folder, default mirrors that refuse connections, and no proxy for local addresses."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MNISTVEC_DATA", str(cache))
    monkeypatch.setattr(mnist_module, "MIRRORS", (closed_port_url(),))
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return cache


@pytest.fixture
def synthetic_train(tmp_path, monkeypatch):
    """Small stand-ins for the 60,000-image training files, with the md5 table patched to match them."""
    made = tmp_path / "made"
    made.mkdir()
    rng = np.random.default_rng(0)
    images = np.zeros((6, 28, 28), np.uint8)
    for k in range(6):
        images[k, 6 + k : 20, 8 : 18 + k] = rng.integers(128, 256, (14 - k, 10 + k))
    labels = np.arange(6, dtype=np.uint8)
    write_idx(made / TRAIN_FILES[0], images)
    write_idx(made / TRAIN_FILES[1], labels)
    for name in TRAIN_FILES:
        monkeypatch.setitem(mnist_module.MD5, name, file_md5(made / name))
    return made, images, labels


def publish(source: Path, root: Path, folder: str, names=TRAIN_FILES) -> str:
    (root / folder).mkdir(exist_ok=True)
    for name in names:
        shutil.copy(source / name, root / folder / name)
    return folder


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"the shared MNIST folder {SHARED_MNIST} is missing")
def test_t10k_download_from_a_mirror_is_verified_and_then_served_from_the_cache(server, offline, capsys):
    root, url = server
    publish(SHARED_MNIST, root, "mnist", TEST_FILES)

    loaded = load_images("mnist:test", mirror=f"{url}/mnist/")
    assert loaded.images.shape == (10_000, 28, 28) and len(loaded.labels) == 10_000
    assert loaded.names[42] == "mnist-test-00042" and set(np.unique(loaded.labels)) == set(range(10))
    assert leftovers(offline) == sorted(TEST_FILES)
    for name in TEST_FILES:
        assert file_md5(offline / name) == mnist_module.MD5[name]
    assert "warning" not in capsys.readouterr().err

    (root / "mnist" / TEST_FILES[0]).unlink()  # a second load must not need the mirror
    again = load_images("mnist:test", mirror=f"{url}/mnist/")
    assert np.array_equal(again.images, loaded.images)


def test_failover_to_the_next_mirror_warns_once_per_failed_mirror(server, offline, synthetic_train, capsys):
    root, url = server
    made, images, labels = synthetic_train
    publish(made, root, "good")
    (root / "corrupt").mkdir()
    for name in TRAIN_FILES:
        (root / "corrupt" / name).write_bytes(gzip.compress(b"not the right bytes"))
    refused = closed_port_url()
    mirrors = [refused, f"{url}/missing/", f"{url}/corrupt/", f"{url}/short/", f"{url}/good/"]

    loaded = load_images("mnist", mirror=mirrors)
    np.testing.assert_allclose(loaded.images, images / 255.0, atol=1e-6)
    assert loaded.labels.tolist() == labels.tolist()
    assert loaded.names[0] == "mnist-train-00000"
    assert leftovers(offline) == sorted(TRAIN_FILES), "no temporary files are left behind"

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4 * len(TRAIN_FILES), lines
    for name in TRAIN_FILES:
        mine = [line for line in lines if f"failed for {name}:" in line]
        assert len(mine) == 4 and all(line.startswith("warning: mirror ") for line in mine)
        assert refused in mine[0] and "refused" in mine[0].lower()
        assert f"{url}/missing/" in mine[1] and "HTTP 404" in mine[1]
        assert f"{url}/corrupt/" in mine[2] and "md5 mismatch" in mine[2]
        assert f"{url}/short/" in mine[3] and ("closed" in mine[3] or "IncompleteRead" in mine[3])


def test_default_mirror_list_is_tried_in_order(server, offline, synthetic_train, monkeypatch, capsys):
    root, url = server
    made, images, _ = synthetic_train
    publish(made, root, "second")
    monkeypatch.setattr(mnist_module, "MIRRORS", (f"{url}/first/", f"{url}/second/"))
    loaded = load_images("mnist:train")
    assert len(loaded) == len(images)
    err = capsys.readouterr().err
    assert err.count("warning: ") == 2 and err.count(f"{url}/first/") == 2 and f"{url}/second/" not in err


def test_all_mirrors_failing_is_one_error_listing_each(server, offline, synthetic_train):
    root, url = server
    (root / "corrupt").mkdir()
    (root / "corrupt" / TRAIN_FILES[0]).write_bytes(b"garbage")
    mirrors = [f"{url}/missing/", f"{url}/corrupt/"]
    with pytest.raises(DataError) as raised:
        load_images("mnist:train", mirror=mirrors, on_failure=None)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"cannot download {TRAIN_FILES[0]}: every mirror failed")
    assert f"{url}/missing/{TRAIN_FILES[0]}: HTTP 404" in message
    assert f"{url}/corrupt/{TRAIN_FILES[0]}: md5 mismatch: got {hashlib.md5(b'garbage').hexdigest()}" in message
    assert leftovers(offline) == [], "neither the file nor a temporary file is left behind"


def test_a_stalled_mirror_times_out_and_the_next_one_is_used(server, offline, synthetic_train, capsys):
    root, url = server
    made, images, _ = synthetic_train
    publish(made, root, "good")
    paths = mnist_module.mnist_files("train", mirror=[f"{url}/stall/", f"{url}/good/"], timeout=0.2)
    assert [p.name for p in paths] == list(TRAIN_FILES)
    err = capsys.readouterr().err
    assert err.count("timed out after 0.2 s") == 2
    assert leftovers(offline) == sorted(TRAIN_FILES)


def test_a_corrupt_cached_file_is_downloaded_again(server, offline, synthetic_train, capsys):
    root, url = server
    made, images, _ = synthetic_train
    publish(made, root, "good")
    offline.mkdir()
    (offline / TRAIN_FILES[0]).write_bytes(b"damaged")
    shutil.copy(made / TRAIN_FILES[1], offline / TRAIN_FILES[1])

    loaded = load_images("mnist", mirror=f"{url}/good/")
    assert len(loaded) == len(images)
    assert file_md5(offline / TRAIN_FILES[0]) == mnist_module.MD5[TRAIN_FILES[0]]
    err = capsys.readouterr().err
    assert err.count("warning: ") == 1 and f"{TRAIN_FILES[0]}: md5 mismatch" in err


def test_data_folder_comes_from_the_environment(offline, monkeypatch):
    assert mnist_module.mnist_dir() == offline
    monkeypatch.delenv("MNISTVEC_DATA")
    assert mnist_module.mnist_dir() == Path.home() / ".cache" / "mnistvec" / "mnist"
