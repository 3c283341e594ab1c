"""Procedural face geometry: expression parameters -> parts and 68 landmarks in face units.

Face units: x across the face width, y down the face height, both in [-0.5, 0.5] for the
face oval (forehead top to chin). Vertical sizes that should scale with the width (eyes,
lips) are multiplied by `1 / ratio` (ratio = face height / width). Coefficients follow the
spec §6.3 table; the unit lengths they scale are [our choice], tuned by eye.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from affectjax.data.faces.labels import AFFECTNET8

_ANGRYISH = {"anger", "disgust", "contempt"}
_SADISH = {"sad", "fear"}


@dataclasses.dataclass(frozen=True)
class Expression:
    """Geometric expression parameters (spec §6.3 table), already scaled by strength."""

    mouth_curvature: float
    mouth_opening: float
    mouth_width: float
    mouth_round: float  # 0 = normal lips, 1 = round "O" (Surprise/Fear)
    eye_opening: float
    brow_raise: float
    brow_tilt: float  # > 0: inner ends down
    cue: float  # strength of the class cue, ρ·strength (0 for Neutral)
    cue_class: str
    contempt_side: int  # -1: image-left corner raised, +1: image-right


def expression_params(
    label: int,
    valence: float,
    arousal: float,
    rho: float,
    strength: float = 1.0,
    contempt_side: int = 1,
) -> Expression:
    """Map class and noise-free (V, A, ρ) to geometry; `strength` scales every deviation.

    strength 1 is the spec's table; 0 gives the same neutral face for every class (labels
    then cannot be read from the image), values > 1 exaggerate.
    """
    name = AFFECTNET8[label]
    s = float(strength)
    v, a = float(valence), float(arousal)
    cue = 0.0 if name == "neutral" else rho * s
    width = 0.40 + s * (0.10 * max(0.0, v) - 0.05 * max(0.0, -v))
    opening = 0.05 + s * 0.45 * max(0.0, a)
    eye = float(np.clip(0.45 + s * 0.35 * a, 0.1, 0.9))
    tilt = 0.0
    if name in _ANGRYISH:
        tilt = 0.5 * cue
    elif name in _SADISH:
        tilt = -0.4 * cue
    if name == "happy":
        eye -= 0.15 * cue  # squint
    if name == "fear":
        width += 0.10 * cue  # lips stretched sideways
    if name == "anger":
        opening *= 1.0 - 0.9 * min(1.0, 1.5 * cue)  # pressed lips
    round_w = min(1.0, 1.5 * cue) if name in ("surprise", "fear") else 0.0
    return Expression(
        mouth_curvature=0.9 * v * s,
        mouth_opening=opening,
        mouth_width=width,
        mouth_round=round_w,
        eye_opening=max(0.05, eye),
        brow_raise=0.25 * a * s,
        brow_tilt=tilt,
        cue=cue,
        cue_class=name,
        contempt_side=1 if contempt_side >= 0 else -1,
    )


@dataclasses.dataclass
class Stroke:
    """A polygon (filled) or polyline in face units; `colour` names a palette entry."""

    points: np.ndarray  # [n, 2]
    colour: str
    fill: bool = True
    width: float = 0.0  # polyline width in face-width units
    depth: np.ndarray | None = None  # per-point protrusion for the pseudo-3D pose


@dataclasses.dataclass
class FaceParts:
    """Everything to draw, back to front, plus the 68 landmarks and their depths."""

    outline: np.ndarray
    strokes: list[Stroke]
    landmarks: np.ndarray  # [68, 2], iBUG order
    landmark_depth: np.ndarray  # [68]
    eye_region: tuple[float, float, float, float]  # x0, y0, x1, y1 (for occluder rules)
    mouth_region: tuple[float, float, float, float]


def _outline_point(angle: np.ndarray) -> np.ndarray:
    # An ellipse whose lower half narrows toward the chin.
    s = np.sin(angle)
    taper = 1.0 - 0.18 * np.maximum(0.0, s) ** 2
    return np.stack([0.5 * np.cos(angle) * taper, 0.5 * s], axis=-1)


def _poly(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    return np.stack([xs, ys], axis=-1)


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 14) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return _poly(cx + rx * np.cos(t), cy + ry * np.sin(t))


def build_face(
    expr: Expression,
    *,
    ratio: float,
    eye_spacing: float,
    gaze: tuple[float, float],
    hair: str,
) -> FaceParts:
    """Build the face parts for one expression and identity (no pose, no colour)."""
    yx = 1.0 / ratio
    strokes: list[Stroke] = []
    lm = np.zeros((68, 2))
    depth = np.zeros(68)

    outline = _outline_point(np.linspace(0.0, 2.0 * np.pi, 64, endpoint=False))
    if hair == "cap":
        back = _outline_point(np.linspace(np.pi - 0.35, 2.0 * np.pi + 0.35, 24)) * (1.1, 1.12)
        strokes.append(Stroke(back, "hair"))
    strokes.append(Stroke(outline, "skin"))
    if hair in ("cap", "band"):
        hairline = -0.30 if hair == "cap" else -0.40
        top = outline[outline[:, 1] < hairline]
        top = top[np.argsort(np.arctan2(top[:, 1], top[:, 0]))]
        strokes.append(Stroke(top, "hair"))

    # Jaw 0-16: from the image-left side above the eye line, round the chin, to the right.
    lm[0:17] = _outline_point(np.linspace(np.pi + 0.2, -0.2, 17))

    # Brows 17-21 (image left, outer -> inner) and 22-26 (image right, inner -> outer).
    ex = 0.19 * eye_spacing
    u = np.linspace(-1.0, 1.0, 5)
    uu = np.linspace(-1.0, 1.0, 15)
    base = -0.20 - 0.15 * expr.brow_raise
    for side in (-1, 1):
        inner = -side * uu  # +1 at the inner end
        xs = side * ex + uu * 0.12
        mid = base - 0.025 * (1.0 - uu**2) + expr.brow_tilt * 0.06 * inner
        half = 0.5 * 0.032 * (0.55 + 0.45 * (inner + 1.0) / 2.0)  # thicker at the inner end
        strokes.append(
            Stroke(np.concatenate([_poly(xs, mid - half), _poly(xs, mid + half)[::-1]]), "brow")
        )
        pts = np.interp(u, uu, mid)
        sl = slice(17, 22) if side == -1 else slice(22, 27)
        lm[sl] = _poly(side * ex + u * 0.12, pts)

    # Nose 27-35.
    lm[27:31] = _poly(np.zeros(4), np.array([-0.09, -0.03, 0.03, 0.09]))
    lm[31:36] = _poly(
        np.array([-0.075, -0.04, 0.0, 0.04, 0.075]), np.array([0.125, 0.14, 0.15, 0.14, 0.125])
    )
    depth[27:31] = (0.04, 0.07, 0.10, 0.14)
    depth[31:36] = (0.08, 0.10, 0.11, 0.10, 0.08)
    strokes.append(
        Stroke(lm[31:36].copy(), "shade", fill=False, width=0.018, depth=depth[31:36].copy())
    )
    for side in (-1, 1):
        strokes.append(
            Stroke(_ellipse(side * 0.04, 0.133, 0.018, 0.010, 8), "nostril", depth=np.full(8, 0.1))
        )
    strokes.append(
        Stroke(
            _poly(np.array([-0.03, -0.045, -0.05]), np.array([-0.06, 0.03, 0.10])),
            "shade",
            fill=False,
            width=0.012,
            depth=np.array([0.05, 0.09, 0.12]),
        )
    )

    # Eyes 36-41 (image left) and 42-47 (image right).
    ew = 0.095
    eye_h = 0.8 * expr.eye_opening * 2.0 * ew * yx
    droop = 0.35 * ew * yx * expr.cue if expr.cue_class == "sad" else 0.0
    ey = -0.06
    ue = np.linspace(-1.0, 1.0, 17)
    for side in (-1, 1):
        cx = side * ex
        outer = side * ue  # +1 at the outer corner
        d = droop * np.maximum(0.0, outer) ** 2
        prof = np.sqrt(np.clip(1.0 - ue**2, 0.0, 1.0))
        upper = ey - 0.55 * eye_h * prof**1.2 + d
        lower = ey + 0.45 * eye_h * prof**1.6 + d
        xs = cx + ue * ew
        strokes.append(
            Stroke(np.concatenate([_poly(xs, upper), _poly(xs, lower)[::-1][1:-1]]), "sclera")
        )
        iris_r = 0.42 * ew
        icx = cx + gaze[0] * ew
        icy = 0.5 * (upper[8] + lower[8]) + gaze[1] * eye_h * 0.2
        iry = min(iris_r * yx, 0.5 * (lower[8] - upper[8]))
        strokes.append(Stroke(_ellipse(icx, icy, iris_r, iry), "iris"))
        strokes.append(Stroke(_ellipse(icx, icy, 0.4 * iris_r, 0.4 * iry, 10), "pupil"))
        strokes.append(Stroke(_poly(xs, upper), "lid", fill=False, width=0.016))
        q = np.array([-1.0, -0.4, 0.4, 1.0, 0.4, -0.4])
        ys = np.concatenate([np.interp(q[:4], ue, upper), np.interp(q[4:], ue, lower)])
        sl = slice(36, 42) if side == -1 else slice(42, 48)
        lm[sl] = _poly(cx + q * ew, ys)
    eye_region = (-ex - ew - 0.01, ey - 0.06, ex + ew + 0.01, ey + 0.05)

    # Mouth 48-67.
    W = expr.mouth_width * (
        1.0 - (0.35 * expr.mouth_round if expr.cue_class == "surprise" else 0.0)
    )
    ym = 0.27
    um = np.linspace(-1.0, 1.0, 25)
    mid = ym - expr.mouth_curvature * 0.20 * W * yx * um**2
    if expr.cue_class == "contempt":
        mid = mid - 0.15 * W * yx * expr.cue * np.maximum(0.0, expr.contempt_side * um) ** 2
    base_prof = 1.0 - um**2
    prof = (1.0 - expr.mouth_round) * base_prof + expr.mouth_round * np.sqrt(
        np.clip(base_prof, 0, 1)
    )
    # Height from the unshrunk width: the Surprise "O" gets narrower, not flatter.
    h_open = expr.mouth_opening * 0.6 * expr.mouth_width * yx
    lift = 0.10 * W * yx * expr.cue * base_prof if expr.cue_class == "disgust" else 0.0
    press = min(1.0, 1.5 * expr.cue) if expr.cue_class == "anger" else 0.0
    in_up = mid - 0.5 * h_open * prof - lift
    in_lo = mid + 0.5 * h_open * prof
    t_u = 0.10 * W * yx * (1.0 - 0.7 * press)
    t_l = 0.13 * W * yx * (1.0 - 0.7 * press)
    edge = np.sqrt(np.clip(base_prof, 0.0, 1.0))
    out_up = in_up - t_u * edge + 0.3 * t_u * np.exp(-((um / 0.18) ** 2))  # Cupid's bow
    out_lo = in_lo + t_l * edge
    xm = um * W / 2.0
    strokes.append(
        Stroke(np.concatenate([_poly(xm, out_up), _poly(xm, out_lo)[::-1][1:-1]]), "lip")
    )
    strokes.append(
        Stroke(np.concatenate([_poly(xm, in_up), _poly(xm, in_lo)[::-1][1:-1]]), "cavity")
    )
    strokes.append(Stroke(_poly(xm, mid - 0.5 * lift), "seam", fill=False, width=0.010))

    def on(arr: np.ndarray, q: np.ndarray) -> np.ndarray:
        return _poly(q * W / 2.0, np.interp(q, um, arr))

    lm[48] = (-W / 2.0, mid[0])
    lm[49:54] = on(out_up, np.array([-2, -1, 0, 1, 2]) / 3.0)
    lm[54] = (W / 2.0, mid[-1])
    lm[55:60] = on(out_lo, np.array([2, 1, 0, -1, -2]) / 3.0)
    lm[60] = on(mid, np.array([-0.9]))[0]
    lm[61:64] = on(in_up, np.array([-0.45, 0.0, 0.45]))
    lm[64] = on(mid, np.array([0.9]))[0]
    lm[65:68] = on(in_lo, np.array([0.45, 0.0, -0.45]))
    mouth_region = (-W / 2.0, float(out_up.min()), W / 2.0, float(out_lo.max()))

    # Class cues drawn as skin-shade lines, darker with the cue strength.
    if expr.cue_class == "happy":
        for side in (-1, 1):
            t = np.linspace(0.0, 1.0, 9)[:, None]
            p0 = np.array([side * 0.085, 0.11])
            p1 = np.array([side * 0.21, 0.18])
            p2 = np.array([side * (W / 2.0 + 0.035), mid[0] + 0.03])
            curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
            strokes.append(Stroke(curve, "cue", fill=False, width=0.014))
    elif expr.cue_class == "disgust":
        for side in (-1, 1):
            for k in range(3):
                x0 = side * (0.04 + 0.012 * k)
                y0 = -0.055 + 0.025 * k
                seg = np.array([[x0, y0], [x0 + side * 0.035, y0 + 0.018]])
                strokes.append(Stroke(seg, "cue", fill=False, width=0.010))

    return FaceParts(outline, strokes, lm, depth, eye_region, mouth_region)


def pose_warp(
    points: np.ndarray, depth: np.ndarray | float, yaw: float, pitch: float
) -> np.ndarray:
    """Pseudo-3D pose in face units: features shift sideways, the far half is compressed.

    x' = x + 2·yaw·(0.25 - x²) (+ depth·yaw): the outline (|x| = 0.5) stays put, the centre
    moves by yaw/2, and the slope 1 - 4·yaw·x compresses the half the face turns toward.
    Pitch does the same vertically. Monotone for |yaw|, |pitch| ≤ 0.5 [our choice].
    """
    p = np.asarray(points, np.float64)
    x, y = p[..., 0], p[..., 1]
    x2 = x + 2.0 * yaw * np.maximum(0.0, 0.25 - x**2) + depth * yaw
    y2 = y + 2.0 * pitch * np.maximum(0.0, 0.25 - y**2) + depth * pitch
    return np.stack([x2, y2], axis=-1)
