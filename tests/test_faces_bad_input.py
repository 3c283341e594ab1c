"""Bad face input: each problem raises FaceDataError naming the file/row; skip_bad reports all."""

import csv
import logging

import numpy as np
import pytest
from PIL import Image

from affectjax.data import faces as F
from affectjax.data.faces.affectnet import AFFECTNET_COLUMNS


@pytest.fixture
def images(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    Image.new("RGB", (60, 60), (90, 80, 70)).save(d / "ok.jpg")
    Image.new("RGBA", (60, 60)).save(d / "rgba.png")
    (d / "text.jpg").write_text("this is not an image")
    (d / "empty.jpg").write_bytes(b"")
    noise = np.random.default_rng(0).integers(0, 256, (120, 120, 3), dtype=np.uint8)
    Image.fromarray(noise).save(d / "noise.jpg", quality=90)
    buf = (d / "noise.jpg").read_bytes()
    (d / "truncated.jpg").write_bytes(buf[: len(buf) * 2 // 3])  # header intact, data cut
    return d


def _write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(AFFECTNET_COLUMNS)
        w.writerows(rows)


def _row(name="ok.jpg", expr=1, v=0.2, a=0.3, box=(10, 10, 30, 30)):
    return [name, *map(str, box), "", str(expr), str(v), str(a)]


# (row, fragment of the expected message); the good row is line 2, bad ones follow.
BAD_ROWS = [
    (_row(box=(10, 10, 0, 30)), "width and height must be > 0"),
    (_row(box=(10, "x", 30, 30)), "not numbers"),
    (_row(box=(10, 10, "nan", 30)), "not finite"),
    (_row(box=(500, 500, 30, 30)), "lies outside the 60x60 image"),
    (_row(v=1.5), "valence 1.5 out of range"),
    (_row(a=-1.01), "arousal -1.01 out of range"),
    (_row(v=-2, a=0.3), "valence -2.0 out of range"),
    (_row(v="high"), "not numbers"),
    (_row(expr=11), "unknown expression code 11"),
    (_row(expr="happy"), "not an integer code"),
    (_row(name="missing.jpg"), "image file not found"),
    (_row(name="text.jpg"), "not a readable image"),
    (_row(name="empty.jpg"), "not a readable image"),
    (_row(name="rgba.png"), "wrong channel count: 4 channels"),
    (["ok.jpg", "1", "2"], "fields"),
]


@pytest.mark.parametrize("i", range(len(BAD_ROWS)))
def test_affectnet_bad_row_raises_naming_file_and_line(tmp_path, images, i):
    row, msg = BAD_ROWS[i]
    _write(tmp_path / "a.csv", [_row(), row])
    with pytest.raises(F.FaceDataError, match=msg) as exc:
        F.read_affectnet_csv(tmp_path / "a.csv", images)
    assert f"{tmp_path / 'a.csv'} line 3" in str(exc.value)


def test_affectnet_skip_bad_reports_every_row(tmp_path, images, caplog):
    _write(tmp_path / "a.csv", [_row()] + [r for r, _ in BAD_ROWS] + [_row(expr=2)])
    with caplog.at_level(logging.WARNING, logger="affectjax.data.faces"):
        fs = F.read_affectnet_csv(tmp_path / "a.csv", images, skip_bad=True)
    assert fs.labels.tolist() == [1, 2]
    assert len(fs.skipped) == len(BAD_ROWS)
    for k, (item, (_, msg)) in enumerate(zip(fs.skipped, BAD_ROWS)):
        assert item.where == f"{tmp_path / 'a.csv'} line {k + 3}"
        assert msg in item.reason
    assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == len(BAD_ROWS)
    report = fs.report()
    assert f"skipped {len(BAD_ROWS)} bad item(s)" in report
    assert all(str(item) in report for item in fs.skipped)


def test_affectnet_missing_column_is_not_skippable(tmp_path, images):
    (tmp_path / "a.csv").write_text("subDirectory_filePath,face_x,expression\nok.jpg,1,1\n")
    with pytest.raises(F.FaceDataError, match=r"missing column\(s\)"):
        F.read_affectnet_csv(tmp_path / "a.csv", images, skip_bad=True)
    with pytest.raises(F.FaceDataError, match="cannot open"):
        F.read_affectnet_csv(tmp_path / "nope.csv", images)


def test_truncated_image_caught_by_full_verify_and_at_load(tmp_path, images):
    _write(tmp_path / "a.csv", [_row(name="truncated.jpg")])
    fs = F.read_affectnet_csv(tmp_path / "a.csv", images)  # header is intact
    with pytest.raises(F.FaceDataError, match="truncated.jpg"):
        F.FaceSource(fs, 32)[0]
    with pytest.raises(F.FaceDataError, match="corrupt image data"):
        F.read_affectnet_csv(tmp_path / "a.csv", images, verify="full")


@pytest.fixture
def fer_tree(tmp_path):
    root = tmp_path / "validation"
    for c in ("angry", "happy"):
        (root / c).mkdir(parents=True)
        for k in range(3):
            Image.new("L", (48, 48), 40 * k).save(root / c / f"PublicTest_{k}.jpg")
    return root


def test_fer_folder_bad_items(fer_tree):
    (fer_tree / "happy" / "notes.txt").write_text("x")
    (fer_tree / "happy" / "alpha.png").write_bytes(b"")
    Image.new("LA", (48, 48)).save(fer_tree / "angry" / "la.png")
    (fer_tree / "contempt").mkdir()  # not a FER2013 class
    (fer_tree / "bored").mkdir()
    (fer_tree / "loose.jpg").write_bytes(b"")
    (fer_tree / "happy" / ".DS_Store").write_bytes(b"")
    with pytest.raises(F.FaceDataError, match="la.png: wrong channel count: 2 channels"):
        F.read_fer2013_folder(fer_tree)
    fs = F.read_fer2013_folder(fer_tree, skip_bad=True)
    assert len(fs) == 6 and fs.filtered == {"hidden file": 1}
    reasons = {item.where.split("/")[-1]: item.reason for item in fs.skipped}
    assert set(reasons) == {"la.png", "alpha.png", "notes.txt", "contempt", "bored", "loose.jpg"}
    assert "not an image file" in reasons["notes.txt"]
    assert "not a readable image" in reasons["alpha.png"]
    assert "unknown class folder" in reasons["bored"]
    assert "7 classes" in reasons["contempt"]
    assert "outside a class folder" in reasons["loose.jpg"]


def test_fer_folder_missing(tmp_path):
    with pytest.raises(F.FaceDataError, match="not found"):
        F.read_fer2013_folder(tmp_path / "absent")


def test_fer_csv_bad_rows(tmp_path):
    good = " ".join(["5"] * 2304)
    lines = [
        "emotion,pixels,Usage",
        f"0,{good},Training",
        f"7,{good},Training",
        f"x,{good},Training",
        f"1,{' '.join(['5'] * 2303)},Training",
        f"1,{good} 5 5 5,Training",
        f"2,{' '.join(['300'] * 2304)},Training",
        f"2,{' '.join(['-1'] * 2304)},Training",
        f"3,{good[:-1]}x,Training",
        f"4,{good[:-1]}1.5,Training",
        "5",
        f"6,{good},Training",
    ]
    path = tmp_path / "fer2013.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(F.FaceDataError, match=rf"{path} line 3: unknown emotion code 7"):
        F.read_fer2013_csv(path)
    fs = F.read_fer2013_csv(path, skip_bad=True)
    assert [r.label_name for r in fs] == ["anger", "neutral"] and fs.images.shape[0] == 2
    assert [s.where for s in fs.skipped] == [f"{path} line {n}" for n in range(3, 12)]
    reasons = [s.reason for s in fs.skipped]
    assert "not an integer" in reasons[1]
    assert "expected 2304 values (48x48 grey, 1 channel), got 2303" in reasons[2]
    assert "got 2307" in reasons[3]
    assert "outside 0-255" in reasons[4] and "outside 0-255" in reasons[5]
    assert "non-integer" in reasons[6] and "non-integer" in reasons[7]
    assert "fields" in reasons[8]


def test_fer_csv_unknown_usage(tmp_path):
    good = " ".join(["5"] * 2304)
    (tmp_path / "f.csv").write_text(f"emotion,pixels,Usage\n0,{good},Valid\n")
    with pytest.raises(F.FaceDataError, match="unknown Usage 'Valid'"):
        F.read_fer2013_csv(tmp_path / "f.csv", usage="Training")


@pytest.mark.parametrize(
    "array, msg",
    [
        (np.zeros((8, 8, 4), np.uint8), "wrong channel count: 4"),
        (np.zeros((8, 8, 2), np.uint8), "wrong channel count: 2"),
        (np.zeros((8, 8, 3), np.float32), "expected uint8"),
        (np.zeros((8,), np.uint8), "expected an"),
        (np.zeros((0, 8), np.uint8), "empty image"),
    ],
)
def test_array_channel_checks(array, msg):
    with pytest.raises(F.FaceDataError, match=msg):
        F.to_rgb_uint8(array, "arr")


def test_to_rgb_replicates_grey():
    g = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for x in (g, g[..., None]):
        out = F.to_rgb_uint8(x)
        assert out.shape == (3, 4, 3) and (out == g[..., None]).all()


def test_load_image_errors(images):
    assert F.load_image(images / "ok.jpg").shape == (60, 60, 3)
    with pytest.raises(F.FaceDataError, match="text.jpg: not a readable image"):
        F.load_image(images / "text.jpg")
    with pytest.raises(F.FaceDataError, match="not found"):
        F.load_image(images / "nothing.jpg")


def test_crop_outside_image_raises():
    with pytest.raises(F.FaceDataError, match="lies outside"):
        F.crop_resize(np.zeros((10, 10), np.uint8), (20, 20, 30, 30), 8, "img.jpg")
