"""What admins see of the external sharing policy: `/share-secret admin policy`, the admin
panel's section and its form."""

from __future__ import annotations

from bot.options import duration_label
from bot.render import ids
from bot.render.blocks import Block, View, button, context, modal, section, text
from bot.secrets.external import ExternalPolicy
from bot.workspaces.policy import PolicyProblem, PolicyView

POLICY_USAGE = (
    "External sharing policy: `/share-secret admin policy` shows it; change it with "
    "`admin policy external on|off`, `admin policy domains example.com,vendor.com|any`, "
    "`admin policy link-passphrase on|off`, `admin policy max-expiry 3d|none`.")
POLICY_UNAVAILABLE = (":information_source: Sharing outside Slack needs the deployment's "
                      "PUBLIC_URL, which is not set: only people in the workspace can be "
                      "chosen, whatever the policy.")
POLICY_GONE = ":warning: This workspace's settings are gone (the app was uninstalled)."
POLICY_UNCHANGED = "That is the policy already; nothing was changed."
_PROBLEMS = {
    PolicyProblem.UNKNOWN: POLICY_USAGE,
    PolicyProblem.SWITCH: "Say `on` or `off`.",
    PolicyProblem.DOMAINS: ("Give domains separated by commas, such as "
                            "`example.com,vendor.com`, or `any`."),
    PolicyProblem.EXPIRY: "Give a duration from 5m to 30d, such as `3d` or `12h`, or `none`.",
}


def policy_problem(problem: PolicyProblem) -> str:
    return _PROBLEMS[problem]


def _lines(view: PolicyView) -> list[str]:
    policy, set_here = view.policy, view.overrides

    def source(value: object) -> str:
        return "" if value is not None else " _(default)_"

    domains = ", ".join(policy.allowed_domains) or "any"
    cap = duration_label(policy.max_expiry_seconds) if policy.max_expiry_seconds \
        else "30 days (the usual)"
    return [
        f"• Sharing outside Slack: *{'on' if policy.enabled else 'off'}*"
        + source(set_here.enabled),
        f"• Email domains allowed: *{domains}*" + source(set_here.allowed_domains),
        "• Passphrase on secrets for anyone with the link: "
        f"*{'required' if policy.link_needs_passphrase else 'optional'}*"
        + source(set_here.link_needs_passphrase),
        f"• Longest expiry: *{cap}*" + source(set_here.max_expiry_seconds),
    ]


def policy_summary(view: PolicyView) -> str:
    """`/share-secret admin policy`: the policy, what is the deployment's default, and how
    to change it."""
    return "\n".join(["*External sharing policy* (people by email address, anyone with "
                      "the link)", *_lines(view), POLICY_USAGE])


def policy_changed_notice(view: PolicyView) -> str:
    return "\n".join([":white_check_mark: External sharing policy updated:", *_lines(view)])


def policy_section(view: PolicyView) -> list[Block]:
    """The admin panel's part: the policy, and Edit."""
    return [
        {"type": "header", "text": text("Sharing outside Slack (admin)")},
        section("\n".join(_lines(view)),
                accessory=button("Edit policy", action_id=ids.POLICY_EDIT_ACTION,
                                 value="edit")),
    ]


def _switch(block_id: str, action_id: str, title: str, label: str, on: bool) -> Block:
    option = {"text": text(label), "value": ids.POLICY_ON}
    element: dict[str, object] = {"type": "checkboxes", "action_id": action_id,
                                  "options": [option]}
    if on:
        element["initial_options"] = [option]
    return {"type": "input", "block_id": block_id, "optional": True, "label": text(title),
            "element": element}


def policy_modal(policy: ExternalPolicy) -> View:
    """The admin panel's form: every part of the policy at once."""
    domains: dict[str, object] = {
        "type": "plain_text_input", "action_id": ids.POLICY_DOMAINS_ACTION,
        "max_length": 2000, "placeholder": text("example.com, vendor.com")}
    if policy.allowed_domains:
        domains["initial_value"] = ", ".join(policy.allowed_domains)
    expiry: dict[str, object] = {
        "type": "plain_text_input", "action_id": ids.POLICY_EXPIRY_ACTION, "max_length": 16,
        "placeholder": text("e.g. 3d or 12h")}
    if policy.max_expiry_seconds:
        expiry["initial_value"] = _duration_text(policy.max_expiry_seconds)
    return modal("Sharing outside Slack", [
        _switch(ids.POLICY_ENABLED_BLOCK, ids.POLICY_ENABLED_ACTION, "Sharing outside Slack",
                "People can share by email address and with anyone with the link",
                policy.enabled),
        {"type": "input", "block_id": ids.POLICY_DOMAINS_BLOCK, "optional": True,
         "label": text("Email domains allowed"), "element": domains,
         "hint": text("Separated by commas; a domain allows its subdomains. Empty: any.")},
        _switch(ids.POLICY_PASSPHRASE_BLOCK, ids.POLICY_PASSPHRASE_ACTION, "Link secrets",
                "Secrets for anyone with the link need a passphrase",
                policy.link_needs_passphrase),
        {"type": "input", "block_id": ids.POLICY_EXPIRY_BLOCK, "optional": True,
         "label": text("Longest expiry"), "element": expiry,
         "hint": text("From 5m to 30d. Empty: the usual 30 days.")},
        context("Applies to new secrets shared outside Slack in this workspace. Changes "
                "are audited."),
    ], close="Cancel", submit=text("Save"), callback_id=ids.POLICY_CALLBACK)


def _duration_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{max(1, seconds // 60)}m"


def policy_form_errors(problems: dict[str, PolicyProblem]) -> dict[str, str]:
    """The form's errors by block, for the fields that could not be read."""
    return {block: _PROBLEMS[problem] for block, problem in problems.items()}
