"""``canvass bench sim`` at a tiny scale: the documented JSON form, honest targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.bench_sim import _figure, bench_sim_command
from benchmarks.sim_baselines import bare_store, bare_volume_store, object_copies
from benchmarks.sim_ports import RecordingPort, ReplayDiverged, TimedPort
from sim.core.ports import AnswerVerdict


def test_bench_sim_writes_the_documented_form(tmp_path: Path) -> None:
    out = tmp_path / "bench-sim.json"
    status = bench_sim_command(scale=0.0005, seed=2, out=out, echo=lambda _l: None)
    result = json.loads(out.read_text())
    assert set(result) >= {"benchmark", "machine", "measured", "baseline", "targets"}
    assert result["benchmark"] == "sim"
    measured = result["measured"]
    # The fixed workload, with its counts; the calibrated county's wall time beside it.
    assert measured["scenario"] == "nassau-saturated"
    assert measured["events"] > 0
    assert measured["rows"] > 0
    assert measured["clips"] > 0
    assert measured["transfers"] > 0
    assert measured["wall_s"] > 0
    assert measured["nassau_wall_s"] > 0
    assert measured["nassau_events"] > 0
    # The saturated workload asks more of the system than the calibrated defaults.
    assert measured["clips"] > measured["nassau_clips"]
    # The replication's peak memory: more than an interpreter with the system imported;
    # its scratch folder held the database at least.
    assert measured["peak_rss_mb"] > 50
    assert measured["scratch_mb"] > 0.01
    assert 0 <= measured["scratch_sampling_s"] < measured["wall_s"]
    baseline = result["baseline"]
    assert baseline["bare_simpy_s"] > 0
    assert baseline["bare_insert_s"] > 0
    assert baseline["bare_volume_s"] > 0
    assert baseline["bare_store_s"] > 0
    assert baseline["uploads"] == measured["clips"]
    assert baseline["object_copies"] == measured["clips"] + 2 * measured["transfers"]
    assert measured["store_floor_share"] == pytest.approx(baseline["bare_store_s"] / 300.0)
    bare = baseline["bare_simpy_s"] + baseline["bare_insert_s"] + baseline["bare_volume_s"]
    assert measured["baseline_ratio"] == pytest.approx(measured["wall_s"] / bare)
    # The wall time splits into the system's calls and the model's own work.
    calls = result["system_calls"]
    assert {"setup", "run_jobs", "respond"} <= set(calls)
    assert measured["system_s"] == pytest.approx(sum(c["s"] for c in calls.values()))
    assert 0 < measured["system_s"] < measured["wall_s"]
    assert measured["model_s"] == pytest.approx(measured["wall_s"] - measured["system_s"])
    assert measured["model_ratio"] == pytest.approx(measured["model_s"] / baseline["bare_simpy_s"])
    # The model alone, replayed on the system's recorded answers (it finished every call).
    assert measured["model_alone_s"] > 0
    assert measured["model_alone_ratio"] == pytest.approx(
        measured["model_alone_s"] / baseline["bare_simpy_s"]
    )
    targets = {t["name"]: (t["op"], t["value"]) for t in result["targets"]}
    assert targets == {
        "wall_s": ("<", 300),
        "baseline_ratio": ("<=", 6),
        "model_ratio": ("<=", 10),
        "peak_rss_mb": ("<=", 1000),
        "scratch_mb": ("<=", 2000),
    }
    assert all(t["measured"] == measured[t["name"]] for t in result["targets"])
    # A partial county never claims the full-county targets.
    assert not any(t["met"] for t in result["targets"])
    assert status == 3


def test_the_bare_volume_store_appends_encrypted_copies(tmp_path: Path) -> None:
    seconds = bare_volume_store(object_copies(5, 7), 100, tmp_path)
    assert seconds > 0
    volume = (tmp_path / "volume").read_bytes()
    # 19 copies of 100 bytes, each sealed with its 16-byte GCM tag, one after another.
    assert len(volume) == 19 * (100 + 16)
    # Encrypted: the plaintext (the copy's index and zero padding) is not in the volume.
    assert bytes(50) not in volume


def test_the_bare_volume_store_starts_a_new_volume_when_one_is_full(tmp_path: Path) -> None:
    bare_volume_store(4, 300, tmp_path, volume_bytes=1000)
    # Three sealed copies (316 bytes each) fill the volume; the fourth starts a new one.
    assert (tmp_path / "volume").stat().st_size == 316


def test_the_bare_store_writes_reads_and_deletes_what_it_should(tmp_path: Path) -> None:
    seconds = bare_store(5, 7, 100, tmp_path)
    assert seconds > 0
    stores = ("clips", "outbox", "evidence")
    files = {store: list((tmp_path / store).glob("*/*")) for store in stores}
    # One file per upload and per transfer's evidence copy; every transient copy deleted.
    assert len(files["clips"]) == 5
    assert len(files["evidence"]) == 7
    assert files["outbox"] == []
    # Each file is encrypted: its plaintext (the clip's index and zero padding) is not in it.
    for path in files["clips"]:
        assert bytes(50) not in path.read_bytes()


def test_figures_print_without_exponents() -> None:
    assert _figure(10370.4) == "10,370"
    assert _figure(4300403) == "4,300,403"
    assert _figure(6.862) == "6.862"
    assert _figure(0.001681) == "0.001681"
    assert _figure(None) == "None"


class _Counter:
    """A stand-in system: each call answers with how many calls came before it."""

    def __init__(self) -> None:
        self.asked = 0

    def ask(self, *, at_min: float) -> int:
        self.asked += 1
        return self.asked

    def tell(self, *, at_min: float) -> None:
        self.asked += 1


def test_a_replay_answers_each_call_as_the_recorded_system_did() -> None:
    recorder = RecordingPort(_Counter())
    answers = [recorder.ask(at_min=1.0), recorder.tell(at_min=2.0), recorder.ask(at_min=3.0)]
    assert answers == [1, None, 3]
    replay = recorder.replay()
    assert len(replay) == 3
    assert [replay.ask(at_min=9.0), replay.tell(at_min=9.0), replay.ask(at_min=9.0)] == answers
    replay.check_finished()


class _Verdicts:
    """A stand-in system whose answers' verdicts are settled after the call returns."""

    def __init__(self) -> None:
        self.given: list[AnswerVerdict] = []

    def respond(self, *, at_min: float) -> AnswerVerdict:
        self.given.append(AnswerVerdict())
        return self.given[-1]


def test_a_replay_sees_each_verdict_as_the_system_settled_it_later() -> None:
    system = _Verdicts()
    recorder = RecordingPort(system)
    first = recorder.respond(at_min=1.0)
    assert not first.settled
    first.settle(True)  # before the next call: the recording keeps only the outcome
    second = recorder.respond(at_min=2.0)
    second.settle(False)  # after the last call: the recording holds the verdict itself
    replay = recorder.replay()
    again = [replay.respond(at_min=1.0), replay.respond(at_min=2.0)]
    assert [v.accepted for v in again] == [True, False]


def test_a_replay_that_asks_something_else_stops_and_says_where() -> None:
    recorder = RecordingPort(_Counter())
    recorder.ask(at_min=1.0)
    recorder.tell(at_min=2.0)
    replay = recorder.replay()
    with pytest.raises(ReplayDiverged, match="call 1 was ask when recorded, now tell"):
        replay.tell(at_min=1.0)
    replay = recorder.replay()
    replay.ask(at_min=1.0)
    with pytest.raises(ReplayDiverged, match="made 1 of the 2 recorded calls"):
        replay.check_finished()
    replay.tell(at_min=2.0)
    with pytest.raises(ReplayDiverged, match="call 3 \\(ask\\) was never made"):
        replay.ask(at_min=3.0)


def test_the_timed_port_adds_up_calls_and_time_per_method() -> None:
    port = TimedPort(_Counter())
    for _ in range(3):
        port.ask(at_min=0.0)
    port.tell(at_min=0.0)
    assert port.calls == {"ask": 3, "tell": 1}
    assert set(port.seconds) == {"ask", "tell"}
    assert all(seconds >= 0 for seconds in port.seconds.values())
