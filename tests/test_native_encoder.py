"""The autoencoder's encoder in the native library: the torch model's numbers, without torch."""

import ctypes
import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import REPO, synthetic_digits
from fuzz_native import SPECIAL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from native_guards import SENTINEL_BITS, Guarded, check_output_guards

from mnistvec.cli import cli
from mnistvec.config import TrainConfig
from mnistvec.encoding.encoders import load_batch_encoder
from mnistvec.io.checkpoint import save_checkpoint
from mnistvec.io.vectors import Vectors
from mnistvec.models import native_encoder
from mnistvec.models.bundled import resolve_model
from mnistvec.models.native_encoder import NativeEncoder, encoder_shapes, load_native_encoder
from mnistvec.models.registry import build_model, load_model
from mnistvec.raster import native_available

pytestmark = pytest.mark.skipif(not native_available(), reason="the native library mnistvec._native is not built")


def ae_checkpoint(path, seed=0, **settings):
    """A freshly initialised autoencoder saved as a finished run (`settings` over TrainConfig's)."""
    config = dataclasses.asdict(TrainConfig(method="ae", **settings))
    torch.manual_seed(seed)
    model = build_model(config)
    for p in model.parameters():  # group norms start at 1 and 0: make every weight count
        p.data.add_(0.1 * torch.randn_like(p))
    save_checkpoint(path, {"method": "ae", "config": config, "model": model.state_dict(), "complete": True})
    return path


def torch_raw(path, images):
    model, _ = load_model(path)
    with torch.no_grad():
        return model.raw_strokes(torch.from_numpy(images)).numpy()


def test_the_shipped_autoencoder_gives_the_torch_models_numbers():
    images = synthetic_digits(20, seed=3)
    encoder, config = load_native_encoder(resolve_model("ae"))
    assert config["method"] == "ae"
    native = encoder.raw_strokes(images)
    assert native.shape == (20, 16, 6) and native.dtype == np.float32
    np.testing.assert_allclose(native, torch_raw(resolve_model("ae"), images), atol=1e-4, rtol=1e-4)
    lines, widths, opacity = encoder.strokes(images)
    model, _ = load_model("ae")
    with torch.no_grad():
        want = [t.numpy() for t in model.strokes(torch.from_numpy(images))]
    for got, expected in zip((lines, widths, opacity), want):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize(
    "settings", [dict(lines=3, hidden=20, channels=8, coords=True), dict(lines=5, hidden=40, channels=24)]
)
def test_other_sizes_and_coordinate_planes_give_the_torch_models_numbers(tmp_path, settings):
    path = ae_checkpoint(tmp_path / "ae.pt", **settings)
    images = np.random.default_rng(1).random((9, 28, 28), dtype=np.float32)
    encoder, _ = load_native_encoder(path)
    np.testing.assert_allclose(encoder.raw_strokes(images), torch_raw(path, images), atol=1e-4, rtol=1e-4)


def test_an_image_does_not_depend_on_its_batch_or_the_threads():
    images = synthetic_digits(150, seed=5)
    encoder, _ = load_native_encoder(resolve_model("ae"))
    all_of_them = encoder.raw_strokes(images, threads=2)
    assert np.array_equal(all_of_them, encoder.raw_strokes(images, threads=1))
    assert np.array_equal(all_of_them[137:140], encoder.raw_strokes(images[137:140]))
    assert encoder.raw_strokes(images[:0]).shape == (0, 16, 6)


def test_wrong_images_and_threads_are_refused():
    encoder, _ = load_native_encoder(resolve_model("ae"))
    with pytest.raises(ValueError, match=r"\[B, 28, 28\]"):
        encoder.raw_strokes(np.zeros((2, 14, 14), np.float32))
    with pytest.raises(ValueError, match="threads"):
        encoder.raw_strokes(np.zeros((1, 28, 28), np.float32), threads=-1)


def test_weights_of_other_shapes_are_refused():
    shapes = encoder_shapes(1, 8, 10, 12)
    weights = {k: np.zeros(s, np.float32) for k, s in shapes.items()}
    NativeEncoder(weights, 2, 8, 10, False)  # fits
    with pytest.raises(ValueError, match="shapes"):
        NativeEncoder({**weights, "encoder.head.bias": np.zeros(13, np.float32)}, 2, 8, 10, False)
    with pytest.raises(ValueError, match="names"):
        NativeEncoder({**weights, "encoder.extra": np.zeros(1, np.float32)}, 2, 8, 10, False)


def test_models_it_cannot_run_are_left_to_torch(tmp_path, tiny_vae, monkeypatch):
    assert load_native_encoder(resolve_model("vae")) is None
    assert load_native_encoder(tiny_vae) is None
    refined = ae_checkpoint(tmp_path / "refined.pt", lines=2, hidden=8, channels=8, refiner_steps=1)
    assert load_native_encoder(refined) is None
    assert load_native_encoder(tmp_path / "missing.pt") is None
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert load_native_encoder(tmp_path / "junk.pt") is None
    monkeypatch.setattr(native_encoder, "load_library", lambda: None)
    assert load_native_encoder(resolve_model("ae")) is None


def test_encode_picks_the_native_encoder_only_where_it_runs_the_same_work(tmp_path):
    assert not load_batch_encoder("ae", "cpu", None).uses_torch
    assert not load_batch_encoder("ae", "auto", 0).uses_torch or torch.cuda.is_available()
    refined = load_batch_encoder("ae", "cpu", 2)
    assert refined.uses_torch and refined.refine_steps == 2
    assert load_batch_encoder("vae", "cpu", None).uses_torch


def test_the_native_and_torch_encodes_write_the_same_drawings(tmp_path, monkeypatch):
    digits = REPO / "examples" / "digits" / "mnist"
    runs = {}
    for name in ("native", "torch"):
        if name == "torch":  # as without the library: the torch model encodes
            monkeypatch.setattr(native_encoder, "load_library", lambda: None)
        result = CliRunner().invoke(cli, ["encode", str(digits), str(tmp_path / name), "--device", "cpu"])
        assert result.exit_code == 0, result.output
        runs[name] = Vectors.load(tmp_path / name / "vectors.npz")
    assert runs["native"].names == runs["torch"].names
    np.testing.assert_allclose(runs["native"].lines, runs["torch"].lines, atol=1e-5)
    np.testing.assert_allclose(runs["native"].opacity, runs["torch"].opacity, atol=1e-5)


def test_the_default_encode_does_not_start_torch(tmp_path):
    script = (
        "import sys\n"
        "from mnistvec.cli import cli\n"
        "try:\n"
        f"    cli.main(['encode', {str(REPO / 'examples' / 'digits' / 'mnist')!r}, {str(tmp_path / 'out')!r}])\n"
        "except SystemExit as stop:\n"
        "    assert stop.code in (0, None), stop.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    environment = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stderr
    assert len(Vectors.load(tmp_path / "out" / "vectors.npz").names) == 30


def test_the_c_abi_refuses_sizes_it_does_not_run_and_null_pointers():
    from mnistvec.native import load_library

    library = load_library()
    torch_len, packed_len = ctypes.c_uint64(), ctypes.c_uint64()
    sizes = (ctypes.byref(torch_len), ctypes.byref(packed_len))
    assert library.mnistvec_encoder_sizes(1, 16, 512, 96, *sizes) == 0
    assert torch_len.value == sum(int(np.prod(s)) for s in encoder_shapes(1, 16, 512, 96).values())
    for dims in [(2, 16, 512, 96), (1, 12, 512, 96), (1, 0, 512, 96), (1, 16, 0, 96), (1, 16, 512, 0)]:
        assert library.mnistvec_encoder_sizes(*dims, *sizes) == -7
    assert library.mnistvec_encoder_sizes(1, 16, 512, 96, None, sizes[1]) == -1
    floats = ctypes.POINTER(ctypes.c_float)
    weights = np.zeros(torch_len.value, np.float32)
    packed = np.zeros(packed_len.value, np.float32)
    pack = library.mnistvec_encoder_pack
    assert (
        pack(
            weights.ctypes.data_as(floats), weights.size - 1, 1, 16, 512, 96, packed.ctypes.data_as(floats), packed.size
        )
        == -7
    )
    assert pack(None, weights.size, 1, 16, 512, 96, packed.ctypes.data_as(floats), packed.size) == -1
    assert (
        pack(weights.ctypes.data_as(floats), weights.size, 1, 16, 512, 96, packed.ctypes.data_as(floats), packed.size)
        == 0
    )
    images, out = np.zeros((2, 28, 28), np.float32), np.full((2, 96), np.nan, np.float32)
    run = library.mnistvec_encode
    args = [packed.ctypes.data_as(floats), packed.size, 1, 16, 512, 96, images.ctypes.data_as(floats), 2, 1]
    assert run(*args[:1], packed.size + 1, *args[2:], out.ctypes.data_as(floats)) == -7
    assert run(*args[:6], None, 2, 1, out.ctypes.data_as(floats)) == -1
    assert run(*args[:7], 2**62, 1, out.ctypes.data_as(floats)) == -2
    assert run(*args, out.ctypes.data_as(floats)) == 0 and np.array_equal(out, np.zeros((2, 96)))  # zero weights


hostile_floats = st.one_of(st.floats(-2.0, 2.0, width=32), st.sampled_from(SPECIAL.tolist()), st.floats(width=32))


@st.composite
def hostile_networks(draw):
    """(sizes, weights in torch's layout, images): small networks, hostile weights and pixels mixed in."""
    dims = (
        draw(st.sampled_from([1, 3])),
        8 * draw(st.integers(1, 2)),
        draw(st.integers(1, 40)),
        draw(st.integers(1, 40)),
    )
    count = sum(int(np.prod(s)) for s in encoder_shapes(*dims).values())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = (0.2 * rng.standard_normal(count)).astype(np.float32)
    images = rng.random((draw(st.integers(0, 13)), 28, 28), dtype=np.float32)
    for array in (weights, images):
        spots = draw(st.lists(st.tuples(st.integers(0, max(array.size - 1, 0)), hostile_floats), max_size=6))
        for index, value in spots if array.size else ():
            array.flat[index] = value
    return dims, weights, images


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_networks(), st.integers(0, 4))
def test_hostile_weights_and_pixels_stay_inside_their_arrays(case, threads):
    from mnistvec.native import load_library

    library = load_library()
    dims, weights, images = case
    torch_len, packed_len = ctypes.c_uint64(), ctypes.c_uint64()
    assert library.mnistvec_encoder_sizes(*dims, ctypes.byref(torch_len), ctypes.byref(packed_len)) == 0
    assert torch_len.value == weights.size
    source = Guarded.around(weights, np.nan)
    packed = Guarded.output((packed_len.value,))
    packed_before, source_before = packed.bits().copy(), source.bits().copy()
    assert library.mnistvec_encoder_pack(source.pointer(), weights.size, *dims, packed.pointer(), packed_len.value) == 0
    check_output_guards(packed, packed_before)
    assert np.array_equal(source.bits(), source_before), "the weights were written"
    results = []
    for run_threads in (threads, 1):
        pixels = Guarded.around(images, np.nan)
        weights_in = Guarded.around(packed.view, np.nan)
        out = Guarded.output((len(images), dims[3]))
        before = [g.bits().copy() for g in (pixels, weights_in)], out.bits().copy()
        code = library.mnistvec_encode(
            weights_in.pointer(), packed_len.value, *dims, pixels.pointer(), len(images), run_threads, out.pointer()
        )
        assert code == 0
        check_output_guards(out, before[1])
        assert all(np.array_equal(g.bits(), b) for g, b in zip((pixels, weights_in), before[0])), "an input was written"
        assert not (out.view.view(np.uint32) == SENTINEL_BITS).any(), "outputs left unwritten"
        results.append(out.view.view(np.uint32).copy())
    assert np.array_equal(*results), "the threads changed the numbers"
