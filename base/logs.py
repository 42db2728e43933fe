"""Logging set up once, at the CLI edge: plain text for people, JSON lines for log shippers.

JSON lines (``VIGIE_LOG_FORMAT=json``) carry the time, level, logger, the message and
only whitelisted context fields (event, task and alert ids, topic/partition/offset,
stage, table...), passed as ``extra=``. Anything else a caller attaches is dropped,
and the message and exception text are scrubbed of e-mail addresses, long digit runs
(phone, card, IBAN, order numbers) and ``secret=value`` pairs, so a log line never
carries a message text, personal data or a credential by accident.

Faust's worker resets the root logger when it starts; the project's own loggers and
the Kafka/Faust ones therefore get the handler directly and stop propagating in JSON
mode, so their lines stay JSON whatever the worker does to the root.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, Literal

from pythonjsonlogger.orjson import OrjsonFormatter

SAFE_FIELDS = frozenset({
    "event_id", "task_id", "alert_id", "topic", "partition", "offset", "stage", "table",
    "agent", "attempt", "count", "platform", "brand", "queue", "worker", "duration_s",
})
OWN_LOGGERS = ("vigie", "streams", "sinks", "ingest", "schemas", "faust", "mode", "aiokafka")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_SCRUB = (
    (re.compile(r"(?i)\bbearer\s+\S+"), "Bearer <redacted>"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    # Also inside longer names (verify_token, client_secret, access_token); in a query
    # string the value ends at the next parameter.
    (re.compile(r"(?i)([\w.-]*(?:password|passwd|secret|token|api[_-]?key|authorization))"
                r"(\s*[=:]\s*)[^\s&]+"), r"\1\2<redacted>"),
    (re.compile(r"\+?\d[\d .-]{6,}\d"), "<digits>"),
)


def scrub(text: str) -> str:
    """Mask what must never reach a log line (addresses, numbers, credentials)."""
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


class SafeJsonFormatter(OrjsonFormatter):  # type: ignore[misc]
    """One JSON object per record; context fields whitelisted, free text scrubbed."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s %(message)s", timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger"})

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        traces = {k: v for k, v in message_dict.items() if k in ("exc_info", "stack_info")}
        super().add_fields(log_data, record, traces)
        for key in [k for k in log_data if k not in {"level", "logger", "message", "time",
                                                     *traces, *SAFE_FIELDS}]:
            del log_data[key]
        log_data["message"] = scrub(str(log_data.get("message", "")))[:1000]

    def formatException(self, ei: Any) -> str:
        return scrub(str(super().formatException(ei)))


def configure_logging(level: str = "INFO", fmt: Literal["text", "json"] = "text") -> None:
    """Install one stderr handler; call once per process, from the CLI."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeJsonFormatter() if fmt == "json" else
                         logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in OWN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler] if fmt == "json" else []
        logger.propagate = fmt != "json"
