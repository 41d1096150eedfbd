"""Sentry's before_send: nothing secret leaves the app, and nothing at all when Sentry is off.

The SDK's own scrubber only knows a fixed list of names and only looks in some places; this one walks the
whole event (request, breadcrumbs, contexts, extra, stack frame locals) and also masks secrets inside
strings such as query strings and "Authorization: Bearer ..." values.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .settings import Settings

FILTERED = "[Filtered]"

SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api[-_]?key|auth|cookie|session|credential|private[-_]?key|dsn|csrf",
    re.IGNORECASE,
)
# key=value pairs inside strings (query strings, form bodies, log messages).
_SECRET_PAIR = re.compile(
    r"(?P<key>[\w.-]*(?:pass(?:word|wd)?|secret|token|api[-_]?key|auth|cookie|session|credential)[\w.-]*)"
    r"(?P<sep>\s*[=:]\s*)(?P<value>[^&\s,;]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)

Event = dict[str, Any]


def make_before_send(settings: Settings) -> Callable[[Event, dict], Event | None]:
    def before_send(event: Event, hint: dict) -> Event | None:
        if not settings.sentry_enabled:
            return None
        return scrub(event)

    return before_send


def scrub(value: Any) -> Any:
    """A copy of `value` with secrets masked: values under sensitive keys, and secrets inside strings."""
    if isinstance(value, dict):
        return {key: FILTERED if _is_sensitive(key, item) else scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        # Header lists in Sentry events are [[name, value], ...].
        if len(value) == 2 and isinstance(value[0], str) and _is_sensitive(value[0], value[1]):
            return [value[0], FILTERED]
        return [scrub(item) for item in value]
    if isinstance(value, tuple):
        return tuple(scrub(list(value)))
    if isinstance(value, str):
        return _scrub_string(value)
    return value


def _is_sensitive(key: Any, value: Any) -> bool:
    # Only leaves are masked by key: a dict under "auth" may still carry harmless structure to keep.
    return isinstance(key, str) and bool(SENSITIVE_KEY.search(key)) and not isinstance(value, (dict, list))


def _scrub_string(text: str) -> str:
    text = _BEARER.sub(lambda m: f"{m.group(1)} {FILTERED}", text)
    return _SECRET_PAIR.sub(lambda m: f"{m.group('key')}{m.group('sep')}{FILTERED}", text)
