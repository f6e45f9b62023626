"""Choosing the number of components of the VAE's learned prior on train-5k's validation split.

The split is the one the VAE trained with (`training.loop.split_indices` with its config's `val_fraction`
and `seed`). For each K a mixture is fitted to the training split's posterior means (`training/prior.py`);
it is judged by the average log-likelihood of the validation split's posterior means (held out), and
1,000 samples (seed 0) are read by the bundled classifier: mean confidence and class entropy (nats).
K = 0 is the standard normal prior N(0, I). Prints one Markdown table; the test set is never read.

    python experiments/select_prior.py ../shared/data/mnist/train-5k-images-idx3-ubyte.gz --model vae
"""

from __future__ import annotations

import argparse

import torch

from mnistvec.data import load_images
from mnistvec.encoding.sampling import draw_samples
from mnistvec.evaluation.scores import score_samples
from mnistvec.models.classifier import load_classifier
from mnistvec.models.prior import MixturePrior
from mnistvec.models.registry import load_model
from mnistvec.raster import render_numpy
from mnistvec.training.loop import split_indices
from mnistvec.training.prior import fit_mixture, posterior_means


def standard_log_likelihood(points: torch.Tensor) -> float:
    """The average log N(x; 0, I) of points [N, D]."""
    return float(torch.distributions.Normal(0.0, 1.0).log_prob(points).sum(1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--model", default="vae")
    parser.add_argument("--components", default="1,5,10,20,50")
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    model, config = load_model(args.model)
    images = load_images(args.data).images
    train_idx, val_idx = split_indices(len(images), config["val_fraction"], config["seed"])
    train_codes = posterior_means(model, images[train_idx.numpy()])
    val_codes = posterior_means(model, images[val_idx.numpy()])
    classifier = load_classifier()
    print(f"{len(train_codes)} training and {len(val_codes)} validation codes of {config['latent']} dimensions\n")
    print("| K | train log-lik. | held-out log-lik. | EM rounds | confidence | class entropy (nats) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for k in [0, *(int(c) for c in args.components.split(","))]:
        model.prior = None
        if k == 0:
            train_ll, val_ll, rounds = standard_log_likelihood(train_codes), standard_log_likelihood(val_codes), "-"
        else:
            fit = fit_mixture(train_codes, k, seed=0)
            model.prior = MixturePrior(k, model.latent)
            model.prior.set_parameters(fit.weights, fit.means, fit.scale_tril)
            train_ll, val_ll, rounds = fit.log_likelihood, float(fit.log_prob(val_codes).mean()), fit.iterations
        drawn = draw_samples(model, args.samples, 0, 1.0, "cpu")
        scores = score_samples(render_numpy(drawn.lines, drawn.widths, drawn.opacity, 28, 28, 28.0), classifier)
        print(
            f"| {k or 'N(0, I)'} | {train_ll:.2f} | {val_ll:.2f} | {rounds} | {scores.confidence:.3f} "
            f"| {scores.entropy:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
