"""The soft renderer: differentiable everywhere, tends to the exact one as the temperature falls."""

import subprocess
import sys
import textwrap

import pytest
import torch

from mnistvec.raster.exact import render_exact_px
from mnistvec.raster.soft import render_soft_px


def pixel_strokes(seed, batch, n_lines, size):
    g = torch.Generator().manual_seed(seed)
    lines = (torch.rand(batch, n_lines, 4, generator=g) * 0.8 + 0.1) * size
    radius = (torch.rand(batch, n_lines, generator=g) * 0.06 + 0.02) * size / 2
    alpha = torch.rand(batch, n_lines, generator=g) * 0.5 + 0.5
    return lines, radius, alpha


def test_soft_tends_to_exact_as_temperature_falls():
    lines, radius, alpha = pixel_strokes(0, 16, 16, 28)
    exact = render_exact_px(lines, radius, alpha, 28, 28)
    errors = [
        float((render_soft_px(lines, radius, alpha, 28, 28, t) - exact).abs().max())
        for t in (1.0, 0.3, 0.1, 0.03, 0.003)
    ]
    assert all(e1 > e2 for e1, e2 in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-3
    assert errors[0] > 0.1  # a warm renderer really is blurred


def test_gradcheck_small_case():
    lines = torch.tensor([[[1.3, 2.1, 6.2, 4.7], [5.5, 1.2, 2.4, 6.9]]], dtype=torch.float64, requires_grad=True)
    radius = torch.tensor([[0.8, 0.55]], dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor([[0.9, 0.6]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda ln, r, a: render_soft_px(ln, r, a, 8, 8, temperature=0.7), (lines, radius, alpha), atol=1e-6
    )


def test_gradients_reach_every_line_parameter():
    lines, radius, alpha = pixel_strokes(1, 2, 5, 28)
    for t in (lines, radius, alpha):
        t.requires_grad_(True)
    target = torch.zeros(2, 28, 28)
    ((render_soft_px(lines, radius, alpha, 28, 28, 0.5) - target) ** 2).sum().backward()
    assert (lines.grad.abs() > 0).all() and (radius.grad.abs() > 0).all() and (alpha.grad.abs() > 0).all()


def test_chunked_path_matches_single_pass():
    lines, radius, alpha = pixel_strokes(2, 3, 6, 20)
    results = []
    for max_elements in (1 << 22, 257):
        ln, r, a = (t.clone().requires_grad_(True) for t in (lines, radius, alpha))
        img = render_soft_px(ln, r, a, 20, 20, 0.4, max_elements=max_elements)
        (img * torch.linspace(0, 1, 400).view(20, 20)).sum().backward()
        results.append((img.detach(), ln.grad, r.grad, a.grad))
    for x, y in zip(*results):
        assert torch.allclose(x, y, atol=1e-5)


def test_memory_is_bounded_at_256_pixels_64_lines():
    """Forward and backward at 256x256 with 64 lines stay under 2 GB: chunks, not the batch, set the peak."""
    script = textwrap.dedent("""
        import resource, torch
        from mnistvec.raster.soft import render_soft_px
        g = torch.Generator().manual_seed(0)
        lines = (torch.rand(4, 64, 4, generator=g) * 0.8 + 0.1) * 256
        lines.requires_grad_(True)
        img = render_soft_px(lines, torch.full((4, 64), 2.0), torch.ones(4, 64), 256, 256, 0.5)
        img.sum().backward()
        assert torch.isfinite(lines.grad).all()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    peak_mb = int(out.stdout.split()[-1]) / 1024
    assert peak_mb < 2048, f"peak RSS {peak_mb:.0f} MB"


def test_rejects_non_positive_temperature():
    lines, radius, alpha = pixel_strokes(3, 1, 2, 8)
    with pytest.raises(ValueError, match="temperature"):
        render_soft_px(lines, radius, alpha, 8, 8, 0.0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    lines, radius, alpha = pixel_strokes(4, 4, 16, 28)
    cpu = render_soft_px(lines, radius, alpha, 28, 28, 0.5)
    gpu = render_soft_px(lines.cuda(), radius.cuda(), alpha.cuda(), 28, 28, 0.5).cpu()
    assert torch.allclose(cpu, gpu, atol=1e-4)
