"""ResNet v1.5 (stride on the 3×3 conv) with BatchNorm, NHWC, returning {C2, C3, C4, C5}.

Layout follows torchvision's ResNet [related-code: torchvision] so that a converted ImageNet
checkpoint maps one-to-one: 7×7/2 stem conv (no bias) + BN + ReLU + 3×3/2 max-pool, then four
block groups whose outputs are the taps C2..C5 (spec two_att_two_mt.md §3.1). There is no global
pool and no classifier. Parameter counts equal torchvision's minus its ``fc`` layer
(ResNet-18: 11,176,512; ResNet-50: 23,508,032); BN running statistics live in ``batch_stats``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

TAP_NAMES = ("C2", "C3", "C4", "C5")

# (block type, blocks per group) [related-code: torchvision]
STAGE_SIZES: dict[str, tuple[str, tuple[int, ...]]] = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
}

# Kaiming-normal, fan-out, as torchvision initialises its convs [related-code: torchvision].
conv_init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def _pad(k: int) -> tuple[tuple[int, int], tuple[int, int]]:
    # Explicit symmetric padding (not 'SAME'): for stride 2 on even sizes 'SAME' pads only at
    # the end, which would shift every map by half a pixel against torchvision weights.
    p = k // 2
    return ((p, p), (p, p))


class _ConvBN(nn.Module):
    """Conv (no bias: BN cancels it) followed by BatchNorm; ``zero_scale`` zero-inits γ."""

    features: int
    kernel: int = 3
    stride: int = 1
    zero_scale: bool = False
    bn_momentum: float = 0.9
    bn_eps: float = 1e-5
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, *, train: bool):
        x = nn.Conv(self.features, (self.kernel, self.kernel), (self.stride, self.stride),
                    padding=_pad(self.kernel), use_bias=False, kernel_init=conv_init,
                    dtype=self.dtype, param_dtype=jnp.float32, name="conv")(x)
        return nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                            epsilon=self.bn_eps, dtype=self.dtype, param_dtype=jnp.float32,
                            scale_init=(nn.initializers.zeros if self.zero_scale
                                        else nn.initializers.ones),
                            name="bn")(x)


class BasicBlock(nn.Module):
    """Two 3×3 convs with a residual; projection shortcut when the shape changes (18/34)."""

    features: int
    stride: int = 1
    zero_init_residual: bool = True
    bn_momentum: float = 0.9
    bn_eps: float = 1e-5
    dtype: Any = jnp.float32

    expansion = 1

    @nn.compact
    def __call__(self, x, *, train: bool):
        kw = dict(bn_momentum=self.bn_momentum, bn_eps=self.bn_eps, dtype=self.dtype)
        y = nn.relu(_ConvBN(self.features, 3, self.stride, name="conv1", **kw)(x, train=train))
        y = _ConvBN(self.features, 3, 1, zero_scale=self.zero_init_residual, name="conv2",
                    **kw)(y, train=train)
        if x.shape[-1] != self.features or self.stride != 1:
            x = _ConvBN(self.features, 1, self.stride, name="downsample", **kw)(x, train=train)
        return nn.relu(x + y)


class Bottleneck(nn.Module):
    """1×1 → 3×3 (stride here: v1.5) → 1×1 ×4 expansion, with residual (50/101)."""

    features: int
    stride: int = 1
    zero_init_residual: bool = True
    bn_momentum: float = 0.9
    bn_eps: float = 1e-5
    dtype: Any = jnp.float32

    expansion = 4

    @nn.compact
    def __call__(self, x, *, train: bool):
        kw = dict(bn_momentum=self.bn_momentum, bn_eps=self.bn_eps, dtype=self.dtype)
        out = self.features * self.expansion
        y = nn.relu(_ConvBN(self.features, 1, 1, name="conv1", **kw)(x, train=train))
        # v1.5: the stride sits on the 3×3 conv, not the first 1×1 (v1) [related-code:
        # torchvision]; slightly more accurate, and what ImageNet checkpoints expect.
        y = nn.relu(_ConvBN(self.features, 3, self.stride, name="conv2", **kw)(y, train=train))
        y = _ConvBN(out, 1, 1, zero_scale=self.zero_init_residual, name="conv3",
                    **kw)(y, train=train)
        if x.shape[-1] != out or self.stride != 1:
            x = _ConvBN(out, 1, self.stride, name="downsample", **kw)(x, train=train)
        return nn.relu(x + y)


class ResNet(nn.Module):
    """ResNet v1.5 trunk: ``__call__(x [B,H,W,3], *, train) -> {'C2','C3','C4','C5'}``.

    ``width`` is the stem width; group g has ``width·2^g`` base channels (×4 for bottlenecks).
    ``dtype`` sets the activation dtype (e.g. bfloat16); params and BN statistics stay fp32.
    ``zero_init_residual`` starts every residual branch at zero (last BN γ = 0)
    [our choice, as Goyal et al. 2017 and the Flax ImageNet example]: it helps training from
    scratch and is irrelevant when weights are loaded from a file.
    """

    stage_sizes: Sequence[int] = (2, 2, 2, 2)
    block: str = "basic"  # 'basic' | 'bottleneck'
    width: int = 64
    zero_init_residual: bool = True
    bn_momentum: float = 0.9
    bn_eps: float = 1e-5
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, *, train: bool) -> dict[str, Any]:
        if self.block not in ("basic", "bottleneck"):
            raise ValueError(f"ResNet.block must be 'basic' or 'bottleneck', got {self.block!r}")
        if len(self.stage_sizes) != len(TAP_NAMES):
            raise ValueError(f"ResNet needs 4 stage sizes (C2..C5), got {self.stage_sizes!r}")
        block_cls = BasicBlock if self.block == "basic" else Bottleneck
        x = jnp.asarray(x, self.dtype)
        x = _ConvBN(self.width, 7, 2, bn_momentum=self.bn_momentum, bn_eps=self.bn_eps,
                    dtype=self.dtype, name="stem")(x, train=train)
        x = nn.relu(x)
        x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        taps = {}
        for g, (num_blocks, tap) in enumerate(zip(self.stage_sizes, TAP_NAMES)):
            for b in range(num_blocks):
                # Group 1 (C2) keeps the stem's resolution; later groups halve it.
                stride = 2 if (g > 0 and b == 0) else 1
                x = block_cls(self.width * 2**g, stride, self.zero_init_residual,
                              self.bn_momentum, self.bn_eps, self.dtype,
                              name=f"layer{g + 1}_{b}")(x, train=train)
            taps[tap] = x
        return taps


def resnet(arch: str, *, width: int = 64, dtype: Any = jnp.float32, **kwargs) -> ResNet:
    """Build a named trunk: 'resnet18' | 'resnet34' | 'resnet50' | 'resnet101'.

    ``kwargs`` go to :class:`ResNet` (``name``, ``bn_momentum``, ``zero_init_residual``, ...).
    """
    key = arch.lower()
    if key not in STAGE_SIZES:
        raise ValueError(f"unknown backbone {arch!r}; choose one of {sorted(STAGE_SIZES)}")
    block, sizes = STAGE_SIZES[key]
    return ResNet(stage_sizes=sizes, block=block, width=width, dtype=dtype, **kwargs)


def resnet18(**kwargs) -> ResNet:
    """ResNet-18 (BasicBlock ×(2,2,2,2)); C5 has 8·width channels."""
    return resnet("resnet18", **kwargs)


def resnet34(**kwargs) -> ResNet:
    """ResNet-34 (BasicBlock ×(3,4,6,3)); C5 has 8·width channels."""
    return resnet("resnet34", **kwargs)


def resnet50(**kwargs) -> ResNet:
    """ResNet-50 (Bottleneck ×(3,4,6,3)); C5 has 32·width channels."""
    return resnet("resnet50", **kwargs)


def resnet101(**kwargs) -> ResNet:
    """ResNet-101 (Bottleneck ×(3,4,23,3)); C5 has 32·width channels."""
    return resnet("resnet101", **kwargs)
