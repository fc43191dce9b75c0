"""The authors' released 32x top block (``model.last_block: released``): one name, "released", for the
configuration value, the NormBlock kind (:data:`RELEASED`), the branch (:class:`ReleasedStyleBranch`) and the
NormBlock attribute that holds it (whose state-dict keys, ``released.hidden`` / ``released.conv``, saved models
carry).

In the authors' 32x model the 512 px block (up_list.3) lies above the mask cap (``model.max_mask_size``). Their
code overwrites the styled map there with the upsampled *semantic hidden features*, so that block's style convs
never see the style, and it computes ``out = BN(x) * gamma_s + beta_s`` (no "1 +"). The kit's own 32x design
(``last_block: style_only``, the default) is a true style-only block instead; this one exists to run the
authors' checkpoints exactly (``deepsee.models.importer``). Table 4's 32x count, 61,714,407 generator
parameters, is the kit's 61,670,375 + 2 x 22,016 hidden. Notes: docs/ARCHITECTURE_NOTES.md "32x".
"""
from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .encoders import styled_map
from .layers import conv2d, init_conv_

RELEASED = "released"   # the NormBlock kind of the authors' 32x top block (model.last_block: released)
Modulation = tuple[Tensor, Tensor]            # (gamma, beta), each [B, C, h, w]


class ReleasedStyleBranch(nn.Module):
    """The authors' 32x model's top-block branch (module docstring).

    Above the mask cap (its use in the 32x model), their block's style convs read the semantic hidden
    features (their code overwrites the styled map above the cap), so the style takes no part:
        h = ReLU(conv3x3(M at the cap))            (the semantic hidden layer it owns, N -> hidden)
        h = nearest(h, feature size)               (upsampled *before* the convs)
        gamma_s, beta_s = conv3x3(h), conv3x3(h)   (mlp_style_gamma / mlp_style_beta: one conv, 2C outputs)
    and the NormBlock computes out = BN(x) * gamma_s + beta_s (no "1 +"). The upsampling before the convs
    and the missing "1 +" are their block's (PureSEAN_Block in the authors' normalization.py); the
    supplement does not spell them out (docs/ARCHITECTURE_NOTES.md "32x"). At or below the cap (a smaller
    input than the model was built for) their block reads the styled map, and so does this one.
    Also owns their unused Conv1d(N, N, 1) (Table 4 counts it; no computation).
    """

    def __init__(self, *, num_classes: int = 19, hidden: int = 128, channels: int = 512,
                 keep_unused_conv: bool = True):
        super().__init__()
        self.hidden = conv2d(num_classes, hidden, 3)               # mlp_shared.0
        self.act = nn.ReLU()
        self.conv = conv2d(hidden, 2 * channels, 3, splits=2)      # [mlp_style_gamma | mlp_style_beta]
        self.unused = init_conv_(nn.Conv1d(num_classes, num_classes, 1)) if keep_unused_conv else None

    def hidden_features(self, mask: Tensor) -> Tensor:            # [B, N, h, w] at the cap -> [B, hidden, h, w]
        return self.act(self.hidden(mask))

    def check_styled(self, style: Tensor | None) -> None:
        """At or below the cap the block reads the styled map: a style as long as its hidden width."""
        if style is None or style.shape[-1] != self.conv.in_channels:
            raise ValueError(f"the authors' top block at or below the mask cap reads the styled map: it needs "
                             f"a style [B, N, {self.conv.in_channels}] (hidden width == style length)")

    def forward(self, mask: Tensor, style: Tensor | None, size: tuple[int, int]) -> Modulation:
        """``mask`` at the modulation size (the cap, or ``size`` itself when not above it)."""
        if tuple(mask.shape[-2:]) != tuple(size):                 # above the cap: their defect
            x = F.interpolate(self.hidden_features(mask), size=size, mode="nearest")   # before the convs
        else:                                                      # at or below the cap: the styled map
            self.check_styled(style)
            x = styled_map(mask, style)
        gamma_s, beta_s = self.conv(x).chunk(2, dim=1)
        return gamma_s, beta_s                                     # [B, C, *size] each
