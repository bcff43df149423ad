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
from collections import Counter, deque
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


class _Settled:
    """What a recording keeps of an answer's verdict once the driver has settled it."""

    def __init__(self, accepted: bool) -> None:
        self.accepted = accepted


_ACCEPTED, _REFUSED = _Settled(True), _Settled(False)


class RecordingPort:
    """Delegates to a port and keeps, in call order, which method was called and what it
    returned, in little memory so as to add little to the replication's peak: results
    pickled (a few bytes a number), and an answer's verdict, which the driver settles
    after the call, held until then and kept as accepted or refused from then on."""

    def __init__(self, port: Any) -> None:
        self._port = port
        self._methods: dict[str, int] = {}
        self.method_of_call = bytearray()  # an index into method_names per call
        self.results: list[Any] = []
        self._unsettled: deque[tuple[int, AnswerVerdict]] = deque()  # (call, verdict)

    @property
    def method_names(self) -> list[str]:
        return list(self._methods)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._port, name)
        code = self._methods.setdefault(name, len(self._methods))
        codes, results, unsettled = self.method_of_call, self.results, self._unsettled

        def recorded(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            codes.append(code)
            if isinstance(result, AnswerVerdict):
                unsettled.append((len(results), result))
                results.append(result)
            else:
                results.append(None if result is None else pickle.dumps(result, protocol=5))
            # The driver settles verdicts in the order it was given the answers.
            while unsettled and unsettled[0][1].settled:
                at, verdict = unsettled.popleft()
                results[at] = _ACCEPTED if verdict.accepted else _REFUSED
            return result

        setattr(self, name, recorded)
        return recorded

    def replay(self) -> ReplayPort:
        """A port answering as the recorded system did (the results rebuilt now, before a
        replay is timed; every verdict must be settled by then)."""
        results: list[Any] = []
        for result in self.results:
            if isinstance(result, AnswerVerdict | _Settled):
                results.append(AnswerVerdict(result.accepted))  # a verdict unsettled raises
            else:
                results.append(None if result is None else pickle.loads(result))
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
