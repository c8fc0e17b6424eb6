"""The smoke experiment: every stage on tiny networks, for tests and CI.

Command:

    manyseeds reproduce --preset smoke --out checkpoints/smoke

What it runs: 4 seeds of each architecture's `smoke` preset (a few thousand
parameters, one epoch on 256 images), 8 synthetic people, a coarse noise grid,
20 split-halves. The numbers mean nothing; the point is that every stage runs
and writes what the next one reads (tests/test_reproduce.py runs it).

Expected time:
  2 CPU cores: about 1.5 minutes (mostly JAX compilation).
  one GPU: about the same (compilation bound).
"""

from manyseeds.config import ExperimentConfig, experiment


def get_config() -> ExperimentConfig:
    return experiment("smoke")


if __name__ == "__main__":
    import logging

    from manyseeds.reproduce import reproduce

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    reproduce(get_config(), "checkpoints/smoke")
