"""experiments.report --merge: a re-rendering replaces its own sections and keeps the others."""

import pytest

from experiments.report import merge, sections


def _file(*parts: tuple[str, str]) -> str:
    # The launchers' layout: sections "<!-- key -->\n<body>", joined by one blank line.
    return "\n\n".join(f"<!-- {key} -->\n{body}" for key, body in parts)


def test_merge_replaces_found_sections_keeps_the_rest_in_key_order():
    old = _file(("a/summary.json", "# A old\n"), ("c/summary.json", "# C old\n| x |"))
    new = _file(("b/summary.json", "# B new\n"), ("c/summary.json", "# C new\n"))
    merged = merge(old, new)
    assert list(sections(merged)) == ["a/summary.json", "b/summary.json", "c/summary.json"]
    assert "# A old" in merged and "# B new" in merged and "# C new" in merged
    assert "C old" not in merged


def test_a_file_merged_with_itself_is_unchanged_byte_for_byte():
    text = _file(("x/summary.json", "# X\n\n| a |\n"), ("y/summary.json", "# Y\n- seeds: 0"))
    assert merge(text, text) == text
    assert merge(text, _file(("y/summary.json", "# Y\n- seeds: 0"))) == text


def test_unsectioned_or_ambiguous_files_are_refused():
    with pytest.raises(ValueError, match="no '<!-- key -->' section markers"):
        sections("# EMO-DNA results\n| a |")
    with pytest.raises(ValueError, match="text before the first"):
        sections("# preamble\n" + _file(("a", "# A")))
    with pytest.raises(ValueError, match="appears twice"):
        sections(_file(("a", "# A"), ("a", "# A again")))
