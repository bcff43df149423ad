"""``canvass store migrate`` and ``canvass store compact`` on a real data directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from canvass.cli import main
from system.adapters.stores import StoreNeedsMigration, make_stores

LIMIT = 1 << 20


def test_an_operator_migrates_a_file_store_into_volumes_then_compacts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for setting in ("CANVASS_STORE", "CANVASS_PLATFORM_KEYS", "CANVASS_AGENCY_KEYS"):
        monkeypatch.delenv(setting, raising=False)
    data = tmp_path / "data"
    old = make_stores(data, kind="files", durable=False)
    clips = [old.clips.put(f"clip {i}".encode() * 50, max_bytes=LIMIT).sha256 for i in range(12)]
    evidence = old.evidence.put(b"agency item", max_bytes=LIMIT).sha256
    with pytest.raises(StoreNeedsMigration, match="canvass store migrate"):
        make_stores(data)

    assert main(["store", "migrate", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "clips: 12 moved, 0 already in volumes, 0 failed" in out
    assert "evidence: 1 moved, 0 already in volumes, 0 failed" in out
    assert main(["store", "migrate", "clips", "--data-dir", str(data)]) == 0
    assert "clips: 0 moved" in capsys.readouterr().out

    stores = make_stores(data)
    for i, sha256 in enumerate(clips):
        content = stores.clips.read_all(sha256)
        assert content == f"clip {i}".encode() * 50
        assert hashlib.sha256(content).hexdigest() == sha256
    assert stores.evidence.read_all(evidence) == b"agency item"

    for sha256 in clips[:8]:
        stores.clips.delete(sha256)
    # Two thirds of the volume is deleted: below a 0.9 threshold, above the default 0.
    assert main(["store", "compact", "clips", "--min-garbage", "0.9", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out.startswith("clips: 0 volume(s) compacted, 0 record(s) moved")
    assert main(["store", "compact", "clips", "--data-dir", str(data)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("clips: 1 volume(s) compacted, 4 record(s) moved")
    for i, sha256 in enumerate(clips[8:], start=8):
        assert stores.clips.read_all(sha256) == f"clip {i}".encode() * 50


def test_store_commands_refuse_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as bad:
        main(["store", "compact", "photos", "--data-dir", str(tmp_path)])
    assert bad.value.code == 2
    assert "unknown store 'photos'; choose from clips, outbox, evidence" in capsys.readouterr().err

    with pytest.raises(SystemExit) as bad:
        main(["store", "compact", "--min-garbage", "30%", "--data-dir", str(tmp_path)])
    assert bad.value.code == 2
    assert "'30%' is not a share: give a number from 0 to 1, such as 0.3" in capsys.readouterr().err

    assert main(["store", "compact", "--data-dir", str(tmp_path / "missing")]) == 2
    missing = tmp_path / "missing"
    assert capsys.readouterr().err.strip() == f"canvass: no data directory at {missing}"
