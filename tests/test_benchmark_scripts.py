"""The benchmark scripts run end to end on the smoke model (their numbers are measured elsewhere:
benchmarks/ writes results/; here only that the script completes and writes its table)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def _script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_exploration_benchmark_without_training_reps_writes_the_inference_rows(tmp_path, capsys):
    out = tmp_path / "bench.csv"
    assert _script("exploration").main(["--profile", "smoke", "--devices", "cpu", "--train-reps", "0",
                                        "--samples", "4", "--threads", "1", "--out", str(out)]) == 0
    paths = list(pd.read_csv(out).path)
    assert any(p.startswith("engine: per sample") for p in paths)
    assert not any(p.startswith("train step") for p in paths)
    df = pd.read_csv(out).set_index("path")
    share = df.loc["consistency projection per sample (engine outputs)", "share_of_engine_per_sample"]
    assert 0 < share < 1                                    # measured, relative to the engine's per-sample time
    printed = capsys.readouterr().out
    assert "speed-up" in printed and "consistency projection" in printed
