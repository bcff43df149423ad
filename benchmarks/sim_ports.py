"""Ports that ``bench sim`` puts between the model and the system.

:class:`TimedPort` adds up the time inside each of the system's calls, so the
wall time splits into the system's work and the model's. That split charges the
model for more than its own instructions: the system's work between two of the
model's steps evicts the model's data and code from the processor's caches, and
the model then runs slower than it would alone. :class:`RecordingPort` keeps the
answer of every call in order and :class:`ReplayPort` gives them back to a second
run of the same model (same population, parameters and seed), which then does
exactly the same work with no system in between: its time is the model's own
(``model_alone_s``). A replay that asks anything other than what was recorded
stops with :class:`ReplayDiverged` (the model is not a function of its seed and
the system's answers).
"""

from __future__ import annotations

import pickle
import time
from collections import Counter
from typing import Any

from sim.core.ports import AnswerVerdict


class TimedPort:
    """Delegates to a port and adds up the wall time spent inside each of its methods
    (the system's work as the model sees it, deferred answers included where applied)."""

    def __init__(self, port: Any) -> None:
        self._port = port
        self.seconds: dict[str, float] = {}
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._port, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
                self.calls[name] += 1

        setattr(self, name, timed)  # built once: later calls find it without __getattr__
        return timed


class ReplayDiverged(RuntimeError):
    """The replayed model asked the system something the recorded run did not."""


class RecordingPort:
    """Delegates to a port and keeps, in call order, which method was called and what it
    returned. Results are kept pickled, a few bytes a number, so that the recording adds
    little to the replication's peak memory; an answer's verdict is kept as the object
    itself, since the driver settles it later (and the replay sees it settled)."""

    def __init__(self, port: Any) -> None:
        self._port = port
        self._methods: dict[str, int] = {}
        self.method_of_call = bytearray()  # an index into method_names per call
        self.results: list[Any] = []

    @property
    def method_names(self) -> list[str]:
        return list(self._methods)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._port, name)
        code = self._methods.setdefault(name, len(self._methods))
        codes, results = self.method_of_call, self.results

        def recorded(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            codes.append(code)
            live = result is None or isinstance(result, AnswerVerdict)
            results.append(result if live else pickle.dumps(result, protocol=5))
            return result

        setattr(self, name, recorded)
        return recorded

    def replay(self) -> ReplayPort:
        """A port answering as the recorded system did (the results unpickled now, before a
        replay is timed)."""
        results = [
            r if isinstance(r, AnswerVerdict | None) else pickle.loads(r) for r in self.results
        ]
        return ReplayPort(self.method_names, self.method_of_call, results)


class ReplayPort:
    """Answers each call with what the recorded run's system returned at that point."""

    def __init__(self, names: list[str], method_of_call: bytearray, results: list[Any]) -> None:
        self._names = names
        self._method_of_call = method_of_call
        self._results = results
        self._next = 0

    def __getattr__(self, name: str) -> Any:
        def replayed(*_args: Any, **_kwargs: Any) -> Any:
            at = self._next
            if at >= len(self._results):
                raise ReplayDiverged(f"call {at + 1} ({name}) was never made in the recording")
            recorded = self._names[self._method_of_call[at]]
            if recorded != name:
                raise ReplayDiverged(f"call {at + 1} was {recorded} when recorded, now {name}")
            self._next = at + 1
            return self._results[at]

        setattr(self, name, replayed)
        return replayed

    def __len__(self) -> int:
        return len(self._results)

    def check_finished(self) -> None:
        """Every recorded call was asked again."""
        if self._next != len(self._results):
            raise ReplayDiverged(
                f"the replay made {self._next:,} of the {len(self._results):,} recorded calls"
            )
