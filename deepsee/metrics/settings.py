"""The measurement protocol of every metric, written into each results table's sidecar."""
from __future__ import annotations

from .image import SSIM_KWARGS
from .perceptual import LPIPS_NAME, SEGFEAT_NAME
from .texture import TEXTURE_NAME, TextureDistance


def metric_settings() -> dict:
    """PSNR / SSIM / LPIPS / FID settings (and the substitute's definition) as a JSON-able dict."""
    uint8 = "RGB, round((x + 1) * 127.5) clamped to 0..255 (the values of a saved PNG)"
    return {
        "psnr": {"implementation": "skimage.metrics.peak_signal_noise_ratio", "input": uint8,
                 "data_range": 255, "channels": "RGB jointly (no Y conversion)", "crop": "none",
                 "aggregate": "mean of per-image values"},
        "ssim": {"implementation": "skimage.metrics.structural_similarity", "input": uint8,
                 **{k: v for k, v in SSIM_KWARGS.items()}, "window": "11x11 Gaussian", "K1": 0.01, "K2": 0.03,
                 "channels": "per RGB channel, averaged", "crop": "none", "aggregate": "mean of per-image values"},
        "lpips": {"name": LPIPS_NAME, "implementation": "lpips.LPIPS(net='alex', version='0.1')",
                  "weights": "torchvision alexnet-owt-7be5be79.pth + lpips/weights/v0.1/alex.pth",
                  "input": "[-1, 1], quantised to uint8 levels", "crop": "none",
                  "aggregate": "mean of per-image values"},
        "substitute": {"name": SEGFEAT_NAME,
                       "definition": "sum over layers of spatial mean of squared difference of channel-unit-"
                                     "normalised segmenter features (LPIPS formula, all weights 1); not LPIPS",
                       "input": "[-1, 1], quantised to uint8 levels"},
        "texture_substitute": {"name": TEXTURE_NAME, "implementation": "deepsee.metrics.texture.TextureDistance",
                               "settings": repr(TextureDistance()),
                               "definition": "mean over luminance pyramid levels and 5 band-pass/oriented-"
                                             "derivative responses of 1 - (2 m_a m_b + c)/(m_a^2 + m_b^2 + c) "
                                             "on local RMS amplitudes m (Gaussian window), plus the mean "
                                             "absolute difference of the coarsest low-pass Y/O1/O2; no "
                                             "weights; not LPIPS",
                               "input": "[-1, 1], quantised to uint8 levels"},
        "fid": {"implementation": "pytorch_fid InceptionV3 pool3 (2048-d) + calculate_frechet_distance "
                                  "(the kit's identical formula where SciPy >= 1.18 rejects its sqrtm(disp=))",
                "weights": "pt_inception-2015-12-05-6726825d.pth",
                "input": "uint8 levels / 255, bilinear resize to 299x299 (pytorch-fid)",
                "reference": "ground-truth HR images of the same split and size",
                "covariance": "np.cov(rowvar=False)", "note": "biased upwards for small image counts"},
    }
