"""What recipients see: the Reveal message, the secret itself, and every refusal."""

from __future__ import annotations

import json

from bot.domain import SecretRecord
from bot.render import ids
from bot.render.blocks import (
    Message,
    View,
    button,
    context,
    escape,
    in_words,
    modal,
    quoted_name,
    section,
    slack_date,
    text,
    who,
)


def reveal_prompt(record: SecretRecord) -> Message:
    """The message a recipient gets: who sent what, and a Reveal button (a value, no URL)."""
    what = f"*{escape(record.label)}*" if record.label else "a secret"
    intro = f"{who(record.sender_id)} shared {what} with you."
    lock = ("\n:key: It is protected by a passphrase, which the sender will give you "
            "another way.") if record.has_passphrase else ""
    limit = record.view_limit.describe(len(record.recipients))
    action = ids.REVEAL_LOCKED_ACTION if record.has_passphrase else ids.REVEAL_ACTION
    return {
        "text": f"{intro} Open it with the Reveal button.",
        "blocks": [
            section(f":lock: {intro}{lock}\nIt expires {slack_date(record.expires_at)}; "
                    f"{limit}."),
            {"type": "actions", "block_id": "reveal", "elements": [
                button("Reveal secret", action_id=action, value=record.secret_id,
                       style="primary")]},
            context(f"Share code `{record.code}` · shown only to you, in a private window"),
        ],
    }


def after_view(mode: str, views_left: int | None) -> str:
    """What happens to the secret now that it has been shown (worded for the viewer)."""
    if mode == "unlimited":
        return "You can view it again until it expires."
    if views_left == 0:
        return "That was the last view: it has now been destroyed."
    if mode == "total":
        return f"{views_left} view{'s' if views_left != 1 else ''} left in all."
    return "That was your one view: it cannot be shown to you again."


def revealed_modal(plaintext: str, *, sender_id: str, code: str, label: str | None,
                   mode: str = "each", views_left: int | None = 0) -> View:
    """The one place a secret is shown: a modal, so it never lands in a conversation."""
    after = after_view(mode, views_left)
    return modal("Your secret", [
        section(f"From {who(sender_id)} · {quoted_name(label, code)}"),
        # Preformatted rich text shows the secret verbatim: no mrkdwn, no escaping.
        {"type": "rich_text", "elements": [{"type": "rich_text_preformatted",
                                            "elements": [{"type": "text", "text": plaintext}]}]},
        context(f":fire: {after} Copy what you need before you close this window."),
    ], close="Done")



def revealed_message(*, sender_id: str, code: str, label: str | None, at: float,
                     reveal_again: tuple[str, str] | None = None) -> Message:
    """What the recipient's Reveal message becomes once they have seen the secret; it
    keeps a Reveal button when they may view it again (`(action id, secret id)`)."""
    body = (f":unlock: You revealed {quoted_name(label, code)} from {who(sender_id)} "
            f"{slack_date(at)}.")
    blocks = [section(body)]
    if reveal_again:
        action, secret_id = reveal_again
        blocks.append({"type": "actions", "block_id": "reveal", "elements": [
            button("Reveal again", action_id=action, value=secret_id)]})
    return {"replace_original": True, "text": body, "blocks": blocks}


def reveal_unconfirmed_message(sender_id: str | None) -> Message:
    """Slack did not confirm the secret was shown; the view counts as used, to be safe."""
    sender = who(sender_id) if sender_id else "the sender"
    return {"response_type": "ephemeral", "replace_original": False,
            "text": f":warning: Slack did not confirm that the secret was shown to you. If you "
                    f"did not see it, ask {sender} to share it again: to be safe, that view "
                    "counts as used."}


def opening_modal() -> View:
    """Shown while the passphrase is checked (it takes a moment on purpose)."""
    return modal("Unlock secret", [section(":hourglass_flowing_sand: Checking the "
                                           "passphrase…")])


def ended_prompt(record: SecretRecord, why: str) -> Message:
    """A Reveal DM after its secret was revoked or expired (no button any more)."""
    body = (f":no_entry_sign: The secret {who(record.sender_id)} shared "
            f"({quoted_name(record.label, record.code)}) {why}. It can no longer be viewed.")
    return {"text": body, "blocks": [section(body)]}


def passphrase_modal(*, secret_id: str, response_url: str | None,
                     error: str | None = None) -> View:
    """Asks a recipient for the passphrase before the secret is revealed."""
    metadata = json.dumps({"id": secret_id, "url": response_url})
    intro = f":x: {error}" if error else (":key: This secret is protected by a passphrase. "
                                          "The sender should have given it to you outside "
                                          "Slack.")
    return modal("Unlock secret", [
        section(intro),
        {"type": "input", "block_id": ids.UNLOCK_BLOCK, "label": text("Passphrase"),
         "element": {"type": "plain_text_input", "action_id": ids.UNLOCK_ACTION,
                     "max_length": 200}},
        context("A wrong passphrase does not use up your view. Too many wrong tries lock "
                "the secret for a while."),
    ], close="Cancel", submit=text("Reveal"), callback_id=ids.UNLOCK_CALLBACK,
        private_metadata=metadata)


def wrong_passphrase(tries_left: int) -> str:
    return (f"That passphrase is not right. {tries_left} more "
            f"{'try' if tries_left == 1 else 'tries'} before the secret is locked for 30 "
            "minutes.")


def locked(seconds: int) -> str:
    return (f"Too many wrong passphrases: this secret is locked for {in_words(seconds)}. "
            "Your view has not been used up.")


def _notice_modal(body: str) -> View:
    return modal("Share-secret", [section(body)])


def not_for_you_modal() -> View:
    return _notice_modal(":no_entry: This secret was not shared with you.")


def unavailable_modal() -> View:
    return _notice_modal(
        ":hourglass: This secret is no longer available. It may have been viewed already, "
        "have expired or been revoked. Ask the sender to share it again if you still need it.")


def store_down_modal() -> View:
    return _notice_modal(
        ":warning: Share-secret is temporarily unavailable. The secret is still there: "
        "please try again in a minute.")


def locked_modal(seconds: int) -> View:
    return _notice_modal(f":lock: {locked(seconds)}")


def guesses_pending_modal() -> View:
    """Every passphrase try allowed for now is counted, and some are still being checked
    (several people typed one at once)."""
    return _notice_modal(
        ":hourglass: Other passphrase tries for this secret are being checked right now, and "
        "no more are allowed until they are done. Try again in a minute. Your view has not "
        "been used up.")


def opening_elsewhere_modal() -> View:
    """An unlock form submitted while the same person's reveal of the secret is already
    under way in another window (the first one answers it)."""
    return _notice_modal(
        ":hourglass: This secret is already being opened in another window: look there. "
        "Nothing was used up by this one. If the other window did not show it, click "
        "*Reveal secret* again.")


def reveal_failed_modal(sender_id: str | None) -> View:
    sender = who(sender_id) if sender_id else "the sender"
    return _notice_modal(
        f":warning: This secret couldn't be opened. It has not been used up: please "
        f"contact {sender} and try again later.")


def reveal_retry_message() -> Message:
    """Sent privately when the secret could not be shown in time; it was not used up."""
    return {"response_type": "ephemeral", "replace_original": False,
            "text": ":warning: Couldn't open the secret in time. It is still there: "
                    "click *Reveal secret* again."}
