"""DeepSEE networks (supplement Section 1, Tables 1-4): style encoders, generator, discriminator.

Public API: ``DeepSEE`` (encoders + generator of one variant, ``save`` / ``load``),
``build_discriminator``, ``to_onehot``. Internals by file, small to large: ``masks``, ``layers``,
``encoders`` (Eqs. 1-2), ``released`` (the authors' 32x top block), ``generator`` (the paper's network:
branches -> NormBlock -> ResBlock -> Generator), ``folded`` (a NormBlock's eval-mode form, for the exploration
engine), ``fast`` (the training speed-ups), ``discriminator``, ``deepsee``; ``summary`` regenerates Tables 1-4;
``importer`` reads the authors' released checkpoints.
"""
from .deepsee import ConsistentSR, DeepSEE
from .discriminator import MultiscaleDiscriminator, build_discriminator
from .generator import Generator, NormBlock, ResBlock, build_generator
from .masks import MaskPyramid, to_onehot

__all__ = ["DeepSEE", "ConsistentSR", "build_discriminator", "MultiscaleDiscriminator",
           "Generator", "NormBlock", "ResBlock", "build_generator", "MaskPyramid", "to_onehot"]
