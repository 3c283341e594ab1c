"""Training augmentation for face crops as pure functions of (uint8 HWC image, numpy Generator)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from PIL import Image, ImageEnhance

# Fill for erased boxes: the ImageNet mean colour. torchvision's RandomErasing (used by
# [related-code: CAGE]) writes 0 after normalisation, which is exactly this colour before it.
IMAGENET_MEAN_UINT8 = (124, 116, 104)

# ITU-R 601 luma, as Pillow's and torchvision's grayscale conversions.
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Augmentation knobs; defaults are spec §5 [related-code: CAGE, EmoNet].

    Flip p 0.5, rotation ±10°, scale 0.9-1.1, translation ±5 %, colour jitter
    (brightness/contrast/saturation 0.2, hue 0.1), grayscale p 0.01, random erasing p 0.5
    (area 0.02-0.2, aspect 0.3-3.3). No vertical flips.
    """

    hflip_p: float = 0.5
    rotate_deg: float = 10.0
    scale: tuple[float, float] = (0.9, 1.1)
    translate: float = 0.05
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    hue: float = 0.1
    grayscale_p: float = 0.01
    erase_p: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.2)
    erase_aspect: tuple[float, float] = (0.3, 3.3)
    erase_value: tuple[int, int, int] = IMAGENET_MEAN_UINT8


def _check(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 [H, W, 3] image, got {image.dtype} {image.shape}")


DEFAULT_AUGMENT = AugmentConfig()


def hflip(image: np.ndarray) -> np.ndarray:
    """Mirror left-right (labels unchanged: expressions are near-symmetric)."""
    return np.ascontiguousarray(image[:, ::-1])


def affine(
    image: np.ndarray, angle_deg: float, scale: float, shift: tuple[float, float]
) -> np.ndarray:
    """Rotate by `angle_deg`, scale and shift (pixels, x then y) about the image centre.

    Bilinear; pixels from outside the image are 0, as the crop's padding (spec §6.1).
    """
    h, w = image.shape[:2]
    cx, cy = w / 2.0, h / 2.0  # Pillow samples at pixel centres, so the centre is (w/2, h/2)
    t = math.radians(angle_deg)
    cos, sin = math.cos(t) / scale, math.sin(t) / scale
    # Pillow wants the inverse map, output (x, y) -> input; y points down, hence the signs.
    dx, dy = shift
    a, b = cos, -sin
    d, e = sin, cos
    c = cx - a * (cx + dx) - b * (cy + dy)
    f = cy - d * (cx + dx) - e * (cy + dy)
    out = Image.fromarray(image).transform(
        (w, h),
        Image.Transform.AFFINE,
        (a, b, c, d, e, f),
        Image.Resampling.BILINEAR,
        fillcolor=(0, 0, 0),
    )
    return np.array(out)


def random_affine(
    image: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = DEFAULT_AUGMENT
) -> np.ndarray:
    """Rotation ±cfg.rotate_deg, scale in cfg.scale, translation ±cfg.translate of the size."""
    h, w = image.shape[:2]
    angle = rng.uniform(-cfg.rotate_deg, cfg.rotate_deg)
    scale = rng.uniform(*cfg.scale)
    shift = rng.uniform(-cfg.translate, cfg.translate, size=2) * (w, h)
    if angle == 0.0 and scale == 1.0 and not shift.any():
        return image
    return affine(image, angle, scale, (float(shift[0]), float(shift[1])))


def _grey(x: np.ndarray) -> np.ndarray:
    return x @ _LUMA


def adjust_hue(image: np.ndarray, shift: float) -> np.ndarray:
    """Rotate hue by `shift` of a full turn (in [-0.5, 0.5]) via Pillow's HSV."""
    return np.array(_hue(Image.fromarray(image), shift))


def _hue(im: Image.Image, shift: float) -> Image.Image:
    # A 256-entry lookup table on the H band keeps the whole rotation inside Pillow's C code.
    k = round(shift * 255)
    h, s, v = im.convert("HSV").split()
    h = h.point([(i + k) % 256 for i in range(256)])
    return Image.merge("HSV", (h, s, v)).convert("RGB")


def color_jitter(
    image: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = DEFAULT_AUGMENT
) -> np.ndarray:
    """Brightness, contrast, saturation and hue jitter in random order.

    The same operations as torchvision's ColorJitter on PIL images ([related-code: CAGE]
    pipeline): Pillow's ImageEnhance blends (contrast about the mean grey level, saturation
    against the grey image) and a hue rotation in HSV, rounding to uint8 between steps.
    Pillow does these in C, ~10x faster than float numpy at 224 px.
    """
    order = rng.permutation(4)
    factors = [
        rng.uniform(max(0.0, 1 - cfg.brightness), 1 + cfg.brightness),
        rng.uniform(max(0.0, 1 - cfg.contrast), 1 + cfg.contrast),
        rng.uniform(max(0.0, 1 - cfg.saturation), 1 + cfg.saturation),
        rng.uniform(-cfg.hue, cfg.hue),
    ]
    im = Image.fromarray(image)
    for op in order:
        f = factors[op]
        if op == 3:
            if f != 0.0:
                im = _hue(im, f)
        elif f != 1.0:
            enhancer = (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color)[op]
            im = enhancer(im).enhance(f)
    return np.array(im)


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Luma replicated to 3 channels (the model always sees RGB)."""
    g = np.round(_grey(image.astype(np.float32))).clip(0, 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def random_erasing(
    image: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = DEFAULT_AUGMENT
) -> np.ndarray:
    """Fill one random box (area share in cfg.erase_area, log-uniform aspect) with a colour.

    torchvision's algorithm: up to 10 tries to fit the box, else leave the image as is.
    The caller has already decided (with probability cfg.erase_p) that erasing happens.
    """
    h, w = image.shape[:2]
    log_lo, log_hi = math.log(cfg.erase_aspect[0]), math.log(cfg.erase_aspect[1])
    for _ in range(10):
        area = rng.uniform(*cfg.erase_area) * h * w
        aspect = math.exp(rng.uniform(log_lo, log_hi))
        eh, ew = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < eh < h and 0 < ew < w:
            top, left = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
            out = image.copy()
            out[top : top + eh, left : left + ew] = cfg.erase_value
            return out
    return image


def augment_image(
    image: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = DEFAULT_AUGMENT
) -> np.ndarray:
    """Full train-time chain: flip, affine, colour jitter, grayscale, erasing.

    Same shape and dtype out as in (uint8 [H, W, 3]); deterministic given the generator
    state, so grain's per-element seeds make it reproducible.
    """
    _check(image)
    if rng.random() < cfg.hflip_p:
        image = hflip(image)
    image = random_affine(image, rng, cfg)
    image = color_jitter(image, rng, cfg)
    if rng.random() < cfg.grayscale_p:
        image = to_grayscale(image)
    if rng.random() < cfg.erase_p:
        image = random_erasing(image, rng, cfg)
    return image
