"""Secrets out of URLs and log lines: one redactor for every message we print or log.

A base URL may carry credentials (``http://user:pass@host/v1``) or a key in its query
(``?api-key=...``). ``resolve_endpoint`` refuses the first kind; both are still masked wherever a
URL is printed, and a logging filter masks them in the records of the openai and httpx loggers
(``OPENAI_LOG=debug`` prints every request URL).
"""

from __future__ import annotations

import logging
import re

MASK = "***"
# scheme://userinfo@ -- userinfo is anything up to the host, without "/", "@" or whitespace
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
# ?api-key=...&token=... : query parameters whose name says they are a secret
_SECRET_QUERY = re.compile(
    r"(?P<name>[?&](?:[\w.-]*(?:key|token|secret|password|passwd|sig|signature|auth)[\w.-]*)=)"
    r"[^&#\s'\"]+",
    re.IGNORECASE,
)
# the loggers that print request URLs (httpx2/httpcore2: what this openai release is built on)
URL_LOGGERS = ("openai", "openai._base_client", "httpx", "httpcore", "httpx2", "httpcore2", "fazhi")


def redact(text: str) -> str:
    """``text`` with URL credentials and secret query values replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    return _SECRET_QUERY.sub(lambda m: f"{m['name']}{MASK}", text)


def has_credentials(url: str) -> bool:
    return redact(url) != url


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments applied) through ``redact``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report, never ours to raise
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the filter to the URL-printing loggers and to the root logger's handlers
    (idempotent). A logger's filter sees only records logged on that logger itself, a handler's
    filter every record that reaches it: ``OPENAI_LOG=debug`` logs through a root handler."""
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in URL_LOGGERS]
    targets += logging.getLogger().handlers
    for target in targets:
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
