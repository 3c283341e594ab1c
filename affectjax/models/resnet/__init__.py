"""ResNet v1.5 trunks (18/34/50/101) returning the C2–C5 taps, and torchvision weight import."""

from affectjax.models.resnet.convert import (
    check_compatible,
    flax_to_torchvision,
    load_torchvision_npz,
    torchvision_to_flax,
)
from affectjax.models.resnet.resnet import (
    STAGE_SIZES,
    TAP_NAMES,
    BasicBlock,
    Bottleneck,
    ResNet,
    resnet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
)

__all__ = [
    "STAGE_SIZES",
    "TAP_NAMES",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "check_compatible",
    "flax_to_torchvision",
    "load_torchvision_npz",
    "torchvision_to_flax",
]
