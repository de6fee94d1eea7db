"""The App Home tab: the user's own secrets, and for admins the workspace's."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import AuditEvent, SecretRecord, Status
from bot.render import ids
from bot.render.audience import audience_text
from bot.render.audit import audit_message
from bot.render.blocks import (
    Block,
    Message,
    View,
    button,
    context,
    escape,
    in_words,
    notice,
    section,
    slack_date,
    text,
    who,
)
from bot.render.manage import _STATUS_WORDS, revoke_button, status_line, views_summary
from bot.render.policy import policy_section
from bot.workspaces.policy import PolicyView

MINE_ACTIVE, MINE_ENDED = 30, 15


@dataclass(frozen=True)
class AdminPage:
    """What an admin is looking at: filters and a page of rows."""

    records: Sequence[SecretRecord]
    status: str | None = None  # "active" | "ended" | None (all)
    sender_id: str | None = None
    page: int = 0
    has_next: bool = False


def home_view(mine: Sequence[SecretRecord], *, now: float,
              admin: AdminPage | None = None, policy: PolicyView | None = None) -> View:
    """The Home tab: a Share button, active secrets with Revoke, then recently ended; for
    admins, the workspace's secrets and (with web pages) the external sharing policy."""
    active = [r for r in mine if r.status is Status.ACTIVE]
    ended = [r for r in mine if r.status is not Status.ACTIVE]
    blocks: list[Block] = [
        section(":lock: *Share a secret* — a password, key or credential that each recipient "
                "can reveal privately, then it is destroyed.",
                accessory=button("Share a secret", action_id=ids.OPEN_FORM_ACTION,
                                 value="home", style="primary")),
        section(f"*Your active secrets* ({len(active)})"),
    ]
    for record in active[:MINE_ACTIVE]:
        blocks.append(section(status_line(record, now), block_id=f"home:{record.secret_id}",
                              accessory=revoke_button(record)))
    if not active:
        blocks.append(context("Nothing active. Shared secrets show up here until they are "
                              "viewed, expire or are revoked."))
    if ended:
        blocks.append(section("*Recently ended*"))
        blocks += [section(status_line(r, now)) for r in ended[:MINE_ENDED]]
    hidden = max(0, len(active) - MINE_ACTIVE) + max(0, len(ended) - MINE_ENDED)
    if hidden:
        blocks.append(context(f"{hidden} more not shown: `/share-secret list`."))
    if admin is not None:
        blocks += admin_panel(admin, now=now)
    if admin is not None and policy is not None:
        blocks += policy_section(policy)
    state = {"status": admin.status, "sender": admin.sender_id, "page": admin.page} \
        if admin else {}
    return {"type": "home", "blocks": blocks, "private_metadata": json.dumps(state)}


def home_unavailable_view() -> View:
    """The Home tab while the secret store cannot be reached: the secrets are safe, only
    the list cannot be shown."""
    return {"type": "home", "private_metadata": "{}", "blocks": [
        section(":warning: Share-secret can't reach its storage right now, so your secrets "
                "can't be listed. They are safe: nothing was lost or revealed. Open this tab "
                "again in a minute."),
    ]}


def admin_panel(page: AdminPage, *, now: float) -> list[Block]:
    """Every secret in the workspace (metadata only), filterable, one page at a time."""
    choices = {None: "All", "active": "Active", "ended": "Ended"}
    options = [{"text": text(label), "value": value or "all"}
               for value, label in choices.items()]
    sender: dict[str, Any] = {"type": "users_select", "action_id": ids.ADMIN_SENDER_ACTION,
                              "placeholder": text("Any sender")}
    if page.sender_id:
        sender["initial_user"] = page.sender_id
    blocks: list[Block] = [
        {"type": "divider"},
        {"type": "header", "text": text("All secrets in this workspace (admin)")},
        # The block id changes with the filters: Slack keeps a select's shown choice across
        # updates of a block with the same id, which would show a stale filter.
        {"type": "actions",
         "block_id": f"admin_filters:{page.status or 'all'}:{page.sender_id or 'any'}",
         "elements": [
            {"type": "static_select", "action_id": ids.ADMIN_STATUS_ACTION,
             "options": options, "initial_option": options[list(choices).index(page.status)]},
            sender, button("Clear filters", action_id=ids.ADMIN_CLEAR_ACTION, value="clear")]},
    ]
    blocks += [admin_row(r, now) for r in page.records]
    if not page.records:
        blocks.append(context("No secrets match."))
    pager = []
    if page.page > 0:
        pager.append(button("Previous", action_id=ids.ADMIN_PAGE_ACTION,
                            value=str(page.page - 1)))
    if page.has_next:
        pager.append(button("Next", action_id=ids.ADMIN_PAGE_ACTION, value=str(page.page + 1)))
    if pager:
        blocks.append({"type": "actions", "block_id": "admin_pages", "elements": pager})
    blocks.append(context(f"Page {page.page + 1}. Metadata only: nobody, admins included, "
                          "can see a secret's content here."))
    return blocks


def admin_row(record: SecretRecord, now: float) -> Block:
    label = f" *{escape(record.label)}*" if record.label else ""
    when = (f"expires in {in_words(record.expires_at - now)}" if record.status is Status.ACTIVE
            else f"ended {slack_date(record.ended_at or record.expires_at)}")
    line = (f"`{record.code}`{label} from {who(record.sender_id)} to "
            f"{audience_text(record.recipients, limit=5)} · {_STATUS_WORDS[record.status]} · "
            f"{views_summary(record)} · {when}")
    block = section(line, block_id=f"admin:{record.secret_id}")
    if record.status is Status.ACTIVE:
        block["accessory"] = revoke_button(record, action_id=ids.ADMIN_REVOKE_ACTION)
    return block


def admin_list(page: AdminPage, *, now: float) -> Message:
    """`/share-secret admin list`: one page of rows, as a private reply."""
    blocks: list[Block] = [section("*Secrets in this workspace* (metadata only)")]
    blocks += [admin_row(r, now) for r in page.records]
    if not page.records:
        blocks.append(context("No secrets match."))
    elif page.has_next:
        blocks.append(context("More on the Home tab, which pages through all of them."))
    return {"response_type": "ephemeral", "text": "Secrets in this workspace",
            "blocks": blocks}


def admin_audit(events: Sequence[AuditEvent], *, about: str) -> Message:
    """`/share-secret admin audit`: the latest events, newest first, readable."""
    if not events:
        return notice(f"No audit events {about}.")
    blocks: list[Block] = [section(f"*Latest audit events {about}*")]
    blocks += [section(audit_message(e)["text"]) for e in events[:40]]
    return {"response_type": "ephemeral", "text": f"Audit events {about}", "blocks": blocks}
