#!/usr/bin/env bash
# Retrain the models shipped in the package (mnistvec/weights/ae.pt and vae.pt) from MNIST's train-5k
# subset with the default settings, and export them (float16, no optimiser state; see
# mnistvec/models/bundled.py). About 20 minutes on 2 CPU cores.
#
#   bash examples/train-bundled.sh ../shared/data/mnist/train-5k-images-idx3-ubyte.gz
set -euo pipefail
data=${1:?usage: train-bundled.sh TRAIN_IMAGES (an IDX file, a folder, or mnist)}
mnistvec train --method ae --data "$data" --out runs/ae --overwrite
mnistvec train --method vae --data "$data" --out runs/vae --overwrite
python -c "
from mnistvec.models.bundled import export_bundled
export_bundled('runs/ae/model.pt', 'mnistvec/weights/ae.pt')
export_bundled('runs/vae/model.pt', 'mnistvec/weights/vae.pt')
print('exported mnistvec/weights/ae.pt and vae.pt')"
