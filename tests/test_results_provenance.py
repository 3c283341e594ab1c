"""experiments.results: provenance is pinned when a launcher starts; mean ± std cells."""

from experiments import results


def test_pinned_provenance_survives_a_later_commit(monkeypatch):
    monkeypatch.setattr(results, "_PINNED", None)
    monkeypatch.setattr(results, "git_commit", lambda: "aaaaaaa")
    monkeypatch.setattr(results, "hardware", lambda: "test box")
    pinned = results.pin_provenance()
    assert "hardware" not in pinned  # jax.distributed.initialize must still be possible
    monkeypatch.setattr(results, "git_commit", lambda: "bbbbbbb")  # committed mid-run
    now = results.provenance()
    assert now["commit"] == "aaaaaaa" and now["command"] == pinned["command"]
    assert now["hardware"] == "test box"


def test_without_a_pin_provenance_is_read_now(monkeypatch):
    monkeypatch.setattr(results, "_PINNED", None)
    monkeypatch.setattr(results, "git_commit", lambda: "ccccccc")
    monkeypatch.setattr(results, "hardware", lambda: "test box")
    assert results.provenance()["commit"] == "ccccccc"


def test_a_table_names_the_commits_that_trained_its_runs(monkeypatch, tmp_path):
    monkeypatch.setattr(results, "_PINNED", None)
    monkeypatch.setattr(results, "hardware", lambda: "test box")
    for commit, runs in (("aaaaaaa", ["row1/seed_0", "row1/seed_1"]), ("bbbbbbb", ["row2/seed_0"])):
        monkeypatch.setattr(results, "git_commit", lambda c=commit: c)
        for run in runs:
            (tmp_path / run).mkdir(parents=True)
            (tmp_path / run / "results.json").write_text("{}")
            results.record_run(str(tmp_path / run))
    (tmp_path / "old" / "seed_0").mkdir(parents=True)  # finished before runs were recorded
    (tmp_path / "old" / "seed_0" / "results.json").write_text("{}")
    prov = results.provenance(str(tmp_path))
    assert prov["commit"] == "bbbbbbb"  # this invocation's
    assert prov["trained_at"].startswith("`aaaaaaa` (2 runs), `bbbbbbb` (1 run), 1 run from "
                                         "before runs recorded their commit")
    assert "- runs trained at: `aaaaaaa` (2 runs)" in results.provenance_block(prov, [0, 1])


def test_mean_std_cells_say_when_there_is_one_seed():
    assert results.format_mean_std([0.5, 0.7], 100) == "60.0 ± 14.1"
    assert results.format_mean_std([0.5], 100) == "50.0 (1 seed)"
    assert results.format_mean_std([]) == "–"
