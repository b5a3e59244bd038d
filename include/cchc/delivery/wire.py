"""The policy messages are built and written out with: the SMTP policy, remembering headers.

Parsing a header into its object and folding a Vietnamese one into RFC 2047 encoded words (the subject,
the sender's name, the attachment names) take the standard library most of the time of composing a
message, and most headers are the same in every message of a distribution: parsed and folded once,
they are reused. A header object is immutable and both steps are functions of the header's name, kind
and value, so the bytes on the wire are exactly those of ``email.policy.SMTP``.
"""

from __future__ import annotations

import base64
import re
import threading
from email.generator import BytesGenerator
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from io import BytesIO

_MAX_ENTRIES = 4096  # per-recipient headers (To, Message-ID) do not repeat: keep the cache bounded
_cache: dict[tuple, str] = {}
_headers: dict[tuple[str, str], object] = {}
_lock = threading.Lock()
_WORD_OPEN, _WORD_CLOSE = "=?utf-8?b?", "?="
_MAX_WORD = 75  # RFC 2047 §2: an encoded word is at most 75 characters
_MAX_LINE = 78  # RFC 5322 §2.1.1: lines should not be longer
_NEWLINE = re.compile(r"\r\n|\r|\n")  # email.generator's NLCRE (not among its public names)


def _word_length(text: str) -> int:
    return len(_WORD_OPEN) + len(_WORD_CLOSE) + 4 * -(-len(text.encode("utf-8")) // 3)


def _encoded_words(text: str, first_room: int) -> list[str]:
    """``text`` as RFC 2047 B encoded words of whole characters: the first at most ``first_room``
    characters long, the others at most 75 (each goes on a line of its own). A word ends after a
    space where it can: a reader that (against §6.2) keeps the line break between two words as a
    space then only doubles a space, never splits a syllable."""
    pieces: list[str] = []
    current = ""
    room = min(first_room, _MAX_WORD)
    for char in text:
        if current and _word_length(current + char) > room:
            cut = current.rfind(" ") + 1
            if 0 < cut < len(current):
                pieces.append(current[:cut])
                current = current[cut:]
            else:
                pieces.append(current)
                current = ""
            room = _MAX_WORD
        current += char
    pieces.append(current)
    return [_WORD_OPEN + base64.b64encode(p.encode("utf-8")).decode("ascii") + _WORD_CLOSE for p in pieces]


def fold_one_address(name: str, value: object, linesep: str) -> str | None:
    """The header of one address whose display name is not ASCII, folded directly, or None.

    The standard library refolds such a header through its full parser, some 4 ms a message: of all
    headers, only the recipient's (To) differs in every message and so cannot be remembered. The
    display name becomes B encoded words, one per line, then the address; a reader decodes exactly
    the name and the address the standard fold would give (tests/delivery/test_delivery_wire.py).
    """
    if not isinstance(value, AddressHeader) or len(value.addresses) != 1:
        return None
    address = value.addresses[0]
    display, spec = address.display_name, address.addr_spec
    if not display or display.isascii() or not spec.isascii() or "\r" in display or "\n" in display:
        return None
    words = _encoded_words(display, _MAX_LINE - len(name) - 2)
    return f"{name}: " + f"{linesep} ".join([*words, f"<{spec}>"]) + linesep


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
        if not self.utf8 and name.lower() in ("to", "cc"):
            folded = fold_one_address(name, value, self.linesep)
            if folded is not None:
                return folded
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


class _WireGenerator(BytesGenerator):
    """``BytesGenerator`` writing a part's body in one piece: the standard one writes it line by line,
    some 5,000 calls for the base64 lines of a 300 KB PDF in every message. Same bytes."""

    def _write_lines(self, lines):
        if lines:
            self.write(_NEWLINE.sub(self._NL, lines))


def wire_bytes(message: EmailMessage) -> bytes:
    """``message.as_bytes(policy=WIRE_POLICY)``, the same bytes, written by ``_WireGenerator``."""
    out = BytesIO()
    _WireGenerator(out, mangle_from_=False, policy=WIRE_POLICY).flatten(message, unixfrom=False)
    return out.getvalue()


def attachment_part(data: bytes, maintype: str, subtype: str, filename: str) -> EmailMessage:
    """The MIME part ``EmailMessage.add_attachment`` would make for this file (base64 encoded once:
    the part is shared by every message of a distribution and never changed after)."""
    part = EmailMessage(policy=WIRE_POLICY)
    part.set_content(
        data,
        maintype=maintype,
        subtype=subtype,
        disposition="attachment",
        filename=filename,
        params={"name": filename},
    )
    return part
