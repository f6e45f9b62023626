"""Reading a checkpoint's arrays without torch: the same contents as torch.load, and None for anything else."""

import collections
import io
import os
import pickle
import pickletools
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from conftest import REPO

from mnistvec.io.checkpoint import FORMAT, FORMAT_VERSION, CheckpointError, load_checkpoint, save_checkpoint
from mnistvec.io.checkpoint_arrays import read_checkpoint_arrays

SHIPPED = sorted((REPO / "mnistvec" / "weights").glob("*.pt"))


def assert_same(arrays, loaded, where="checkpoint"):
    """`arrays` (what read_checkpoint_arrays gave) holds what `loaded` (torch.load) does, tensors as arrays."""
    if isinstance(loaded, torch.Tensor):
        assert isinstance(arrays, np.ndarray), where
        expected = loaded.numpy()
        assert arrays.dtype == expected.dtype and arrays.shape == expected.shape, where
        assert np.array_equal(arrays, expected), where
        assert arrays.flags.c_contiguous and arrays.base is None, where
    elif isinstance(loaded, dict):
        assert type(arrays) is type(loaded) and list(arrays) == list(loaded), where
        for key in loaded:
            assert_same(arrays[key], loaded[key], f"{where}[{key!r}]")
    elif isinstance(loaded, (list, tuple)):
        assert type(arrays) is type(loaded) and len(arrays) == len(loaded), where
        for i, (a, b) in enumerate(zip(arrays, loaded)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert type(arrays) is type(loaded) and arrays == loaded, where


def test_shipped_checkpoints_read_as_torch_loads_them():
    assert any(p.name == "ae.pt" for p in SHIPPED)
    for path in SHIPPED:
        arrays = read_checkpoint_arrays(path)
        assert arrays is not None, path.name
        assert_same(arrays, torch.load(path, weights_only=True), path.name)


def saved_payload() -> dict:
    base = torch.arange(20, dtype=torch.float32).reshape(4, 5) / 7
    corner = base[1:, 2:]  # a view into base's storage, at an offset
    assert corner.storage_offset() == 7 and not corner.is_contiguous()
    return {
        "method": "ae",
        "config": {"method": "ae", "lines": 4, "lr": 0.001},
        "model": {
            "base": base,
            "transposed": base.t(),
            "corner": corner,
            "half": torch.tensor([0.5, -2.0, 65504.0], dtype=torch.float16),
            "double": torch.tensor([[1e-300, 3.25]], dtype=torch.float64),
            "long": torch.tensor([-(2**62), 0, 7], dtype=torch.int64),
            "int": torch.tensor([-5, 6], dtype=torch.int32),
            "byte": torch.tensor([0, 255], dtype=torch.uint8),
            "char": torch.tensor([-128, 127], dtype=torch.int8),
            "flags": torch.tensor([True, False, True]),
            "empty": torch.zeros(0, 3),
            "scalar": torch.tensor(2.5),
            "strided": torch.arange(12, dtype=torch.int16)[::3],
        },
        "metrics": [{"epoch": 1, "loss": 0.25}],
        "epoch": 3,
        "omitted": ["critic."],
    }


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, saved_payload())
    return path


def test_saved_tensors_of_every_kind_read_back_equal(saved):
    arrays = read_checkpoint_arrays(saved)
    assert arrays is not None
    loaded = torch.load(saved, weights_only=True)
    assert_same(arrays, loaded)
    assert arrays["format"] == FORMAT and arrays["epoch"] == 3
    model = arrays["model"]
    assert np.array_equal(model["transposed"], model["base"].T) and np.array_equal(
        model["corner"], model["base"][1:, 2:]
    )
    assert model["half"].dtype == np.float16 and model["flags"].dtype == np.bool_ and model["empty"].shape == (0, 3)
    with zipfile.ZipFile(saved) as archive:  # base, its transpose and its corner share one storage
        assert sum("/data/" in name for name in archive.namelist()) == len(model) - 2


def test_reading_does_not_import_torch():
    code = (
        "import sys\n"
        "from mnistvec.io.checkpoint_arrays import read_checkpoint_arrays\n"
        f"arrays = read_checkpoint_arrays({str(REPO / 'mnistvec' / 'weights' / 'ae.pt')!r})\n"
        "assert arrays is not None and arrays['model'], 'not read'\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr


def rewrite(src, dst, change=lambda name, data: data, compression=zipfile.ZIP_STORED):
    """Copy the archive `src` to `dst`, each member's bytes through `change` (None leaves it out)."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", compression=compression) as new:
        for name in old.namelist():
            data = change(name, old.read(name))
            if data is not None:
                new.writestr(name, data)
    return dst


class StorageRef:
    """A storage as torch.save's pickle refers to it."""

    def __init__(self, key: str, kind: str, numel: int):
        self.key, self.kind, self.numel = key, kind, numel


class View:
    """A tensor as torch.save's pickle rebuilds it, with any offset, size and stride."""

    def __init__(self, storage: StorageRef, offset: int, size: tuple, stride: tuple):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


class TorchLikePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            return ("storage", getattr(torch, obj.kind), obj.key, "cpu", obj.numel)
        return None


def handmade(path, payload, storages: dict[str, bytes], byteorder=b"little"):
    """A zip laid out as torch.save lays it out, holding a pickle of `payload` and the storages' bytes."""
    buffer = io.BytesIO()
    TorchLikePickler(buffer, protocol=2, fix_imports=False).dump(payload)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        if byteorder is not None:
            archive.writestr("archive/byteorder", byteorder)
        for key, data in storages.items():
            archive.writestr(f"archive/data/{key}", data)
    return path


def header(**fields) -> dict:
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "method": "ae", **fields}


FOUR = np.arange(4, dtype="<f4").tobytes()


@pytest.mark.parametrize(
    ("offset", "size", "stride", "fits"),
    [
        (0, (2, 2), (2, 1), True),
        (3, (1,), (1,), True),
        (0, (2, 2), (1, 2), True),
        (9, (0, 3), (3, 1), True),  # empty: reaches nothing
        (0, (5,), (1,), False),
        (2, (3,), (1,), False),
        (0, (2, 2), (3, 1), False),
        (4, (), (), False),
        (-1, (2,), (1,), False),
        (0, (2,), (-1,), False),
    ],
)
def test_a_view_must_stay_inside_its_storage(tmp_path, offset, size, stride, fits):
    payload = header(model={"w": View(StorageRef("0", "FloatStorage", 4), offset, size, stride)})
    arrays = read_checkpoint_arrays(handmade(tmp_path / "view.pt", payload, {"0": FOUR}))
    if fits:
        expected = np.lib.stride_tricks.as_strided(
            np.arange(4, dtype=np.float32)[offset:], size, [4 * s for s in stride]
        )
        assert arrays is not None and np.array_equal(arrays["model"]["w"], expected)
        assert arrays["model"]["w"].shape == size
    else:
        assert arrays is None


def test_a_storage_must_hold_the_bytes_it_claims(tmp_path):
    payload = header(model={"w": View(StorageRef("0", "FloatStorage", 4), 0, (4,), (1,))})
    assert read_checkpoint_arrays(handmade(tmp_path / "whole.pt", payload, {"0": FOUR})) is not None
    assert read_checkpoint_arrays(handmade(tmp_path / "short.pt", payload, {"0": FOUR[:-1]})) is None
    assert read_checkpoint_arrays(handmade(tmp_path / "missing.pt", payload, {})) is None


class Runs:
    """An object whose pickle calls `func(arg)` when it is loaded."""

    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval"])
def test_a_pickle_that_names_code_is_refused_and_nothing_runs(tmp_path, kind):
    marker = tmp_path / "ran"
    runs = Runs(os.system, f"touch {marker}") if kind == "os.system" else Runs(eval, f"open({str(marker)!r}, 'w')")
    path = handmade(tmp_path / "code.pt", header(model={}, note=runs), {})
    with zipfile.ZipFile(path) as archive:
        data = archive.read("archive/data.pkl")
    named = {arg for op, arg, _ in pickletools.genops(data) if op.name == "GLOBAL"}
    assert named == {"posix system" if kind == "os.system" else "builtins eval"}
    assert read_checkpoint_arrays(path) is None
    assert not marker.exists()
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()


def test_an_archive_torch_save_did_not_write_is_refused(tmp_path, saved):
    assert read_checkpoint_arrays(rewrite(saved, tmp_path / "packed.pt", compression=zipfile.ZIP_DEFLATED)) is None
    (tmp_path / "text.pt").write_bytes(b"not a checkpoint at all")
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "pickle.pt").write_bytes(pickle.dumps(header(model={})))
    for name in ("text.pt", "empty.pt", "pickle.pt", "absent.pt"):
        assert read_checkpoint_arrays(tmp_path / name) is None, name
    assert read_checkpoint_arrays(tmp_path) is None
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    assert read_checkpoint_arrays(truncated) is None


def test_byte_order_must_be_little_endian(tmp_path, saved):
    def big(name, data):
        return b"big" if name.endswith("/byteorder") else data

    assert read_checkpoint_arrays(rewrite(saved, tmp_path / "big.pt", big)) is None
    unmarked = rewrite(
        saved, tmp_path / "unmarked.pt", lambda name, data: None if name.endswith("/byteorder") else data
    )
    assert read_checkpoint_arrays(unmarked) is not None


def test_headers_and_settings_are_checked_as_load_checkpoint_checks_them(tmp_path, saved):
    torch.save({"model": {"w": torch.ones(2)}}, tmp_path / "bare.pt")
    save_checkpoint(tmp_path / "lines.pt", {"method": "ae", "config": {"lines": -1}, "model": {}})
    save_checkpoint(tmp_path / "weights.pt", {"method": "ae", "model": {"w": [1.0, 2.0]}})
    save_checkpoint(tmp_path / "epoch.pt", {"method": "ae", "model": {}, "epoch": -1})
    torch.save(header(format_version=FORMAT_VERSION + 1, model={}), tmp_path / "newer.pt")
    torch.save(header(format=torch.ones(2), model={}), tmp_path / "tensor_format.pt")
    for name in ("bare.pt", "lines.pt", "weights.pt", "epoch.pt", "newer.pt", "tensor_format.pt"):
        assert read_checkpoint_arrays(tmp_path / name) is None, name
        with pytest.raises(CheckpointError):
            load_checkpoint(tmp_path / name)
    assert read_checkpoint_arrays(saved) is not None


def test_a_dtype_numpy_cannot_hold_is_refused(tmp_path):
    save_checkpoint(tmp_path / "bf16.pt", {"method": "ae", "model": {"w": torch.ones(3, dtype=torch.bfloat16)}})
    assert read_checkpoint_arrays(tmp_path / "bf16.pt") is None
    assert load_checkpoint(tmp_path / "bf16.pt")["model"]["w"].dtype == torch.bfloat16


def test_tensors_may_not_hold_far_more_than_the_file(tmp_path):
    expanded = View(StorageRef("0", "FloatStorage", 1), 0, (10**5,), (0,))  # one element seen 10**5 times: 400 kB
    assert read_checkpoint_arrays(handmade(tmp_path / "bomb.pt", header(model={"w": expanded}), {"0": FOUR})) is None
    repeated = View(StorageRef("0", "FloatStorage", 1), 0, (3,), (0,))
    arrays = read_checkpoint_arrays(handmade(tmp_path / "small.pt", header(model={"w": repeated}), {"0": FOUR}))
    assert arrays is not None and arrays["model"]["w"].tolist() == [0.0, 0.0, 0.0]


def test_a_pickle_may_not_change_what_it_names(tmp_path):
    """BUILD on a storage type or the tensor rebuilder (which would set their state) is refused."""
    for target in (b"ctorch\nFloatStorage\n", b"ctorch._utils\n_rebuild_tensor_v2\n", b"ccollections\nOrderedDict\n"):
        data = b"\x80\x02}q\x00(X\x06\x00\x00\x00formatX" + len(FORMAT).to_bytes(4, "little") + FORMAT.encode()
        data += b"X\x01\x00\x00\x00x" + target + b"}X\x01\x00\x00\x00aK\x01sbu."
        pickletools.dis(data, out=io.StringIO())  # a well-formed pickle
        (tmp_path / "build.pt").unlink(missing_ok=True)
        with zipfile.ZipFile(tmp_path / "build.pt", "w") as archive:
            archive.writestr("archive/data.pkl", data)
        assert read_checkpoint_arrays(tmp_path / "build.pt") is None, target
