"""Structured JSON logs with the request id; never secrets or resident PII (SEC-07).

Access lines carry the route *template* (``/api/v1/me/notifications/{notification_id}``),
the status and the latency: no query strings, bodies, headers, tokens or
client addresses.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

LOGGER_NAME = "canvass.api"
request_id_var: ContextVar[str] = ContextVar("canvass_request_id", default="-")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def api_logger() -> logging.Logger:
    """The API's logger, given a JSON handler on first use unless one is configured."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger
