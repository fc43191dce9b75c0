"""Evaluation of the kit's models and the paper's Tables 6 and 7 (supplementary Sec. 2.3, 3.6).

- :func:`evaluate`: PSNR / SSIM / perceptual / FID of a DeepSEE model and of bicubic upsampling;
- :func:`table6`, :func:`table7`: quoted rows beside measured rows, with provenance columns;
- :func:`write_results_table`: ``results/<name>_<profile>.csv`` with the metric protocol in its sidecar.
CLI: ``deepsee evaluate`` and ``deepsee weights status|fetch`` (:mod:`deepsee.eval.cli`).
"""
from ..metrics.settings import metric_settings  # noqa: F401
from .evaluate import BICUBIC, bicubic_upsample, evaluate, model_label  # noqa: F401
from .tables import COLUMNS, quoted_rows, table6, table7, table_name, write_results_table  # noqa: F401
