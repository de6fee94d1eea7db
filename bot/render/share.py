"""The share form."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import (
    MAX_LABEL_CHARS,
    MAX_PASSPHRASE_CHARS,
    MAX_RECIPIENTS,
    MAX_SECRET_CHARS,
    MIN_PASSPHRASE_CHARS,
    Audience,
    SecretRecord,
)
from bot.options import MAX_TOTAL_VIEWS, Expiry, Format, ViewMode
from bot.render import ids
from bot.render.audience import audience_text
from bot.render.blocks import (
    Block,
    Message,
    View,
    context,
    escape,
    modal,
    quoted_name,
    section,
    slack_date,
    text,
)
from bot.secrets.external_form import MAX_EMAILS


def _option(label: str, value: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": text(label), "value": value}
    if description:
        option["description"] = text(description)
    return option


_VIEW_OPTIONS = {
    ViewMode.EACH_ONCE: _option("Once per recipient", ViewMode.EACH_ONCE.value),
    ViewMode.TOTAL: _option("A total number of views", ViewMode.TOTAL.value,
                            "shared by all recipients; give the number below"),
    ViewMode.UNLIMITED: _option("Unlimited until it expires", ViewMode.UNLIMITED.value),
}


_AUDIENCE_OPTIONS = {
    Audience.WORKSPACE: _option("People in this workspace", Audience.WORKSPACE.value),
    Audience.EMAIL: _option("People by email address", Audience.EMAIL.value,
                            "they get the link and a code by email"),
    Audience.LINK: _option("Anyone with the link", Audience.LINK.value,
                           "you send the link yourself"),
}
# Slack's documented limit for a plain_text_input; 64 addresses of up to 254 characters
# would need 16,000, but real addresses are short and the form says how many fit.
EMAILS_MAX_CHARS = 3000


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None, dispatch: bool = False) -> Block:
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": text(label),
                             "element": element, "optional": optional}
    if dispatch:
        block["dispatch_action"] = True
    if hint:
        block["hint"] = text(hint)
    return block


def _select(action_id: str, options: list[dict[str, Any]],
            initial: dict[str, Any]) -> dict[str, Any]:
    return {"type": "static_select", "action_id": action_id, "options": options,
            "initial_option": initial}


def _plain(action_id: str, *, placeholder: str, max_length: int,
           multiline: bool = False) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": action_id, "multiline": multiline,
            "max_length": max_length, "placeholder": text(placeholder)}


@dataclass(frozen=True)
class ShareFormState:
    """What the share form was opened with, kept in its private_metadata so that a change
    of audience can draw it again (views.update) without asking anyone."""

    origin_channel: str | None = None
    initial_users: tuple[str, ...] = ()
    requested_by: str | None = None
    request_reason: str | None = None
    audiences: tuple[Audience, ...] = (Audience.WORKSPACE,)

    def metadata(self) -> str:
        data: dict[str, Any] = {}
        if self.origin_channel:
            data["ch"] = self.origin_channel
        if len(self.audiences) > 1:
            data["aud"] = [a.value for a in self.audiences]
        if self.initial_users:
            data["to"] = list(self.initial_users[:MAX_RECIPIENTS])
        if self.requested_by:
            data["req"] = self.requested_by
        if self.request_reason:
            # Kept escaped, as everywhere else in the view: no mention can hide in it.
            data["why"] = escape(self.request_reason)
        return json.dumps(data)

    @classmethod
    def from_metadata(cls, raw: object) -> ShareFormState:
        """The state a form carried (untrusted shapes are dropped, not guessed)."""
        try:
            data = json.loads(raw) if isinstance(raw, str) and raw else {}
        except json.JSONDecodeError:
            data = {}
        data = data if isinstance(data, dict) else {}

        def string(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        def strings(key: str) -> list[str]:
            value = data.get(key)
            return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

        users = strings("to")
        audiences = [a for a in Audience if a.value in strings("aud")]
        return cls(origin_channel=string("ch"),
                   initial_users=tuple(users[:MAX_RECIPIENTS]),
                   requested_by=string("req"), request_reason=_unescape(string("why")),
                   audiences=tuple(audiences) if Audience.WORKSPACE in audiences
                   else (Audience.WORKSPACE,))


def _unescape(value: str | None) -> str | None:
    """The reverse of `escape`."""
    if value is None:
        return None
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def share_modal(*, initial_users: Sequence[str] = (), origin_channel: str | None = None,
                requested_by: str | None = None, request_reason: str | None = None,
                audiences: Sequence[Audience] = (Audience.WORKSPACE,),
                audience: Audience = Audience.WORKSPACE) -> View:
    """The form a sender fills in (from the command, or answering a request)."""
    return share_form(ShareFormState(origin_channel=origin_channel,
                                     initial_users=tuple(initial_users),
                                     requested_by=requested_by, request_reason=request_reason,
                                     audiences=tuple(audiences)), audience=audience)


def share_form(state: ShareFormState, *, audience: Audience = Audience.WORKSPACE) -> View:
    """The share form for `state`, showing the fields of the chosen `audience` (people to
    pick, addresses to type, or nothing more for a link)."""
    if audience not in state.audiences:
        audience = Audience.WORKSPACE
    formats = [_option(f.label, f.value) for f in Format]
    presets = [_option(e.label, str(e.value)) for e in Expiry]
    notify = _option("Notify me when it is viewed", ids.NOTIFY_VALUE)
    blocks: list[Block] = []
    if state.requested_by:
        why = f": _{escape(state.request_reason)}_" if state.request_reason else "."
        blocks.append(section(f":inbox_tray: <@{state.requested_by}> asked you for a "
                              f"secret{why}"))
    if len(state.audiences) > 1:
        options = [_AUDIENCE_OPTIONS[a] for a in state.audiences]
        blocks.append(_input(ids.AUDIENCE_BLOCK, "Who can open it",
                             {"type": "radio_buttons", "action_id": ids.AUDIENCE_ACTION,
                              "options": options,
                              "initial_option": _AUDIENCE_OPTIONS[audience]},
                             dispatch=True))
    blocks += _audience_fields(state, audience)
    blocks += [
        _input(ids.SECRET_BLOCK, "Secret",
               _plain(ids.SECRET_ACTION, placeholder="Paste the password, token or key",
                      max_length=MAX_SECRET_CHARS, multiline=True),
               hint="Encrypted before it is stored. Never posted in a conversation."),
        _input(ids.FORMAT_BLOCK, "Format",
               _select(ids.FORMAT_ACTION, formats, formats[0]),
               hint="JSON, YAML and .env are checked now and shown tidied on reveal."),
        _input(ids.LABEL_BLOCK, "Label",
               _plain(ids.LABEL_ACTION, placeholder="e.g. Staging DB password",
                      max_length=MAX_LABEL_CHARS),
               optional=True, hint="Shown to the recipients. Don't put the secret here."),
        _input(ids.EXPIRY_BLOCK, "Expires after",
               _select(ids.EXPIRY_ACTION, presets, _option(Expiry.default().label,
                                                           str(Expiry.default().value)))),
        _input(ids.CUSTOM_EXPIRY_BLOCK, "Or a custom expiry",
               _plain(ids.CUSTOM_EXPIRY_ACTION, placeholder="e.g. 45m, 12h, 3d", max_length=16),
               optional=True, hint="From 5 minutes to 30 days; replaces the choice above."),
        _input(ids.VIEWS_BLOCK, "Views allowed",
               _select(ids.VIEWS_ACTION, list(_VIEW_OPTIONS.values()),
                       _VIEW_OPTIONS[ViewMode.EACH_ONCE])),
        _input(ids.TOTAL_VIEWS_BLOCK, "Total views",
               {"type": "number_input", "action_id": ids.TOTAL_VIEWS_ACTION,
                "is_decimal_allowed": False, "min_value": "1",
                "max_value": str(MAX_TOTAL_VIEWS)},
               optional=True, hint="Only for \"A total number of views\"."),
        _input(ids.PASSPHRASE_BLOCK, "Passphrase",
               _plain(ids.PASSPHRASE_ACTION,
                      placeholder=f"Optional: {MIN_PASSPHRASE_CHARS} characters or more",
                      max_length=MAX_PASSPHRASE_CHARS),
               optional=True,
               hint="Recipients must type it to reveal the secret. Send it to them another "
                    "way (phone, another app), never in Slack."),
        _input(ids.NOTIFY_BLOCK, "Receipts",
               {"type": "checkboxes", "action_id": ids.NOTIFY_ACTION, "options": [notify],
                "initial_options": [notify]}, optional=True),
        context("The secret is destroyed when its views are used up, when it expires, or "
                "when you revoke it."),
    ]
    return modal("Share a secret", blocks, close="Cancel", submit=text("Share"),
                 callback_id=ids.SHARE_CALLBACK, private_metadata=state.metadata())


def _audience_fields(state: ShareFormState, audience: Audience) -> list[Block]:
    if audience is Audience.EMAIL:
        mail = _option("Email the link to them", ids.MAIL_VALUE)
        return [
            _input(ids.EMAILS_BLOCK, "Email addresses",
                   _plain(ids.EMAILS_ACTION, placeholder="bob@vendor.com, carol@example.org",
                          max_length=EMAILS_MAX_CHARS, multiline=True),
                   hint=f"Up to {MAX_EMAILS}, separated by commas or new lines. Each person "
                        "proves their address with a code we email them."),
            _input(ids.MAIL_BLOCK, "Sending the link",
                   {"type": "checkboxes", "action_id": ids.MAIL_ACTION, "options": [mail],
                    "initial_options": [mail]}, optional=True,
                   hint="Either way, the link is shown to you once, after Share."),
        ]
    if audience is Audience.LINK:
        return [context(":link: Whoever holds the link can open it: after Share it is shown "
                        "to you once, to send as you see fit. A passphrase, sent another "
                        "way, keeps it safe from anyone who sees the link.")]
    users: dict[str, Any] = {"type": "multi_users_select", "action_id": ids.RECIPIENTS_ACTION,
                             "placeholder": text("Pick people"),
                             "max_selected_items": MAX_RECIPIENTS}
    if state.initial_users:
        users["initial_users"] = list(state.initial_users)[:MAX_RECIPIENTS]
    return [_input(ids.RECIPIENTS_BLOCK, "Share with", users)]


def link_modal(record: SecretRecord, *, url: str, mailing: bool) -> View:
    """After Share, for people outside Slack: the link, once (it is never posted, and the
    bot keeps no copy of its key), with the code, who it is for and until when."""
    named = f" *{escape(record.label)}*" if record.label else ""
    if mailing:
        lead = (f":email: Your secret{named} is shared. We are emailing the link to "
                f"{audience_text(record.recipients, addresses=3)}. Here it is for you too:")
    elif record.audience is Audience.LINK:
        lead = (f":link: Your secret{named} is shared. Copy this link and send it to the "
                "person who needs it: whoever has it can open the secret.")
    else:
        lead = (f":link: Your secret{named} is shared. Copy this link and send it to "
                f"{audience_text(record.recipients, addresses=3)}:")
    facts = [f"Share code: `{record.code}`",
             f"For: {audience_text(record.recipients, addresses=3)}",
             f"Expires {slack_date(record.expires_at)}; "
             f"{record.view_limit.describe(len(record.recipients))}."]
    if record.audience is Audience.EMAIL:
        facts.append("Each recipient proves their address with a code sent to it.")
    if record.has_passphrase:
        facts.append(":key: Send the passphrase another way (phone, another app), never "
                     "with the link.")
    return modal("Copy the link", [
        section(lead),
        # Preformatted: copied exactly as it is (Slack neither links nor reformats it).
        {"type": "rich_text", "block_id": "link",
         "elements": [{"type": "rich_text_preformatted",
                       "elements": [{"type": "text", "text": url}]}]},
        section("\n".join(facts)),
        context(":warning: This link is shown only once. It is not posted anywhere. "
                "`/share-secret revoke` with the code destroys the secret."),
    ], close="Done")


AUDIENCE_UNAVAILABLE = ("Sharing outside Slack is not available here any more. Choose "
                        "people in this workspace.")
LINK_ALREADY_SHOWN = modal("Already shared", [
    section("This form was already shared, and its link was shown then, once. If you did "
            "not copy it, revoke the secret (`/share-secret list`) and share it again."),
], close="Done")


def link_not_mailed_notice(record: SecretRecord) -> Message:
    """The sender's DM when the link could not be mailed."""
    body = (f":warning: Couldn't email the link of your secret "
            f"{quoted_name(record.label, record.code)} to {audience_text(record.recipients)}. "
            "Send them the link yourself; if you "
            f"did not copy it, revoke the secret (`/share-secret revoke {record.code}`) and "
            "share it again.")
    return {"text": body, "blocks": [section(body)]}
