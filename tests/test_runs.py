import json

import pandas as pd
import pytest

from deepsee.runs import atomic_path, new_run_dir, write_table


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "ckpt.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.bin"]


def test_write_table_has_sidecar_with_versions(tmp_path):
    p = write_table(pd.DataFrame({"a": [1]}), tmp_path / "t_quick.csv", profile="quick", seed=3, note="x")
    md = json.loads(p.with_suffix(".meta.json").read_text())
    assert md["profile"] == "quick" and md["seed"] == 3 and md["note"] == "x"
    assert "torch" in md["versions"] and md["commit"]
    assert pd.read_csv(p).a.tolist() == [1]


def test_new_run_dir_never_clobbers(tmp_path):
    a = new_run_dir("sr", "smoke", "independent", root=tmp_path)
    b = new_run_dir("sr", "smoke", "independent", root=tmp_path)
    assert a != b and a.is_dir() and b.is_dir()
