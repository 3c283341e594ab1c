"""Face readers on generated fixtures: AffectNet (filtering, crop geometry) and FER2013 layouts."""

import csv
import os

import numpy as np
import pytest
from PIL import Image

from affectjax.data import faces as F
from affectjax.data.faces import labels
from affectjax.data.faces.affectnet import AFFECTNET_COLUMNS


@pytest.fixture(scope="module")
def affectnet(tmp_path_factory):
    return F.write_affectnet_fixture(tmp_path_factory.mktemp("affectnet"), 28, seed=3)


@pytest.fixture(scope="module")
def fer(tmp_path_factory):
    return F.write_fer2013_fixture(tmp_path_factory.mktemp("fer"), 40, seed=4)


def _csv_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_affectnet_reader_filters_and_matches_csv(affectnet):
    rows = _csv_rows(affectnet["training_csv"])
    header, body = rows[0], rows[1:]
    assert tuple(header) == AFFECTNET_COLUMNS
    codes = [int(r[6]) for r in body]
    fs = F.read_affectnet_csv(affectnet["training_csv"], affectnet["images"])
    kept = [r for r in body if int(r[6]) <= 7]
    assert len(fs) == len(kept)
    assert sum(fs.filtered.values()) == sum(c >= 8 for c in codes) >= 3
    assert all(k.startswith("expression ") for k in fs.filtered)
    assert fs.classes == F.AFFECTNET8 and not fs.skipped
    for rec, row in zip(fs.records, kept):
        assert rec.label == int(row[6]) and rec.label_name == F.AFFECTNET8[rec.label]
        assert rec.valence == pytest.approx(float(row[7])) and rec.has_va
        assert rec.face_box == tuple(float(v) for v in row[1:5])
        assert rec.key == row[0] and rec.source == "affectnet" and rec.split == "training"
        assert rec.line == rows.index(row) + 1
    labels = set(fs.labels.tolist())
    assert labels <= set(range(8))


def test_affectnet7_drops_contempt(affectnet):
    fs8 = F.read_affectnet_csv(affectnet["training_csv"], affectnet["images"])
    fs7 = F.read_affectnet_csv(affectnet["training_csv"], affectnet["images"], num_classes=7)
    n_contempt = fs8.class_counts()["contempt"]
    assert len(fs7) == len(fs8) - n_contempt
    assert fs7.classes == F.AFFECTNET7 and "contempt" not in fs7.class_counts()
    assert fs7.filtered.get("expression 7 (contempt) under AffectNet-7", 0) == n_contempt


def _write_affectnet_csv(path, rows, header=True):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if header:
            w.writerow(AFFECTNET_COLUMNS)
        w.writerows(rows)


def _row(name, expr, v, a, box=(10, 20, 30, 40)):
    return [name, *map(str, box), "", str(expr), str(v), str(a)]


@pytest.fixture
def tiny_images(tmp_path):
    root = tmp_path / "imgs"
    (root / "1").mkdir(parents=True)
    arr = np.arange(100 * 80 * 3, dtype=np.uint32).reshape(100, 80, 3) % 251
    Image.fromarray(arr.astype(np.uint8)).save(root / "1" / "a.png")
    return root


def test_affectnet_codes_and_masked_va(tmp_path, tiny_images):
    rows = [_row("1/a.png", c, 0.5, -0.25) for c in range(8)]
    rows += [_row("1/a.png", 0, -2, -2)]  # kept class without V/A: masked, not dropped
    rows += [_row("1/a.png", c, -2, -2) for c in (8, 9, 10, 10)]
    _write_affectnet_csv(tmp_path / "t.csv", rows)
    fs = F.read_affectnet_csv(tmp_path / "t.csv", tiny_images)
    assert fs.labels.tolist() == [*range(8), 0]
    assert fs.filtered == {
        "expression 8 (none)": 1,
        "expression 9 (uncertain)": 1,
        "expression 10 (no_face)": 2,
    }
    assert fs.va_mask.tolist() == [1.0] * 8 + [0.0]
    assert np.isnan(fs.va[-1]).all() and fs.va[0].tolist() == [0.5, -0.25]
    src = F.FaceSource(fs, 16)
    assert src[8]["va_mask"] == 0 and src[8]["va"].tolist() == [0.0, 0.0]


def test_affectnet_crop_geometry(tmp_path, tiny_images):
    # Face box (10, 20, 30, 40): side 1.2 * 40 = 48 centred on (25, 40) -> (1, 16, 49, 64).
    _write_affectnet_csv(tmp_path / "t.csv", [_row("1/a.png", 1, 0.1, 0.2)])
    rec = F.read_affectnet_csv(tmp_path / "t.csv", tiny_images).records[0]
    assert rec.crop_box == (1, 16, 49, 64)
    assert F.square_crop_box((10, 20, 30, 40), margin=0.0) == (5, 20, 45, 60)
    src_img = np.asarray(Image.open(tiny_images / "1" / "a.png"))
    # Cropping to the crop's own size involves no resampling: an exact slice.
    out = F.FaceSource(F.FaceSet([rec], F.AFFECTNET8, "t"), 48)[0]["image"]
    np.testing.assert_array_equal(out, src_img[16:64, 1:49])


def test_crop_pads_with_zeros():
    img = np.full((20, 20), 200, np.uint8)
    out = F.crop_resize(img, (-10, -10, 10, 10), 20)
    assert out.shape == (20, 20, 3) and out.dtype == np.uint8
    assert (out[:10, :10] == 0).all() and (out[10:, 10:] == 200).all()


def test_affectnet_headerless_csv(tmp_path, tiny_images):
    _write_affectnet_csv(tmp_path / "v.csv", [_row("1/a.png", 3, 0.1, 0.7)], header=False)
    fs = F.read_affectnet_csv(tmp_path / "v.csv", tiny_images)
    assert len(fs) == 1 and fs[0].label == 3 and fs[0].line == 1


def test_affectnet_landmarks(affectnet):
    fs = F.read_affectnet_csv(affectnet["training_csv"], affectnet["images"], parse_landmarks=True)
    lm = np.array(fs[0].landmarks).reshape(68, 2)
    x, y, w, h = fs[0].face_box
    inside = (lm[:, 0] >= x - 2) & (lm[:, 0] <= x + w + 2) & (lm[:, 1] >= y - 2)
    assert inside.mean() > 0.9  # landmarks lie on the face the box encloses


def test_affectnet_source_images(affectnet):
    fs = F.read_affectnet_csv(affectnet["validation_csv"], affectnet["images"], verify="full")
    src = F.FaceSource(fs, 32)
    e = src[0]
    assert e["image"].shape == (32, 32, 3) and e["image"].dtype == np.uint8
    assert e["label"].dtype == np.int32 and e["va"].dtype == np.float32
    assert e["image"].flags.writeable  # not a view of Pillow's read-only buffer


def test_affectnet_compiled_csv(tmp_path):
    d = tmp_path / "val_set" / "images"
    d.mkdir(parents=True)
    for n in range(4):
        Image.new("RGB", (24, 24), (n * 40, 0, 0)).save(d / f"{n}.jpg")
    with open(tmp_path / "val.csv", "w") as f:
        f.write("number,exp,val,aro\n0,1,0.5,0.1\n1,8,-2,-2\n2,7,-0.4,0.6\n3,0,0,0\n")
    fs = F.read_affectnet_compiled_csv(tmp_path / "val.csv", d)
    assert fs.labels.tolist() == [1, 7, 0] and fs.filtered == {"expression 8 (none)": 1}
    assert fs[0].crop_box is None
    assert F.FaceSource(fs, 16)[1]["image"].shape == (16, 16, 3)


def test_affectnet_npy_layout(tmp_path):
    split = tmp_path / "train_set"
    (split / "images").mkdir(parents=True)
    (split / "annotations").mkdir()
    for n, (e, v, a) in enumerate([("2", "-0.6", "-0.3"), ("9", "-2", "-2"), ("4", "-0.1", "0.8")]):
        Image.new("RGB", (20, 20)).save(split / "images" / f"{n}.jpg")
        for k, val in (("exp", e), ("val", v), ("aro", a)):
            np.save(split / "annotations" / f"{n}_{k}.npy", np.array(val))
    fs = F.read_affectnet_npy(split)
    assert fs.labels.tolist() == [2, 4] and fs[0].valence == pytest.approx(-0.6)
    assert fs.filtered == {"expression 9 (uncertain)": 1}


def test_fer2013_folder(fer):
    fs = F.read_fer2013_folder(fer["train"])
    expected = {c: n for c, n in fer["counts"]["Training"].items()}
    assert fs.class_counts() == expected and len(fs) == sum(expected.values())
    assert fs.classes == F.AFFECTNET7 and fs.source == "fer2013_folder"
    assert all(r.key.split("/")[0] in labels.FER2013_FOLDER_NAMES for r in fs)
    angry = [r for r in fs if r.key.startswith("angry/")]
    assert all(r.label == 6 and r.label_name == "anger" for r in angry)
    e = F.FaceSource(fs, 64)[0]
    assert e["image"].shape == (64, 64, 3)
    img = e["image"]
    assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 0], img[..., 2])


def test_fer2013_folder_counts_assertion(fer):
    good = fer["counts"]["Training"]
    F.read_fer2013_folder(fer["train"], expected_counts=good)
    wrong = {**good, "happy": good["happy"] + 1}
    with pytest.raises(F.FaceDataError, match="happy: found"):
        F.read_fer2013_folder(fer["train"], expected_counts=wrong)


def test_fer2013_csv_matches_folder(fer):
    fs = F.read_fer2013_csv(fer["csv"])
    assert len(fs) == 40 and fs.images.shape == (40, 48, 48) and fs.images.dtype == np.uint8
    assert fs.records[0].line == 2 and fs.records[0].split == "Training"
    pub = F.read_fer2013_csv(fer["csv"], usage="PublicTest", attach_derived_va=True)
    assert pub.class_counts() == fer["counts"]["PublicTest"]
    assert pub.filtered == {"Usage Training": 32, "Usage PrivateTest": 4}
    # Same face in both layouts (JPEG round trip aside).
    folder = F.read_fer2013_folder(fer["validation"])
    r = pub.records[0]
    row = r.line - 2
    match = [x for x in folder if x.key.endswith(f"PublicTest_{row}.jpg")]
    assert len(match) == 1 and match[0].label == r.label
    a = F.FaceSource(pub, 48)[0]
    b = F.load_face(folder, match[0], 48)
    assert np.abs(a["image"].astype(int) - b.astype(int)).mean() < 4
    assert a["derived_va"].tolist() == pytest.approx(labels.CLASS_MEAN_VA[r.label_name])


def test_fer2013_csv_emotion_order(tmp_path):
    px = " ".join(["7"] * 2304)
    lines = ["emotion,pixels,Usage"] + [f"{e},{px},Training" for e in range(7)]
    (tmp_path / "f.csv").write_text("\n".join(lines) + "\n")
    fs = F.read_fer2013_csv(tmp_path / "f.csv")
    names = [r.label_name for r in fs]
    assert names == ["anger", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert (fs.images == 7).all()


def test_fer2013_csv_without_usage(tmp_path):
    px = " ".join(["1"] * 2304)
    (tmp_path / "train.csv").write_text(f"emotion,pixels\n3,{px}\n")
    fs = F.read_fer2013_csv(tmp_path / "train.csv")
    assert len(fs) == 1 and fs[0].split is None
    with pytest.raises(F.FaceDataError, match="Usage"):
        F.read_fer2013_csv(tmp_path / "train.csv", usage="Training")


def test_subset_keeps_in_memory_pixels(fer):
    fs = F.read_fer2013_csv(fer["csv"])
    sub = fs.subset([5, 2])
    src = F.FaceSource(sub, 48)
    np.testing.assert_array_equal(src[0]["image"][..., 0], fs.images[5])
    assert os.path.basename(fer["csv"]) == "fer2013.csv"
