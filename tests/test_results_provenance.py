"""experiments.results: provenance is pinned when a launcher starts."""

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
