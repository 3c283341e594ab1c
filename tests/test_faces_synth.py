"""Procedural face generator: determinism, V/A ranges, class-region consistency, knobs."""

import dataclasses

import numpy as np
import pytest

from affectjax.data import faces as F
from affectjax.data.faces import synth_affect as SA
from affectjax.data.faces import synth_geometry as SG
from affectjax.data.faces import synth_nuisance as SN
from affectjax.data.faces import synth_render as SR

CFG = F.FaceGenConfig(seed=11, image_size=32, sizes="tiny")


@pytest.fixture(scope="module")
def batch():
    return [F.generate_face(CFG, "train", i) for i in range(160)]


def test_same_seed_and_index_same_sample():
    a, b = F.generate_face(CFG, "dev", 17), F.generate_face(CFG, "dev", 17)
    np.testing.assert_array_equal(a.image, b.image)
    assert (a.label, a.valence, a.arousal, a.face_box) == (
        b.label,
        b.valence,
        b.arousal,
        b.face_box,
    )
    assert a.latent == b.latent
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    # Random access: order of generation does not matter.
    src = F.SyntheticFaces(CFG, "dev")
    np.testing.assert_array_equal(src[17]["image"], a.image)
    c = F.generate_face(CFG, "dev", 18)
    other_seed = F.generate_face(dataclasses.replace(CFG, seed=12), "dev", 17)
    other_split = F.generate_face(CFG, "test", 17)
    for x in (c, other_seed, other_split):
        assert not np.array_equal(x.image, a.image)


def test_image_statistics(batch):
    for s in batch[:20]:
        assert s.image.shape == (32, 32, 3) and s.image.dtype == np.uint8
        assert s.image.std() > 5  # a face on a background, not a flat canvas
        assert s.landmarks.shape == (68, 2) and s.landmarks.dtype == np.float32
        x, y, w, h = s.face_box
        assert w > 0 and h > 0
        inside = (s.landmarks[:, 0] > x - 1) & (s.landmarks[:, 0] < x + w + 1)
        assert inside.all()


def test_va_ranges_and_class_regions(batch):
    for s in batch:
        aff = s.affect
        assert -1.0 <= s.valence <= 1.0 and -1.0 <= s.arousal <= 1.0
        rho = np.hypot(aff.valence_true, aff.arousal_true)
        if aff.true_label == 0:
            assert rho < SA.NEUTRAL_RADIUS
        else:
            assert SA.RHO_RANGE[0] <= rho <= SA.RHO_RANGE[1] + 1e-9
        assert F.class_from_va(aff.valence_true, aff.arousal_true) == aff.true_label
        assert s.label == aff.true_label  # label_noise = 0
        assert abs(s.valence - aff.valence_true) < 5 * CFG.va_noise
    labels = {s.label for s in batch}
    assert labels == set(range(8))


def test_class_from_va_sectors():
    assert F.class_from_va(0.05, 0.05) == 0  # neutral disc
    names = {  # angle in degrees -> class
        0: "happy",
        -59: "happy",
        29.9: "happy",
        30: "surprise",
        79: "surprise",
        80: "fear",
        120: "anger",
        150: "disgust",
        180: "contempt",
        189.9: "contempt",
        190: "sad",
        270: "sad",
        299: "sad",
    }
    ang = np.radians(np.array(list(names)))
    got = F.class_from_va(0.7 * np.cos(ang), 0.7 * np.sin(ang))
    assert [F.AFFECTNET8[c] for c in got] == list(names.values())


def test_reported_va_matches_sector_mostly(batch):
    reported = F.class_from_va([s.valence for s in batch], [s.arousal for s in batch])
    agree = np.mean(reported == np.array([s.label for s in batch]))
    assert agree > 0.8  # noise 0.05 only moves points near sector edges


def test_label_noise_changes_labels_not_images():
    noisy = dataclasses.replace(CFG, label_noise=1.0, va_noise=0.2)
    for i in range(6):
        a, b = F.generate_face(CFG, "train", i), F.generate_face(noisy, "train", i)
        assert b.label != b.affect.true_label and a.affect.true_label == b.affect.true_label
        np.testing.assert_array_equal(a.image, b.image)


def test_priors():
    rng = np.random.default_rng(0)
    p = SA.class_prior("affectnet", 8)
    labels = [SA.sample_affect(rng, p).label for _ in range(600)]
    counts = np.bincount(labels, minlength=8)
    assert counts.argmax() == F.AFFECTNET8.index("happy")
    assert SA.class_prior("balanced", 7).tolist() == pytest.approx([1 / 7] * 7)
    seven = dataclasses.replace(CFG, num_classes=7)
    assert all(F.generate_face(seven, "train", i).label < 7 for i in range(30))


def test_expression_geometry_follows_va():
    """Spec §6.3 mappings, checked on landmarks in face units (no pose)."""

    def face(label, v, a, rho, strength=1.0):
        e = SG.expression_params(label, v, a, rho, strength)
        return e, SG.build_face(e, ratio=1.3, eye_spacing=1.0, gaze=(0, 0), hair="none").landmarks

    _, happy = face(1, 0.9, 0.1, 0.9)
    _, sad = face(2, -0.7, -0.5, 0.86)
    e_sur, surprise = face(3, 0.3, 0.9, 0.95)
    e_ang, anger = face(6, -0.5, 0.7, 0.86)
    # Mouth corners (48, 54) above the lip midline centre for positive valence, below for negative.
    centre = lambda lm: 0.5 * (lm[62, 1] + lm[66, 1])  # noqa: E731
    assert happy[48, 1] < centre(happy) and sad[48, 1] > centre(sad)
    # Mouth opening grows with arousal; anger presses the lips.
    gap = lambda lm: lm[66, 1] - lm[62, 1]  # noqa: E731
    assert gap(surprise) > 3 * gap(happy) and gap(anger) < gap(surprise) / 4
    # Eye opening (37/41 lids) grows with arousal; brows rise with arousal.
    eye = lambda lm: lm[41, 1] - lm[37, 1]  # noqa: E731
    assert eye(surprise) > eye(sad)
    assert surprise[19, 1] < sad[19, 1]
    # Anger tilts the inner brow ends (21, 22) down relative to the outer ends (17, 26).
    assert anger[21, 1] - anger[17, 1] > 0.02
    assert e_sur.mouth_round == 1.0 and e_ang.brow_tilt > 0


def test_expression_strength_knob():
    zero = [
        SG.expression_params(c, v, a, r, 0.0)
        for c, v, a, r in [
            (1, 0.9, 0.1, 0.9),
            (2, -0.7, -0.5, 0.86),
            (3, 0.2, 0.9, 0.9),
            (7, -0.9, 0.0, 0.9),
        ]
    ]
    geo = {
        (
            e.mouth_curvature,
            e.mouth_opening,
            e.mouth_width,
            e.mouth_round,
            e.eye_opening,
            e.brow_raise,
            e.brow_tilt,
            e.cue,
        )
        for e in zero
    }
    assert len(geo) == 1  # every class draws the same neutral face at strength 0
    weak = SG.expression_params(1, 0.9, 0.1, 0.9, 0.5)
    full = SG.expression_params(1, 0.9, 0.1, 0.9, 1.0)
    assert 0 < weak.mouth_curvature < full.mouth_curvature
    cfg0 = dataclasses.replace(CFG, expression_strength=0.0)
    a, b = F.generate_face(cfg0, "train", 0), F.generate_face(CFG, "train", 0)
    assert a.label == b.label and not np.array_equal(a.image, b.image)


def test_shifted_split_is_harder():
    rng = np.random.default_rng(0)
    base = [SN.sample_nuisance(rng, SN.DEFAULT_RANGES) for _ in range(300)]
    shifted = [SN.sample_nuisance(rng, SN.SHIFTED_RANGES) for _ in range(300)]
    assert max(abs(n.roll_deg) for n in base) <= 20 < max(abs(n.roll_deg) for n in shifted)
    assert max(abs(n.yaw) for n in base) <= 0.3 < max(abs(n.yaw) for n in shifted)
    occ = lambda ns: np.mean([n.occluder != "none" for n in ns])  # noqa: E731
    assert occ(base) < occ(shifted)
    assert 0.15 < occ(base) < 0.35 and 0.4 < occ(shifted) < 0.6


def test_occluders_respect_rules():
    rng = np.random.default_rng(1)
    e = SG.expression_params(3, 0.2, 0.9, 0.9)
    parts = SG.build_face(e, ratio=1.3, eye_spacing=1.0, gaze=(0, 0), hair="cap")
    kinds = set()
    for _ in range(300):
        nz = dataclasses.replace(SN.sample_nuisance(rng), occluder=SN.OCCLUDERS[rng.integers(3)])
        poly = SR.occluder_polygon(nz, parts)
        if poly is None:
            continue
        kinds.add(nz.occluder)
        x0, y0 = poly.min(axis=0)
        x1, y1 = poly.max(axis=0)
        assert (x1 - x0) * (y1 - y0) <= SR.MAX_OCCLUDER_AREA + 1e-9  # face box area is 1
        box = (x0, y0, x1, y1)
        assert not (SR._overlaps(box, parts.eye_region) and SR._overlaps(box, parts.mouth_region))
    assert kinds == set(SN.OCCLUDERS)


def test_source_and_arrays():
    src = F.SyntheticFaces(CFG, "train", with_geometry=True)
    assert len(src) == F.SPLIT_SIZES["tiny"]["train"] == 512
    assert len(F.SyntheticFaces(dataclasses.replace(CFG, sizes="default"), "test")) == 5000
    e = src[3]
    assert set(e) == {"image", "label", "va", "va_mask", "index", "face_box", "landmarks"}
    assert e["va"].dtype == np.float32 and e["label"].dtype == np.int32
    arr = F.generate_arrays(CFG, "train", range(3, 5))
    np.testing.assert_array_equal(arr["image"][0], e["image"])
    assert arr["va"].shape == (2, 2) and arr["landmarks"].shape == (2, 68, 2)
    with pytest.raises(IndexError):
        src[512]
    with pytest.raises(ValueError, match="split"):
        F.SyntheticFaces(CFG, "validation")
