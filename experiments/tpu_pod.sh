#!/usr/bin/env bash
# Train the paper's 60 instances per architecture on a multi-host Cloud TPU
# pod slice, with the seed axis sharded over every chip of every host.
#
#   TPU_NAME=my-pod ZONE=us-central2-b bash experiments/tpu_pod.sh
#
# Every host runs the same command. `--distributed` makes each process call
# jax.distributed.initialize(), which on Cloud TPU finds the coordinator and
# the process count by itself; the trainer then builds one mesh with a `seed`
# axis over all chips (jax.devices()), and each host computes the instances on
# its own chips. Orbax writes the checkpoint from all hosts together and the
# run folder holds JSON files too, so OUT must be a file system that every
# host mounts (e.g. Filestore, or a bucket through gcsfuse).
# Seeds must divide evenly over chips or are padded (the padding instances are
# computed and dropped); e.g. 60 seeds on a v4-32 (16 chips) compute 64.
#
# After training, evaluate, analyse and report on one host:
#   manyseeds reproduce --preset paper --humans human.csv --out $OUT
# (finished runs are reused, so this only runs the later stages).
set -euo pipefail
: "${TPU_NAME:?set TPU_NAME}"
: "${ZONE:?set ZONE}"
OUT=${OUT:-/mnt/shared/manyseeds/paper}
REPO=${REPO:-https://example.invalid/your-fork/manyseeds.git}

gcloud compute tpus tpu-vm ssh "$TPU_NAME" --zone "$ZONE" --worker=all --command "
  set -e
  pip install -U 'jax[tpu]' && pip install 'git+$REPO'
  export MANYSEEDS_MNIST_DIR=\$HOME/mnist   # the four IDX files, copied to each host
  for arch in alexnet resnet18 rtnet; do
    manyseeds train --arch \$arch --preset paper --seeds 60 \
      --out $OUT/runs/\$arch --distributed --resume
  done
"
