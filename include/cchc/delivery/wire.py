"""The policy messages are built and written out with: the SMTP policy, remembering headers.

Parsing a header into its object and folding a Vietnamese one into RFC 2047 encoded words (the subject,
the sender's name, the attachment names) take the standard library most of the time of composing a
message, and most headers are the same in every message of a distribution: parsed and folded once,
they are reused. A header object is immutable and both steps are functions of the header's name, kind
and value, so the bytes on the wire are exactly those of ``email.policy.SMTP``.
"""

from __future__ import annotations

import threading
from email.policy import EmailPolicy

_MAX_ENTRIES = 4096  # per-recipient headers (To, Message-ID) do not repeat: keep the cache bounded
_cache: dict[tuple, str] = {}
_headers: dict[tuple[str, str], object] = {}
_lock = threading.Lock()


class _RememberedFolds(EmailPolicy):
    def header_store_parse(self, name, value):
        if not isinstance(value, str) or hasattr(value, "name"):
            return super().header_store_parse(name, value)
        key = (name, value)
        header = _headers.get(key)
        if header is None:
            name, header = super().header_store_parse(name, value)  # refuses CR/LF as it does
            with _lock:
                if len(_headers) >= _MAX_ENTRIES:
                    _headers.clear()
                _headers[key] = header
        return name, header

    def _fold(self, name, value, refold_binary=False):
        # What the fold depends on: the header, and the settings of the policy (a clone may differ).
        # (The registry makes a new class for every header it parses; its bases are the header's kind.)
        key = (
            type(value).__bases__,
            name.lower(),
            str(value),
            bool(refold_binary),
            self.max_line_length,
            self.linesep,
            self.utf8,
            self.refold_source,
        )
        folded = _cache.get(key)
        if folded is None:
            folded = super()._fold(name, value, refold_binary=refold_binary)
            with _lock:
                if len(_cache) >= _MAX_ENTRIES:
                    _cache.clear()
                _cache[key] = folded
        return folded


# email.policy.SMTP is ``default.clone(linesep="\r\n")``: the same settings.
WIRE_POLICY = _RememberedFolds(linesep="\r\n")
