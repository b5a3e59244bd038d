"""The recipient's header folded directly: what a reader decodes is what the standard fold gives."""

from __future__ import annotations

import email
import email.policy
from email.header import decode_header
from email.headerregistry import Address
from email.message import EmailMessage

import pytest

from cchc.delivery.wire import WIRE_POLICY

NAMES = [
    "Chủ tịch UBND xã Tân Kỳ",
    "Giám đốc Sở Nông nghiệp và Môi trường thành phố Hải Phòng, kiêm Trưởng ban chỉ đạo",
    '[THỬ NGHIỆM] Thủ trưởng "Công an" tỉnh, Bảo hiểm xã hội; Thuế <tỉnh>',
    " ".join(["Ủy ban nhân dân đặc khu Bạch Long Vĩ"] * 4),
    "Nguyễn" * 30,  # no space to break at
    "Đ",
    "Chủ tịch UBND xã 😀 emoji",
]


def _both(name: str, address: str) -> tuple[bytes, bytes]:
    out = []
    for policy in (WIRE_POLICY, email.policy.SMTP):
        message = EmailMessage(policy=policy)
        message["To"] = Address(display_name=name, addr_spec=address)
        message.set_content("x")
        out.append(message.as_bytes(policy=policy))
    return out[0], out[1]


def _decoded(raw_header: str) -> tuple[str, str]:
    """Display name and address as RFC 2047 reads them (§6.2: the space between two encoded words
    is not part of the text), with the standard library's conforming decoder."""
    name, address = "", ""
    for data, charset in decode_header(raw_header):
        if charset:
            name += data.decode(charset)
        else:
            address += data.decode("ascii") if isinstance(data, bytes) else data
    return name, address.strip().strip("<>")


@pytest.mark.parametrize("name", NAMES)
def test_a_reader_decodes_the_same_name_and_address(name):
    address = "chutich.tanky@tuky.haiduong.gov.vn"
    ours, standard = _both(name, address)
    raw = email.message_from_bytes(ours, policy=email.policy.compat32)["To"]
    assert _decoded(raw) == (name, address)
    # The standard library's own reading agrees on the address; its phrase decoder keeps the fold's
    # line break as a space, so the name is compared without spaces (for ours and its own fold).
    for wire in (ours, standard):
        [read] = email.message_from_bytes(wire, policy=email.policy.default)["To"].addresses
        assert read.addr_spec == address
        assert read.display_name.replace(" ", "") == name.replace(" ", "")
    head = ours.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert head.isascii()


def test_what_it_does_not_handle_goes_the_standard_way():
    # ASCII names, several addresses: byte for byte the standard library's fold.
    for value in (
        Address(display_name="Operator", addr_spec="op@tuky.haiduong.gov.vn"),
        [Address(addr_spec="a@x.gov.vn"), Address(display_name="Bé", addr_spec="b@x.gov.vn")],
    ):
        outs = []
        for policy in (WIRE_POLICY, email.policy.SMTP):
            message = EmailMessage(policy=policy)
            message["To"] = value
            outs.append(message.as_bytes(policy=policy))
        assert outs[0] == outs[1]


def test_a_line_break_in_a_name_is_still_refused():
    message = EmailMessage(policy=WIRE_POLICY)
    with pytest.raises(ValueError):
        message["To"] = "Xã Tân\r\nBcc: attacker@example.com <a@x.gov.vn>"
