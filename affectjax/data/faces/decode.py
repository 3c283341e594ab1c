"""Image decoding with Pillow to uint8 HWC RGB, with named errors for unusable files."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from affectjax.data.faces.errors import FaceDataError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})

# Modes Pillow can turn into 8-bit grey or RGB without losing meaning. Alpha-bearing and
# 16/32-bit modes are refused rather than guessed at: the spec's input is 8-bit RGB (§2).
_GREY_MODES = frozenset({"1", "L"})
_COLOUR_MODES = frozenset({"RGB", "P", "CMYK", "YCbCr"})
_ALPHA_MODES = {"LA": 2, "La": 2, "PA": 2, "RGBA": 4, "RGBa": 4}


def check_mode(mode: str, where: str) -> None:
    """Raise `FaceDataError` unless `mode` decodes to 1 (grey) or 3 (RGB) 8-bit channels."""
    if mode in _GREY_MODES or mode in _COLOUR_MODES:
        return
    if mode in _ALPHA_MODES:
        raise FaceDataError(
            where,
            f"wrong channel count: {_ALPHA_MODES[mode]} channels (PIL mode {mode}, with alpha); "
            "expected 1 (grey) or 3 (RGB)",
        )
    raise FaceDataError(
        where, f"unsupported pixel format (PIL mode {mode}); expected 8-bit grey or RGB"
    )


def open_image(path: str | os.PathLike, *, full: bool = True) -> Image.Image:
    """Open an image file, checking it is an image with 1 or 3 channels.

    With `full=True` the pixels are decoded (catches truncated files); with `full=False` only
    the header is read (format, size, mode), which is what readers use to vet many files fast.
    The returned image is in mode 'L' or 'RGB' when `full`, else as stored.
    """
    where = os.fspath(path)
    try:
        im = Image.open(where)
    except FileNotFoundError:
        raise FaceDataError(where, "image file not found") from None
    except IsADirectoryError:
        raise FaceDataError(where, "is a directory, not an image file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise FaceDataError(where, f"not a readable image ({type(e).__name__}: {e})") from None
    try:
        check_mode(im.mode, where)
        if im.width < 1 or im.height < 1:
            raise FaceDataError(where, f"empty image ({im.width}x{im.height})")
        if not full:
            return im
        try:
            im.load()
        except (OSError, SyntaxError, ValueError) as e:
            raise FaceDataError(where, f"corrupt image data ({type(e).__name__}: {e})") from None
        if im.mode in _GREY_MODES:
            return im if im.mode == "L" else im.convert("L")
        return im if im.mode == "RGB" else im.convert("RGB")
    except BaseException:
        im.close()
        raise


def to_rgb_uint8(array: np.ndarray, where: str = "<array>") -> np.ndarray:
    """Return `array` as uint8 [H, W, 3]: grey ([H, W] or [H, W, 1]) is replicated to 3 channels.

    Spec §6.2: grey images are replicated to 3 channels. Other channel counts and non-uint8
    data raise `FaceDataError`.
    """
    a = np.asarray(array)
    if a.dtype != np.uint8:
        raise FaceDataError(where, f"expected uint8 pixels, got dtype {a.dtype}")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise FaceDataError(where, f"expected an [H, W] or [H, W, C] image, got shape {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise FaceDataError(where, f"empty image (shape {a.shape})")
    if a.shape[2] == 1:
        return np.repeat(a, 3, axis=2)
    if a.shape[2] == 3:
        return a
    raise FaceDataError(
        where, f"wrong channel count: {a.shape[2]} channels; expected 1 (grey) or 3 (RGB)"
    )


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to uint8 [H, W, 3] (grey replicated); errors name the file."""
    with open_image(path) as im:
        # np.array, not asarray: arrays over Pillow's buffer are read-only, and callers
        # (augmentation, batching) may write in place.
        return to_rgb_uint8(np.array(im), os.fspath(path))
