"""discover: folders give their reports, and name every file they pass over with the reason."""

from __future__ import annotations

import os

import pytest

from fazhi.discover import NoInputsError, discover, skipped_summary
from tests.conftest import CORPUS


def _folder(tmp_path):
    folder = tmp_path / "reports"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes((CORPUS / "kunshan-2021.txt").read_bytes())
    (folder / "sub" / "b.docx").write_bytes(b"PK")  # a report type: ingest judges it
    (folder / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "photo.png").write_bytes(b"\x89PNG")
    (folder / "a.source.txt").write_text("written beside a result", encoding="utf-8")
    (folder / "gone.txt").symlink_to(folder / "nowhere.txt")
    (folder / "sub" / "loop").symlink_to(folder)
    (folder / "same.txt").symlink_to(folder / "a.txt")
    return folder


def test_skipped_files_are_returned_with_their_reasons(tmp_path):
    folder = _folder(tmp_path)
    found = discover([str(folder)])
    assert [p.name for p in found.inputs] == ["a.txt", "b.docx"]  # same.txt is a.txt again
    reasons = {item.path.name: item.reason for item in found.skipped}
    assert set(reasons) == {"old.doc", "photo.png", "a.source.txt", "gone.txt", "loop"}
    assert "libreoffice --headless --convert-to docx" in reasons["old.doc"]
    assert "dangling symbolic link" in reasons["gone.txt"]
    assert "symbolic link loop" in reasons["loop"]
    assert "not a report type (.png)" in reasons["photo.png"]
    lines = skipped_summary(found.skipped)
    assert lines[0] == "skipped 5 file(s) that are not reports:" and len(lines) == 6


def test_a_folder_with_only_skipped_files_is_an_error(tmp_path):
    (tmp_path / "notes.md").write_text("笔记", encoding="utf-8")
    with pytest.raises(NoInputsError):
        discover([str(tmp_path)])


def test_the_cli_names_skipped_files_on_stderr(tmp_path):
    from typer.testing import CliRunner

    from fazhi.cli import app

    folder = _folder(tmp_path)
    os.remove(folder / "sub" / "b.docx")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["extract", str(folder), "-o", str(out), "--backend", "rules"])
    stderr = result.stderr
    assert "skipped 5 file(s) that are not reports:" in stderr
    assert "old.doc" in stderr and "dangling symbolic link" in stderr


def test_a_glob_names_what_it_matched_but_passed_over(tmp_path):
    folder = _folder(tmp_path)
    found = discover([str(folder / "*.*")])
    assert [p.name for p in found.inputs] == ["a.txt"]
    assert {"old.doc", "photo.png", "a.source.txt", "gone.txt"} <= {
        s.path.name for s in found.skipped
    }
