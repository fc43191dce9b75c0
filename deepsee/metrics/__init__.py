"""Image-quality and explorative metrics (supplementary Sec. 2.3, Tables 6-7; Sec. 3.1, Figs 5-7).

- fidelity: :func:`psnr`, :func:`ssim` (scikit-image, uint8 RGB, data range 255, no crop);
- perceptual: :class:`LPIPS` (lpips, AlexNet v0.1), the labelled substitutes :class:`TextureDistance`
  ("TexStatDist", no weights) and :class:`FeatureDistance` ("SegFeatDist", segmenter features), the
  factory :func:`perceptual_metric`, the blur-vs-detail check :func:`known_answer_table`;
- distribution: :func:`fid_from_features`, :func:`inception_features`, :func:`reference_statistics`;
- explorative: :func:`best_of_n`, :func:`diversity`, :func:`region_change`, :func:`region_leakage`, all in the one
  unit of :func:`change_map` (the oracle study that samples styles: :func:`deepsee.paper.oracle.oracle_selection`;
  the style-usage protocol built on them: :mod:`deepsee.eval.style_usage`);
- filters: :func:`gaussian_kernel`, :func:`gaussian_blur` (the kit's one Gaussian).
"""
from ..weights import MissingWeightsError  # noqa: F401
from .explorative import (best_of_n, change_map, diversity, edge_band, inside_outside_ratio,  # noqa: F401
                          pairwise_change, region_change, region_leakage, walk_change)
from .fid import (build_inception, feature_statistics, fid_from_features, fid_from_stats,  # noqa: F401
                  fid_weights_id, frechet_distance, inception_features, reference_statistics,
                  reference_stats_path)
from .filters import gaussian_blur, gaussian_kernel, separable_filter  # noqa: F401
from .image import psnr, ssim, to_uint8  # noqa: F401
from .known_answer import known_answer_table  # noqa: F401
from .perceptual import (LPIPS, LPIPS_NAME, PERCEPTUAL_KINDS, SEGFEAT_NAME, FeatureDistance,  # noqa: F401
                         perceptual_metric, quantize)
from .settings import metric_settings  # noqa: F401
from .texture import TEXTURE_KIND, TEXTURE_NAME, TextureDistance  # noqa: F401
