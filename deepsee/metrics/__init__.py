"""Image-quality and explorative metrics (supplementary Sec. 2.3, Tables 6-7; Sec. 3.1, Figs 5-7).

- fidelity: :func:`psnr`, :func:`ssim` (scikit-image, uint8 RGB, data range 255, no crop);
- perceptual: :class:`LPIPS` (lpips, AlexNet v0.1), the labelled substitutes :class:`TextureDistance`
  ("TexStatDist", no weights) and :class:`FeatureDistance` ("SegFeatDist", segmenter features), the
  factory :func:`perceptual_metric`, the blur-vs-detail check :func:`known_answer_table`;
- distribution: :func:`fid_from_features`, :func:`inception_features`, :func:`reference_statistics`;
- explorative: :func:`best_of_n`, :func:`diversity`, :func:`region_leakage` (the oracle study that samples styles:
  :func:`deepsee.paper.oracle.oracle_selection`; the style-usage protocol: :mod:`deepsee.eval.style_usage`).
"""
from ..weights import MissingWeightsError  # noqa: F401
from .explorative import best_of_n, diversity, region_bands, region_leakage  # noqa: F401
from .fid import (build_inception, feature_statistics, fid_from_features, fid_from_stats,  # noqa: F401
                  fid_weights_id, frechet_distance, inception_features, reference_statistics,
                  reference_stats_path)
from .image import psnr, ssim, to_uint8  # noqa: F401
from .known_answer import known_answer_table  # noqa: F401
from .perceptual import (LPIPS, LPIPS_NAME, PERCEPTUAL_KINDS, SEGFEAT_NAME, FeatureDistance,  # noqa: F401
                         perceptual_metric, quantize)
from .settings import metric_settings  # noqa: F401
from .texture import TEXTURE_KIND, TEXTURE_NAME, TextureDistance  # noqa: F401
