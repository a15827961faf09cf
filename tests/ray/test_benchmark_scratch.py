"""benchmarks/ray_scaling.py keeps Ray's default folder in its own scratch folder (issue 25, item 6).

``ray.cluster_utils.Cluster`` writes its address to ``<Ray's default folder>/ray_current_cluster`` even
when its head node has a folder of its own, and nothing creates that default folder then: with ``TMPDIR``
pointing at a fresh folder the benchmark's two-node cluster could not start. No Ray node is started here.
"""

import os
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def test_the_address_file_of_a_cluster_can_be_written_in_a_fresh_tmpdir(tmp_path, monkeypatch):
    from ray._common.utils import get_ray_address_file

    monkeypatch.setenv("TMPDIR", str(tmp_path / "fresh"))
    monkeypatch.delenv("RAY_TMPDIR", raising=False)
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setattr(sys, "argv", ["ray_scaling.py"])
    import ray_scaling

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    ray_scaling.keep_ray_defaults_in(str(scratch))
    address_file = Path(get_ray_address_file(None))
    assert address_file.parent.is_dir()
    assert scratch in address_file.parents  # not the machine-wide /tmp/ray, not $TMPDIR
    assert os.environ["RAY_TMPDIR"] == str(scratch)
