"""EMO-DNA task on the tiny generated task: no target labels in the step, rows, end to end."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from affectjax import tasks
from affectjax.data import cross_corpus
from affectjax.tasks import uda_ser
from affectjax.train import run
from affectjax.train.task import DataContext
from experiments import emo_dna
from experiments.configs import emo_dna as emo_config


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One feature cache for the module: the tiny corpora are generated and extracted once."""
    return str(tmp_path_factory.mktemp("features"))


def tiny(cache_dir, **args):
    config = emo_config.get_config(",".join(["size=tiny"] + [f"{k}={v}" for k, v in
                                                              args.items()]))
    with config.unlocked():
        config.data.cache_dir = cache_dir
        config.data.feature_workers = 1
        config.data.progress = False
        config.train.progress = False
    return config


def test_train_step_never_sees_target_labels(cache_dir, tmp_path):
    config = tiny(cache_dir)
    task = tasks.build(config)
    ctx = DataContext(seed=0, process_index=0, process_count=1, num_devices=1)
    streams = task.train_data(ctx).streams
    assert set(next(iter(streams["tgt"]))) == {"x"}
    assert set(next(iter(streams["src"]))) == {"x", "label"}

    seen = []

    def loss(params, variables, batch, rng, step):
        seen.append({name: sorted(b) for name, b in batch.items()})
        return task.loss(params, variables, batch, rng, step)

    with config.unlocked():
        config.train.total_steps = 2
    run(dataclasses.replace(task, loss=loss), config, str(tmp_path))
    assert seen and all(s == {"src": ["label", "x"], "tgt": ["x"]} for s in seen)


def test_rows_set_only_weights_and_switches():
    full = emo_config.get_config("size=tiny")
    assert (full.loss.w_dec, full.loss.w_glob, full.pseudo.kind) == (0.1, 1.0, "freematch")
    src = emo_config.get_config("size=tiny,method=source_only")
    assert all(src.loss[f"w_{k}"] == 0 for k in ("dec", "cor", "pl", "cla", "glob", "adv"))
    dann = emo_config.get_config("size=tiny,method=dann")
    assert dann.loss.w_adv == 1.0 and dann.loss.w_glob == 0.0
    assert emo_config.get_config("size=tiny,ablate=single_encoder").model.share_trunk
    assert emo_config.get_config("size=tiny,ablate=fixed_thr").pseudo.kind == "fixed"
    assert emo_config.get_config("size=tiny,ablate=glob_dann").loss.w_adv == 1.0
    with pytest.raises(ValueError, match="applies to method=emo_dna"):
        emo_config.get_config("size=tiny,method=dann,ablate=no_dec")


@pytest.mark.parametrize("with_source", [True, False])
def test_oracle_folds_are_speaker_independent(cache_dir, with_source):
    config = tiny(cache_dir)
    data = cross_corpus.load_task(config.data)
    seen_test = set()
    for fold in range(2):
        split = uda_ser.oracle_split(data, folds=2, fold=fold, with_source=with_source)
        train_spk, test_spk = set(split.source.speakers), set(split.target.speakers)
        assert train_spk and test_spk and not train_spk & test_spk
        # The source's speakers join the training side exactly when asked for.
        assert (set(data.source.speakers) <= train_spk) == with_source
        n_train = (~uda_ser.oracle_test_mask(data.target.speakers, 2, fold)).sum()
        assert len(split.source.labels) == n_train + with_source * len(data.source.labels)
        seen_test |= test_spk
    assert seen_test == set(data.target.speakers)


def test_too_many_oracle_folds_name_the_fix():
    speakers = np.array(["a", "a", "b", "c"])
    with pytest.raises(ValueError, match=r"3 target speakers cannot make 5 folds; set "
                                         r"--config.oracle.folds=3"):
        uda_ser.oracle_test_mask(speakers, folds=5, fold=0)
    assert uda_ser.oracle_test_mask(speakers, folds=3, fold=1).tolist() == [False, False, True,
                                                                            False]


def test_oracle_rows_set_with_source():
    assert emo_config.get_config("size=tiny,method=oracle").oracle.with_source
    target_only = emo_config.get_config("size=tiny,method=oracle,ablate=target_only")
    assert not target_only.oracle.with_source and target_only.loss.w_dec == 0.0
    with pytest.raises(ValueError, match="oracle's variants"):
        emo_config.get_config("size=tiny,method=oracle,ablate=no_dec")
    with pytest.raises(ValueError, match="ablate='target_only': expected one of"):
        emo_config.get_config("size=tiny,method=dann,ablate=target_only")


def test_oracle_predictions_come_back_in_target_order_with_speakers(cache_dir, tmp_path,
                                                                    monkeypatch):
    # The launcher's rows are built from the command line's config; here from the tiny one.
    monkeypatch.setattr(emo_dna, "row_config", lambda row, seed, **a: tiny(
        cache_dir, method=row, seed=seed, **a))
    target = cross_corpus.load_task(tiny(cache_dir).data).target
    oracle = emo_dna.train_row("oracle", 0, str(tmp_path))
    # Two folds, each scored on its own held-out speakers, then put back in target order so
    # the paired bootstrap against other rows resamples the same utterances.
    np.testing.assert_array_equal(oracle["y_true"], target.labels)
    np.testing.assert_array_equal(oracle["speaker"], target.speakers)
    saved = np.load(tmp_path / "oracle" / "seed_0_target_predictions.npz")
    np.testing.assert_array_equal(saved["speaker"], target.speakers)
    by_speaker = emo_dna.per_speaker_uar(["oracle"], {"oracle": [oracle]})
    assert by_speaker["speakers"] == sorted(set(target.speakers))
    assert len(by_speaker["uar"]["oracle"]) == len(by_speaker["speakers"])


def test_per_speaker_uar_scores_each_speaker_separately():
    run = {"y_true": np.array([0, 1, 0, 1]), "y_pred": np.array([0, 1, 1, 1]),
           "speaker": np.array(["a", "a", "b", "b"])}
    by_speaker = emo_dna.per_speaker_uar(["source_only"], {"source_only": [run, run]})
    assert by_speaker == {"speakers": ["a", "b"], "uar": {"source_only": [1.0, 0.5]}}
    assert "| source-only | 100.0 | 50.0 |" in emo_dna.speaker_table(by_speaker)


def test_tiny_run_logs_every_term_and_resumes(cache_dir, tmp_path):
    config = tiny(cache_dir)
    first = run(tasks.build(config), config, str(tmp_path))
    records = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    keys = set().union(*records)
    for term in ("cls", "dec", "cor", "pl", "cla", "glob"):
        assert f"train/loss_{term}" in keys
    assert {"target/uar", "target/war", "train/mask_rate", "train/tau_g"} <= keys
    assert 0.0 <= first.metrics["target/uar"] <= 1.0
    # A second invocation finds the finished run's checkpoint and only re-evaluates it.
    again = run(tasks.build(config), config, str(tmp_path))
    assert again.step == 20
    assert again.metrics["target/uar"] == pytest.approx(first.metrics["target/uar"])
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["10", "20"]


def test_features_are_time_major_and_labelled(cache_dir):
    data = cross_corpus.load_task(tiny(cache_dir).data)
    assert data.source.x.shape[1:] == (33, 13)  # T = 1 + 16384 // 512, 13 MFCCs
    assert data.classes == emo_config.TINY_CLASSES
    assert set(np.unique(data.target.labels)) == {0, 1, 2, 3}
    assert not set(data.source.speakers) & set(data.target.speakers)


@pytest.mark.parametrize("name", ["emodb2jtalk", "emodb_m2f"])
def test_real_corpus_tasks_load_from_their_layouts(tmp_path, name):
    from corpus_fixtures import TREES

    for corpus in ("emodb", "jtalk_emotion"):
        TREES[corpus](tmp_path / "data" / corpus)
    config = tiny(str(tmp_path / "features"), task=name)
    with config.unlocked():
        config.data.data_dir = str(tmp_path / "data")
    data = cross_corpus.load_task(config.data)
    assert data.source.x.shape[1:] == data.target.x.shape[1:]
    assert len(data.source.labels) and len(data.target.labels)
    assert data.source.labels.max() < len(data.classes)
    if name == "emodb2jtalk":
        assert set(data.classes) == {"anger", "happiness", "neutral", "sadness"}
        assert all(s.startswith("jtalk_emotion:") for s in data.target.speakers)


def test_uar_by_step_means_seeds_keeps_the_later_entry_and_skips_oracles(tmp_path):
    logs = {0: [{"step": 5, "target/uar": 0.2}, {"step": 10, "target/uar": 0.4},
                {"step": 10, "target/uar": 0.5},  # resumed after step 5: step 10 again
                {"step": 15, "train/loss": 1.0}],
            1: [{"step": 5, "target/uar": 0.4}, {"step": 10, "target/uar": 0.7}]}
    for seed, records in logs.items():
        d = tmp_path / "source_only" / f"seed_{seed}"
        d.mkdir(parents=True)
        (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    by_step = emo_dna.uar_by_step(str(tmp_path), ["source_only", "oracle"], [0, 1])
    assert by_step == {"source_only": {"steps": [5, 10], "uar": [pytest.approx(0.3),
                                                                  pytest.approx(0.6)]}}
    table = emo_dna.by_step_table(by_step | {"dan": {"steps": [10], "uar": [0.25]}})
    assert "| method | step 5 | step 10 |" in table
    assert "| source-only | 30.0 | 60.0 |" in table and "| DAN (MK-MMD) | – | 25.0 |" in table
    # Rows in the main table's order whatever the summary's key order.
    assert table.index("| source-only |") < table.index("| DAN (MK-MMD) |")
    flipped = emo_dna.by_step_table({"dan": {"steps": [10], "uar": [0.25]}} | by_step)
    assert flipped.index("| source-only |") < flipped.index("| DAN (MK-MMD) |")


def test_corpus_and_speaker_normalisation(cache_dir):
    """norm=corpus: each side's feature dims have mean 0, std 1; speaker: per speaker."""
    CorpusFeatures, normalise = cross_corpus.CorpusFeatures, cross_corpus.normalise
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (6, 5, 4)).astype(np.float32)
    x[3:] += 10.0  # the second speaker's offset
    x[:, :, 3] = 7.0  # a constant dimension is centred, not divided by 0
    side = CorpusFeatures("c", x, np.zeros(6, np.int32), np.array(["a"] * 3 + ["b"] * 3),
                          ("k",))
    assert normalise(side, "none") is side
    for by, groups in (("corpus", [slice(0, 6)]), ("speaker", [slice(0, 3), slice(3, 6)])):
        out = normalise(side, by).x
        for g in groups:
            np.testing.assert_allclose(out[g].mean(axis=(0, 1)), 0.0, atol=1e-5)
            np.testing.assert_allclose(out[g].std(axis=(0, 1))[:3], 1.0, atol=1e-5)
            assert np.all(out[g][:, :, 3] == 0.0)
    with pytest.raises(ValueError, match="data.features.norm"):
        normalise(side, "utterance")
    config = tiny(cache_dir)
    raw = cross_corpus.load_task(config.data)
    with config.unlocked():
        config.data.features.norm = "speaker"
    task = cross_corpus.load_task(config.data)
    np.testing.assert_array_equal(task.target.labels, raw.target.labels)
    for spk in np.unique(task.target.speakers):
        rows = task.target.x[task.target.speakers == spk]
        np.testing.assert_allclose(rows.mean(axis=(0, 1)), 0.0, atol=1e-4)
