#!/usr/bin/env bash
# Retrain the models shipped in the package (mnistvec/weights/ae.pt, vae.pt and lfi.pt) from MNIST's
# train-5k subset, and export them (float16, no optimiser state; see mnistvec/models/bundled.py).
# About 1 h 45 min on 2 CPU cores with the runs side by side, one torch thread each (a GPU takes
# minutes). The validation tenth of train-5k chose these settings; t10k was only used to report.
#
#   bash examples/train-bundled.sh ../shared/data/mnist/train-5k-images-idx3-ubyte.gz
set -euo pipefail
data=${1:?usage: train-bundled.sh TRAIN_IMAGES (an IDX file, a folder, or mnist)}
export OMP_NUM_THREADS=1
# The autoencoder: the default settings for 150 epochs, then 30 epochs of fine-tuning with the soft
# renderer's blur falling from 0.3 to 0.15 pixels, closer to the exact renderer users get.
(mnistvec train --method ae --epochs 150 --data "$data" --out runs/ae-150 --overwrite &&
 mnistvec train --method ae --init runs/ae-150/model.pt --epochs 30 --lr 5e-4 --temperature-start 0.3 \
     --temperature-end 0.15 --data "$data" --out runs/ae --overwrite) &
# The VAE with two amortised refinement steps for encoding (its samples do not use them).
mnistvec train --method vae --refiner-steps 2 --data "$data" --out runs/vae --overwrite &
# The likelihood-free model with today's defaults.
mnistvec train --method lfi --data "$data" --out runs/lfi --overwrite &
wait
# The VAE's strokes gain most from per-image refinement: it encodes with 3 steps unless told otherwise.
# Its samples come from a learned prior: a 50-component Gaussian mixture fitted to the posterior means of
# the images it trained on (the same split as training: its val_fraction and seed), chosen among
# K = 1, 5, 10, 20, 50 by the held-out log-likelihood of the validation split's posterior means
# (experiments/select_prior.py). The fit leaves the VAE's weights as they are.
python -c "
import sys
from mnistvec.models.bundled import export_bundled
from mnistvec.training.prior import fit_prior_to_checkpoint
for name, refine in (('ae', 0), ('vae', 3), ('lfi', 0)):
    export_bundled(f'runs/{name}/model.pt', f'mnistvec/weights/{name}.pt', encode_refine=refine)
fit_prior_to_checkpoint('mnistvec/weights/vae.pt', 'mnistvec/weights/vae.pt', sys.argv[1], components=50, seed=0)
print('exported mnistvec/weights/ae.pt, vae.pt (with its learned prior) and lfi.pt')" "$data"
