"""Train the evaluation classifier that ships in the package (mnistvec/weights/classifier.pt).

It reads train-5k's labels, which no vectoriser ever sees: the classifier only scores drawings (accuracy
on reconstructions, the class histogram of samples). Its own accuracy on the MNIST test set is measured
here and stored beside its weights, so every report can print it.

    python examples/train_classifier.py --data-dir ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from mnistvec.data import load_images
from mnistvec.models.classifier import bundled_classifier_path, predict, save_classifier
from mnistvec.training.classifier import train_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder with train-5k and t10k IDX files")
    parser.add_argument("--out", type=Path, default=bundled_classifier_path())
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train_set = load_images(args.data_dir / "train-5k-images-idx3-ubyte.gz")
    test_set = load_images(args.data_dir / "t10k-images-idx3-ubyte.gz")
    with tempfile.TemporaryDirectory() as run_dir:
        model = train_classifier(train_set.images, train_set.labels, run_dir, seed=args.seed)
    accuracy = float((predict(model, test_set.images).argmax(1) == test_set.labels).mean())
    per_digit = [
        float(np.mean(predict(model, test_set.images[test_set.labels == d]).argmax(1) == d)) for d in range(10)
    ]
    save_classifier(
        model, args.out, {"t10k": accuracy, "t10k_per_digit": per_digit, "trained_on": "train-5k", "seed": args.seed}
    )
    print(f"classifier accuracy on t10k: {accuracy:.2%} -> {args.out}")


if __name__ == "__main__":
    main()
