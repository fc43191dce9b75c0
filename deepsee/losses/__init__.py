"""Training losses of DeepSEE (supplementary Section 2.1, Eqs. 3-8).

L_G = L_E = L_adv + lambda_feat * L_feat + lambda_vgg * L_vgg   (Eq. 7; optional + lambda_l1 * L1)
L_D = L_adv_D                                                   (Eq. 8)
"""
from .adversarial import feature_matching, hinge_d, hinge_d_terms, hinge_g  # noqa: F401
from .perceptual import (  # noqa: F401
    PERCEPTUAL_KINDS, VGG19_LAYER_WEIGHTS, VGG19_RELU_INDEX, FeatureL1Loss, SegmenterPerceptualLoss,
    VGGPerceptualLoss, build_perceptual, describe_perceptual, pixel_l1, vgg19_cache_path,
    vgg19_weights_path,
)
