"""The quick CPU version of the study: the built-in default of `reproduce`.

Command (from the repository root, data through the environment):

    manyseeds reproduce --preset quick            # or: python experiments/quick_cpu.py

What it runs: 60 seeds each of the `quick` AlexNet, ResNet18 and RTNet (the
paper's topologies scaled down to 28x28 input, trained for 3 epochs on a
fixed 12,000-image subset of the MNIST training set), evaluated on the 480
stimuli with the noise calibrated to the people, against a synthetic cohort of
60 people unless `--humans` is given; 1,000 split-halves and 2,000 bootstrap
resamples, as the paper.

Expected time:
  2 CPU cores: about 19 minutes (measured from a fresh clone, install
  included: 1,137 s; training 237 s AlexNet, 464 s ResNet18, 252 s RTNet;
  behaviour 94 s; analysis 21 s; report 8 s).
  one GPU: a few minutes (not measured here; on an accelerator the trainer
  vmaps all 60 seeds, so training is bounded by compile time).
"""

from manyseeds.config import ExperimentConfig, experiment


def get_config() -> ExperimentConfig:
    return experiment("quick")


if __name__ == "__main__":
    import logging

    from manyseeds.reproduce import reproduce

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    reproduce(get_config(), "checkpoints/quick")
