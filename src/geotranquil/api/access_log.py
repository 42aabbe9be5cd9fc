"""Server logs without secrets: query strings masked in the access log, keys redacted everywhere.

Uvicorn's access log prints each request's path with its query string, so ``?api_key=…`` and
``/geocode?q=<an address a resident typed>`` would be written in clear. :func:`log_config`
is uvicorn's logging configuration with two filters: the access log keeps the parameter names
and masks every value (``/geocode?q=***``), and every other line has anything shaped like an
API key replaced (``gtq_***``).
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

MASK = "***"
#: an API key as :mod:`geotranquil.db.keys` makes them (``gtq_`` + URL-safe base64)
KEY_PATTERN = re.compile(r"gtq_[A-Za-z0-9_\-]+")
#: a parameter name kept as it is; anything else (a bare secret?) is masked too
_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]:]{1,40}")


def mask_query(target: str) -> str:
    """A request target with every query value masked (names kept).

    Examples
    --------
    >>> mask_query("/geocode?q=12%20rue%20de%20Rome&limit=5")
    '/geocode?q=***&limit=***'
    >>> mask_query("/collections/events/items?api_key=gtq_abc&f=csv")
    '/collections/events/items?api_key=***&f=***'
    >>> mask_query("/health")
    '/health'
    """
    path, sep, query = target.partition("?")
    if not sep:
        return redact_keys(target)
    parts = []
    for item in query.split("&"):
        name, eq, _ = item.partition("=")
        name = name if _NAME.fullmatch(name) and not KEY_PATTERN.search(name) else MASK
        parts.append(f"{name}={MASK}" if eq else name)
    return redact_keys(path) + "?" + "&".join(parts)


def redact_keys(text: str) -> str:
    """``text`` with every API key replaced.

    Examples
    --------
    >>> redact_keys("key gtq_Ab-9_x refused")
    'key gtq_*** refused'
    """
    return KEY_PATTERN.sub("gtq_" + MASK, text)


class MaskQueryStrings(logging.Filter):
    """On ``uvicorn.access``: the request target (third argument) with its query masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask_query(args[2]), *args[3:])
        return True


class RedactKeys(logging.Filter):
    """On any handler but the access log's: API keys redacted from the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_keys(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def log_config() -> dict[str, Any]:
    """Uvicorn's logging configuration with the two filters, and ``geotranquil`` loggers
    printed like uvicorn's own (pass it as ``uvicorn.run(..., log_config=log_config())``)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {
        "mask_queries": {"()": f"{__name__}.MaskQueryStrings"},
        "redact_keys": {"()": f"{__name__}.RedactKeys"},
    }
    config["loggers"]["uvicorn.access"]["filters"] = ["mask_queries"]
    config["handlers"]["default"]["filters"] = ["redact_keys"]
    config["loggers"]["geotranquil"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config
