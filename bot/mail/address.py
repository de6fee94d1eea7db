"""Mail addresses as the bot accepts them: one mailbox, `name@domain` or
`Display Name <name@domain>`, with no header tricks (no line breaks, no groups or lists);
and a recipient's bare address (`plain_address`), stricter still."""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address, AddressHeader
from email.policy import default

MAX_ADDRESS_CHARS = 254  # RFC 5321's limit on a forward path
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# RFC 5322's dot-atom, ASCII only: no quoted local parts, encoded words (=?...?=), control
# or bidi characters, which could make an address read as another or reach another box.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDRESS = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+$")


def plain_address(text: str) -> str | None:
    """A recipient's address as typed (`bob@vendor.com`, or `<bob@vendor.com>`),
    lower-cased; None when it is not one the bot accepts."""
    address = text.strip().strip("<>").lower()
    if len(address) > MAX_ADDRESS_CHARS or not _ADDRESS.match(address) or "=?" in address:
        return None
    return address


def parse_address(value: str) -> Address:
    """The one mailbox `value` names; ValueError saying what is wrong (without quoting it)."""
    value = value.strip()
    if not value or any(c in value for c in "\r\n\0"):
        raise ValueError("must be one mail address, such as share-secret@example.com")
    try:
        header = default.header_factory("To", value)
    except (HeaderParseError, IndexError, ValueError):
        raise ValueError("must be one mail address, such as share-secret@example.com") from None
    defects = header.defects
    assert isinstance(header, AddressHeader)
    groups = header.groups
    if defects or len(groups) != 1 or groups[0].display_name is not None \
            or len(groups[0].addresses) != 1:
        raise ValueError("must be exactly one mail address, such as share-secret@example.com")
    address = groups[0].addresses[0]
    if not address.username or "." not in address.domain or " " in address.addr_spec:
        raise ValueError("must be a mail address with a user and a domain, such as "
                         "share-secret@example.com")
    return address
