"""DeepSEE networks (supplement Section 1, Tables 1-4): style encoders, generator, discriminator.

Public API: ``DeepSEE`` (encoders + generator of one variant, ``save`` / ``load``),
``build_discriminator``, ``to_onehot``. Internals by file, small to large: ``masks``, ``layers``,
``encoders``, ``generator`` (branches -> NormBlock -> ResBlock -> Generator), ``discriminator``,
``deepsee``; ``summary`` regenerates Tables 1-4; ``importer`` reads the released checkpoints.
"""
from .deepsee import STYLE_SOURCES, DeepSEE
from .discriminator import MultiscaleDiscriminator, build_discriminator
from .generator import Generator, NormBlock, ResBlock, build_generator
from .masks import MaskPyramid, to_onehot

__all__ = ["DeepSEE", "STYLE_SOURCES", "build_discriminator", "MultiscaleDiscriminator",
           "Generator", "NormBlock", "ResBlock", "build_generator", "MaskPyramid", "to_onehot"]
