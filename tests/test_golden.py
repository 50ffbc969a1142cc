"""Every fixture report, in every layout and encoding, casts to its reviewed golden rows."""

import json
from pathlib import Path

import pytest

from recoup import ingest
from recoup.ingest.decode import number_lines
from tests.golden import canonical_rows, fixtures, golden_path


@pytest.mark.parametrize("fixture", fixtures(), ids=lambda p: p.parent.name + "/" + p.name)
def test_fixture_matches_golden(fixture: Path) -> None:
    expected = json.loads(golden_path(fixture).read_text(encoding="utf-8"))
    assert canonical_rows(fixture) == expected


def test_every_fixture_has_a_golden_file_and_imports_cleanly() -> None:
    for fixture in fixtures():
        golden = json.loads(golden_path(fixture).read_text(encoding="utf-8"))
        assert golden["status"] == "imported", fixture
        assert "rejects" not in golden["tables"], fixture


@pytest.mark.parametrize("fixture", fixtures(), ids=lambda p: p.parent.name + "/" + p.name)
def test_renumbered_copy_gives_the_same_rows(
    fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line-by-line copy (used for irregular files) and the verbatim copy agree exactly."""

    def numbered_always(raw, layout, out, on_progress=None):
        return number_lines(raw, layout, out, "fixture")

    monkeypatch.setattr(ingest, "transcribe", numbered_always)
    expected = json.loads(golden_path(fixture).read_text(encoding="utf-8"))
    assert canonical_rows(fixture) == expected
