#!/usr/bin/env bash
# Retrain the models shipped in the package (mnistvec/weights/ae.pt, vae.pt and lfi.pt) from MNIST's
# train-5k subset, and export them (float16, no optimiser state; see mnistvec/models/bundled.py).
# About two hours on 2 CPU cores with the three runs side by side, one torch thread each (a GPU takes
# minutes). The validation tenth of train-5k chose these settings; t10k was only used to report.
#
#   bash examples/train-bundled.sh ../shared/data/mnist/train-5k-images-idx3-ubyte.gz
set -euo pipefail
data=${1:?usage: train-bundled.sh TRAIN_IMAGES (an IDX file, a folder, or mnist)}
export OMP_NUM_THREADS=1
# The autoencoder: the default settings, coordinate planes on the encoder's input, a five times longer
# schedule than the default's 80 epochs.
mnistvec train --method ae --coords --epochs 400 --data "$data" --out runs/ae --overwrite &
# The VAE with two amortised refinement steps for encoding (its samples do not use them).
mnistvec train --method vae --refiner-steps 2 --data "$data" --out runs/vae --overwrite &
# The likelihood-free model with today's defaults.
mnistvec train --method lfi --data "$data" --out runs/lfi --overwrite &
wait
python -c "
from mnistvec.models.bundled import export_bundled
for name in ('ae', 'vae', 'lfi'):
    export_bundled(f'runs/{name}/model.pt', f'mnistvec/weights/{name}.pt')
print('exported mnistvec/weights/ae.pt, vae.pt and lfi.pt')"
