"""Benchmark (not a test): the explorer of notebook 90 live in JupyterLab, in headless Chromium, on a
finished pipeline run (default: the quick run in runs/), as a user meets it.

Records how long "run all cells" takes until the widget is on the page and how long moving one region
slider (keyboard, ``--presses`` steps of 0.05) takes until the new output image is shown, and saves a
screenshot of the live explorer for the README:

    python benchmarks/explorer_browser.py --profile quick
      -> figures/explorer_browser_<dataset>_8x_<profile>.png, results/benchmark_explorer_browser_<profile>.csv

Needs a pipeline run of the profile (``make reproduce``) and Debian's chromium + chromium-driver.
"""
from __future__ import annotations

import argparse
import sys
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--run-root", default=str(REPO / "runs"))
    ap.add_argument("--data-root", default="")
    ap.add_argument("--region", default="hair")
    ap.add_argument("--presses", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3, help="slider moves timed (each in a fresh session)")
    args = ap.parse_args()
    import pandas as pd

    from deepsee.config import load_config
    sys.path.insert(0, str(REPO / "tests"))   # the browser harness lives with the tests
    from lab import explorer_in_browser
    from deepsee.runs import write_table
    cfg = load_config(args.profile)
    conditions = f"{cfg.data.dataset}_{cfg.model.factor}x_{args.profile}"
    shot = REPO / "figures" / f"explorer_browser_{conditions}.png"
    rows = []
    for i in range(args.repeats):
        work = Path(tempfile.mkdtemp(prefix="explorer-browser-"))
        try:
            params = dict(profile=args.profile, run_root=args.run_root, data_root=args.data_root,
                          out_dir=str(work / "out"))
            c = explorer_in_browser(work, params, region=args.region, presses=args.presses,
                                    screenshot=shot if i == 0 else None)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if c.widget_errors:
            raise SystemExit("the widget did not render: 'Error displaying widget'")
        rows.append({"repeat": i, "render_s": round(c.render_s, 2), "slider_to_new_output_s": round(c.latency_s, 3),
                     "sliders": c.sliders, "region": c.moved})
        print(f"[{i + 1}/{args.repeats}] widget after {c.render_s:.1f} s; slider -> new output {c.latency_s * 1000:.0f} ms")
    df = pd.DataFrame(rows)
    out = write_table(df, REPO / "results" / f"benchmark_explorer_browser_{args.profile}.csv", profile=args.profile,
                      seed=0, browser="headless Chromium (Debian) via Selenium, JupyterLab",
                      what="render_s: 'run all cells' -> widget on the page (includes loading the model); "
                           "slider_to_new_output_s: keyboard move of one region slider -> new output image shown",
                      screenshot=shot.name)
    print(f"median slider -> new output: {df.slider_to_new_output_s.median() * 1000:.0f} ms; {out}; {shot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
