"""The explorer where users meet it: notebook 90 in JupyterLab, in headless Chromium (Selenium).

The pipeline state holds an independent model of the smoke profile's widths with random weights that
make every style row matter (as in the engine tests), so that moving a region slider visibly changes
the output; the test split's ground-truth masks show every region. Needs Debian's ``chromium`` and
``chromium-driver`` (``.ci/run`` installs them)."""
from __future__ import annotations

import json

import pytest

from lab import INSTALL_HINT, explorer_in_browser, find_browser


def _browser_or_skip():
    try:
        find_browser()
    except FileNotFoundError as e:
        pytest.skip(f"{e}")
    pytest.importorskip("selenium", reason=f"selenium missing: pip install -e .[test]; {INSTALL_HINT}")


@pytest.mark.slow
def test_explorer_renders_in_jupyterlab_and_a_region_slider_changes_the_output(tmp_path):
    _browser_or_skip()
    import torch

    from deepsee.data import ensure_synthfaces
    from deepsee.models import DeepSEE
    from deepsee.pipeline import setup
    from fixtures import randomize as _randomize
    P = setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"),
              data_root=str(tmp_path / "data"), interactive=False)
    ensure_synthfaces(P.cfg, progress=False)
    torch.manual_seed(0)
    model = _randomize(DeepSEE(P.cfg.model))
    run = tmp_path / "runs" / "sr-smoke-independent"
    model.save(run / "model")
    P.record(sr_runs={"independent": str(run)})
    params = dict(profile="smoke", run_root=str(tmp_path / "runs"), data_root=str(tmp_path / "data"),
                  out_dir=str(tmp_path / "out"), image_index=0)
    check = explorer_in_browser(tmp_path / "lab", params, region="hair", screenshot=tmp_path / "explorer.png",
                                timeout=240)
    assert check.widget_errors == 0, "JupyterLab shows 'Error displaying widget'"
    assert check.sliders >= 5
    regions = dict(check.initial_values)
    assert {"hair", "skin", "lips", "brows", "eyes", "all rows"} <= set(regions)
    # the explorer opens on the predicted style: no slider moved
    assert all(float(regions[r]) == 0.0 for r in ("hair", "skin", "lips", "brows", "eyes", "all rows"))
    assert check.moved == "hair"
    assert check.output_before and check.output_after and check.output_after != check.output_before, \
        "moving the hair slider did not change the output image"
    # the consistency checkbox (issue 33): the status line's LR-PSNR jumps once the output is projected
    assert check.lr_psnr_plain < 40 <= 60 <= check.lr_psnr_consistent, (check.lr_psnr_plain, check.lr_psnr_consistent)
    assert (tmp_path / "explorer.png").stat().st_size > 10_000
    (tmp_path / "latency.json").write_text(json.dumps({"latency_s": check.latency_s, "render_s": check.render_s}))
    print(f"browser: widget after {check.render_s:.1f} s, slider -> new output in {check.latency_s * 1000:.0f} ms")
