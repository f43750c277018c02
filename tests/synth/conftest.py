from __future__ import annotations

import pytest
from .synth_support import DEMO_SEED, Extract

from kvalitetsplatform.synth.generator import Options, synthesise


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Extract:
    """The demo scale as `kp synth --scale demo` writes it (one cluster, 20,000 people)."""
    out = tmp_path_factory.mktemp("synth") / "demo"
    report = synthesise(Options(out=out, scale="demo", seed=DEMO_SEED, workers=2))
    return Extract(out, report)
