"""The automatic seed strategy: per backend, and chunked by device memory."""

from __future__ import annotations

import dataclasses

import jax

from manyseeds.config import train_config
from manyseeds.models import get_model
from manyseeds.training import strategy


def test_plan_chunk_fits_memory():
    gib = 2**30
    # 80% of a 141 GB device is 112.8 GB; 60 instances resident at 1 GiB
    # each leave 48.4 GB for steps; at 10 GiB per instance's step, 4 at a time.
    assert strategy.plan_chunk(60, gib, 10 * gib, 141 * 10**9) == 4
    # Plenty of room: all local instances at once.
    assert strategy.plan_chunk(8, gib, gib, 141 * 10**9) == 8
    # Not even the resident state fits: one at a time, never zero.
    assert strategy.plan_chunk(60, 4 * gib, gib, 141 * 10**9) == 1


@dataclasses.dataclass
class _FakeDevice:
    platform: str
    limit: int | None

    def memory_stats(self):
        return {"bytes_limit": self.limit} if self.limit else None


def test_auto_is_loop_on_cpu_and_vmap_or_chunked_on_accelerators():
    config = train_config("alexnet", "paper", seeds=60)
    spec = get_model("alexnet", "paper")
    assert strategy._auto(config, spec, [_FakeDevice("cpu", None)]) == ("loop", 1)
    big = strategy._auto(config, spec, [_FakeDevice("gpu", 10**15)])
    assert big == ("vmap", None)
    name, chunk = strategy._auto(config, spec, [_FakeDevice("gpu", 141 * 10**9)])
    assert name in ("vmap", "chunked")
    if name == "chunked":
        assert 1 <= chunk < 60
    small = strategy._auto(config, spec, [_FakeDevice("tpu", 8 * 10**9)])
    assert small[0] == "chunked" and small[1] >= 1


def test_choose_layout_respects_an_explicit_strategy():
    config = train_config("alexnet", "smoke", seeds=4, strategy="vmap")
    layout = strategy.choose_layout(config, get_model("alexnet", "smoke"))
    assert layout.strategy == "vmap" and layout.num_devices == jax.device_count()
