"""experiments.results: provenance is pinned when a launcher starts."""

from experiments import results


def test_pinned_provenance_survives_a_later_commit(monkeypatch):
    monkeypatch.setattr(results, "_PINNED", None)
    monkeypatch.setattr(results, "git_commit", lambda: "aaaaaaa")
    monkeypatch.setattr(results, "hardware", lambda: "test box")
    pinned = results.pin_provenance()
    monkeypatch.setattr(results, "git_commit", lambda: "bbbbbbb")  # committed mid-run
    assert results.provenance() == pinned and pinned["commit"] == "aaaaaaa"
    assert pinned["hardware"] == "test box" and pinned["command"]


def test_without_a_pin_provenance_is_read_now(monkeypatch):
    monkeypatch.setattr(results, "_PINNED", None)
    monkeypatch.setattr(results, "git_commit", lambda: "ccccccc")
    monkeypatch.setattr(results, "hardware", lambda: "test box")
    assert results.provenance()["commit"] == "ccccccc"
