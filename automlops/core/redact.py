"""Keeping secrets out of messages.

An error from an HTTP library often quotes the URL it was given, and a URL may carry
credentials (``https://user:token@host``); a message may also quote a password verbatim.
:func:`redact` removes both before a message reaches a log, a screen or an MLflow param.
There is one copy of the pattern so that a fix to it reaches every caller.
"""

from __future__ import annotations

import re

__all__ = ["URL_USERINFO", "redact"]

URL_USERINFO = re.compile(r"(https?://)[^/@\s]+@")
"""The ``user:password@`` part of an ``http(s)://`` URL (the scheme is kept as group 1)."""


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with URL credentials replaced by ``***@`` and each non-empty secret by ``***``.

    >>> redact("no answer from https://ada:s3cr3t@host/api (password s3cr3t)", "s3cr3t")
    'no answer from https://***@host/api (password ***)'
    """
    text = URL_USERINFO.sub(r"\1***@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
