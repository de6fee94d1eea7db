"""Mail addresses as the bot accepts them: one mailbox, `name@domain` or
`Display Name <name@domain>`, with no header tricks (no line breaks, no groups or lists)."""

from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address, AddressHeader
from email.policy import default


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
