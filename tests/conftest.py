import os

import pytest
import torch

# Tests run on 2-core CPUs; one thread per process keeps parallel helpers and CI predictable.
torch.set_num_threads(1)
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """An empty DEEPSEE_DATA for tests that generate data."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("DEEPSEE_DATA", str(root))
    return root


@pytest.fixture
def tiny_data():
    """``data.dataset=tinyfaces`` builds the ``TinyFaces`` stand-in (random faces, blocky masks; tests/fixtures.py)
    for this test, through the kit's own extension point (``deepsee.data.register_dataset``). Returns the override."""
    from deepsee.data import register_dataset
    from fixtures import TinyFaces
    register_dataset("tinyfaces", TinyFaces)
    yield "data.dataset=tinyfaces"
    register_dataset("tinyfaces", None)
