"""The policy messages are written out with: the SMTP policy, with every folded header remembered.

Folding a Vietnamese header into RFC 2047 encoded words (the subject, the sender's name, the attachment
names) takes the standard library about a millisecond each, and most headers are the same in every
message of a distribution: folded once, they are reused. Folding is a function of the header's name,
kind and value, so the bytes on the wire are exactly those of ``email.policy.SMTP``.
"""

from __future__ import annotations

import threading
from email.policy import EmailPolicy

_MAX_ENTRIES = 4096  # per-recipient headers (To, Message-ID) do not repeat: keep the cache bounded
_cache: dict[tuple, str] = {}
_lock = threading.Lock()


class _RememberedFolds(EmailPolicy):
    def _fold(self, name, value, refold_binary=False):  # type: ignore[no-untyped-def]
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
