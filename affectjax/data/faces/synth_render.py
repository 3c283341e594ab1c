"""Rasterise procedural face parts with Pillow at 2x, then light, blur, noise and compress."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from affectjax.data.faces.synth_geometry import FaceParts, Stroke, pose_warp
from affectjax.data.faces.synth_nuisance import Nuisance

MAX_OCCLUDER_AREA = 0.25  # share of the face box (spec §6.3)


def palette(nz: Nuisance, cue: float) -> dict[str, tuple[int, int, int]]:
    """Colours of one sample; class-cue lines darken with the cue strength."""
    skin = np.array(nz.skin)
    hair = np.array(nz.hair_colour)
    lip = (0.6 * skin + 0.4 * np.array([170.0, 60.0, 70.0])) * 0.9
    cols = {
        "skin": skin,
        "shade": skin * 0.78,
        "nostril": skin * 0.45,
        "cue": skin * (1.0 - 0.5 * min(1.0, 1.5 * cue)),
        "lip": lip,
        "seam": lip * 0.55,
        "cavity": np.array([45.0, 18.0, 22.0]),
        "sclera": np.array([238.0, 236.0, 230.0]),
        "iris": np.array(nz.iris_colour),
        "pupil": np.array([15.0, 12.0, 12.0]),
        "lid": hair * 0.5,
        "brow": hair * 0.75,
        "hair": hair,
        "occluder": np.array(nz.occluder_colour),
    }
    return {k: tuple(int(round(c)) for c in np.clip(v, 0, 255)) for k, v in cols.items()}


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def occluder_polygon(nz: Nuisance, parts: FaceParts) -> np.ndarray | None:
    """Occluder outline in face units, ≤ 25 % of the face box, never over eyes and mouth both."""
    p = nz.occluder_params
    if nz.occluder == "eye_bar":
        x0, y0, x1, y1 = parts.eye_region
        pad = 0.02 + 0.04 * p[0]
        dy = 0.02 * (p[1] - 0.5)
        return np.array(
            [[x0 - pad, y0 + dy], [x1 + pad, y0 + dy], [x1 + pad, y1 + dy], [x0 - pad, y1 + dy]]
        )
    if nz.occluder == "hand":
        cx, cy = -0.1 + 0.2 * p[0], 0.36 + 0.06 * p[1]
        rx, ry = 0.24 + 0.06 * p[2], 0.14 + 0.04 * p[3]
        rot = 0.6 * (p[4] - 0.5)
        t = np.linspace(0.0, 2.0 * np.pi, 20, endpoint=False)
        ex, ey = rx * np.cos(t), ry * np.sin(t)
        return np.stack(
            [
                cx + ex * math.cos(rot) - ey * math.sin(rot),
                cy + ex * math.sin(rot) + ey * math.cos(rot),
            ],
            axis=-1,
        )
    if nz.occluder == "rect":
        for k in range(10):
            a, b, c, d = p[4 * k : 4 * k + 4]
            w, h = 0.15 + 0.45 * a, 0.10 + 0.40 * b
            if w * h > MAX_OCCLUDER_AREA:
                shrink = math.sqrt(MAX_OCCLUDER_AREA / (w * h))
                w, h = w * shrink, h * shrink
            x0, y0 = -0.5 + (1.0 - w) * c, -0.5 + (1.0 - h) * d
            box = (x0, y0, x0 + w, y0 + h)
            if not (_overlaps(box, parts.eye_region) and _overlaps(box, parts.mouth_region)):
                return np.array(
                    [[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]]
                )
        return None  # no candidate fits the rule: leave this face unoccluded
    return None


class _Projector:
    """Face units -> canvas pixels: pseudo-3D warp, face size, roll, position."""

    def __init__(self, nz: Nuisance, canvas: int):
        self.nz = nz
        self.fh = nz.face_height * canvas
        self.fw = self.fh / nz.ratio
        self.c = canvas * (0.5 + np.array([nz.tx, nz.ty]))
        t = math.radians(nz.roll_deg)
        self.rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])

    def __call__(self, pts: np.ndarray, depth: np.ndarray | float = 0.0) -> np.ndarray:
        w = pose_warp(pts, depth, self.nz.yaw, self.nz.pitch) * (self.fw, self.fh)
        return w @ self.rot.T + self.c


def _background(nz: Nuisance, n: int) -> Image.Image:
    c0, c1 = (np.array(c) for c in nz.background_colours)
    if nz.background == "gradient":
        # A linear ramp is exact under bilinear upsampling: build it small, then resize.
        m = 16
        t = (np.arange(m) + 0.5) / m - 0.5
        ang = nz.gradient_angle + 1.0  # independent of the light's direction
        g = np.clip(0.5 + t[None, :] * math.cos(ang) + t[:, None] * math.sin(ang), 0, 1)
        arr = c0 * (1 - g[..., None]) + c1 * g[..., None]
        small = Image.fromarray(np.round(arr).astype(np.uint8), "RGB")
        return small.resize((n, n), Image.Resampling.BILINEAR)
    im = Image.new("RGB", (n, n), tuple(int(v) for v in c0))
    if nz.background == "blobs":
        draw = ImageDraw.Draw(im)
        for cx, cy, rx, ry, *d in nz.blobs:
            col = tuple(int(v) for v in np.clip(c0 + np.array(d), 0, 255))
            draw.ellipse([(cx - rx) * n, (cy - ry) * n, (cx + rx) * n, (cy + ry) * n], fill=col)
    return im


def _draw(draw: ImageDraw.ImageDraw, pts: np.ndarray, stroke: Stroke, col, fw: float) -> None:
    flat = pts.ravel().tolist()
    if stroke.fill:
        draw.polygon(flat, fill=col)
    else:
        draw.line(flat, fill=col, width=max(1, round(stroke.width * fw)), joint="curve")


def render_face(
    parts: FaceParts, nz: Nuisance, cue: float, size: int, scale: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """Draw at `scale`·size, downsample (Lanczos), then light, blur, noise and JPEG.

    Returns (uint8 [size, size, 3], landmarks [68, 2] in output pixels, face box (x, y, w, h)).
    `rng` supplies the sensor noise; it is the sample's nuisance generator, so the image is
    a function of (seed, split, index) alone.
    """
    n = size * scale
    proj = _Projector(nz, n)
    cols = palette(nz, cue)
    im = _background(nz, n)
    draw = ImageDraw.Draw(im)
    # One projection for every point of every stroke: the per-call numpy overhead dominates.
    pts = np.concatenate([s.points for s in parts.strokes])
    depth = np.concatenate(
        [np.zeros(len(s.points)) if s.depth is None else s.depth for s in parts.strokes]
    )
    bounds = np.cumsum([len(s.points) for s in parts.strokes])[:-1]
    for s, p in zip(parts.strokes, np.split(proj(pts, depth), bounds)):
        _draw(draw, p, s, cols[s.colour], proj.fw)
    occ = occluder_polygon(nz, parts)
    if occ is not None:
        draw.polygon(proj(occ).ravel().tolist(), fill=cols["occluder"])
    im = im.resize((size, size), Image.Resampling.LANCZOS)

    x = np.asarray(im, np.float32) * (1.0 / 255.0)
    t = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    proj_light = math.cos(nz.gradient_angle) * t[None, :] + math.sin(nz.gradient_angle) * t[:, None]
    x = np.clip(x * (nz.gain * (1.0 + nz.gradient * proj_light))[..., None], 0.0, 1.0) ** nz.gamma
    sigma = nz.blur_sigma * size / 96.0
    if sigma > 0.05:
        x = ndimage.gaussian_filter(x, sigma=(sigma, sigma, 0), mode="nearest")
    x = x + rng.standard_normal(x.shape, dtype=np.float32) * np.float32(nz.noise_sigma)
    img = np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)
    if nz.jpeg_quality is not None:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=nz.jpeg_quality)
        buf.seek(0)
        img = np.array(Image.open(buf).convert("RGB"))

    landmarks = (proj(parts.landmarks, parts.landmark_depth) / scale).astype(np.float32)
    o = proj(parts.outline) / scale
    x0, y0 = o.min(axis=0)
    x1, y1 = o.max(axis=0)
    return img, landmarks, (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
