"""The paper's MNIST study (Fung, Ratan Murty & Rahnev, 2025).

Command (with the authors' human data; see the README for where to get it):

    manyseeds reproduce --preset paper --humans human.csv --out checkpoints/paper

What it runs (PROTOCOL.md sections 2-4): 60 instances each of AlexNet (227x227
input, 58,299,082 parameters), torchvision ResNet18 with a one-channel stem
(11,175,370) and RTNet (the AlexNet with mean-field Gaussian weights,
116,598,164), Adam at the paper's defaults, batch 128 (RTNet 500), 15 epochs on
all 60,000 training images; the 480 stimuli at calibrated noise, RTNet with
thresholds 3 (speed) and 5 (accuracy); 1,000 split-halves, 2,000 bootstraps.
The authors' extras (weight decay, learning-rate halving on a plateau, the
original RTNet learning rate 0.01) are one field away in
`manyseeds.config.TrainConfig`.

Expected time (estimates from FLOP counts, NOT measured: no accelerator was
available when this was written):
  2 CPU cores: impractical. `manyseeds bench train --preset paper` measured
  the paper AlexNet at about 20 training images/s here, i.e. ~60 days for 60
  instances x 15 epochs.
  one GPU (H100/H200 class, float32): on the order of 10-20 hours for all three
  architectures (AlexNet ~2.1 GFLOPs per image forward, x3 for training, x60
  seeds x 900,000 images = 3.4e17 FLOPs per architecture, RTNet about twice
  that), dominated by AlexNet and RTNet.
  TPU pod: see experiments/tpu_pod.sh; the seed axis is split over all chips.
"""

from manyseeds.config import ExperimentConfig, experiment


def get_config() -> ExperimentConfig:
    return experiment("paper")


if __name__ == "__main__":
    import logging
    import sys

    from manyseeds.reproduce import reproduce

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    humans = sys.argv[1] if len(sys.argv) > 1 else None
    reproduce(get_config(), "checkpoints/paper", humans=humans)
