"""One random-number tree per run: a stream per module, derived from the seed and the module name.

Deriving each stream from its name (not from the order streams are asked for) means adding a
module leaves every other module's draws unchanged: scenarios differ only where they differ.
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """Named ``numpy.random.Generator`` streams from one ``SeedSequence``."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._streams.get(name)
        if gen is None:
            key = zlib.crc32(name.encode())
            gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, key])))
            self._streams[name] = gen
        return gen


def run_seed(experiment_seed: int, index: int) -> int:
    """Seed of run ``index`` of an experiment: depends on both, never on scheduling order."""
    ss = np.random.SeedSequence([int(experiment_seed), int(index)])
    return int(ss.generate_state(1, dtype=np.uint32)[0])
