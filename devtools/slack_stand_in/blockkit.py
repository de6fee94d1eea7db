"""Block Kit validation with Slack's documented limits.

Limits and where they are documented:
- modal: title/submit/close plain_text at most 24 characters, at most 100 blocks,
  private_metadata at most 3000, callback_id at most 255, submit required when an
  input block is present (https://docs.slack.dev/reference/views/modal-views);
- section text at most 3000, at most 10 fields of at most 2000, block_id at most
  255 (https://api.slack.com/reference/block-kit/blocks#section, as quoted by the
  Block Kit libraries built on it);
- button text at most 75, value at most 2000, url at most 3000, action_id at most
  255 (https://docs.slack.dev/reference/block-kit/block-elements/button-element);
- message at most 50 blocks, header text at most 150, input label and hint at most
  2000, plain_text_input max_length at most 3000, block_id unique within a message
  or view: Slack's Block Kit reference as summarised in shared/SLACK_FACTS.md
  (not re-checked page by page here);
- radio_buttons and checkboxes at most 10 options, static_select at most 100; an
  `initial_option` (or each of `initial_options`) must exactly match one of the options
  (https://docs.slack.dev/reference/block-kit/block-elements/radio-button-group-element,
  .../checkboxes-element); option text at most 75 characters and value at most 150
  (the option object reference, as slack_sdk's `Option` model checks them), its
  description at most 75; a placeholder at most 150
  (https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element);
  an input block's `dispatch_action` is a boolean
  (https://docs.slack.dev/reference/block-kit/blocks/input-block).

The wording of each message copies the shape Slack answers in
`response_metadata.messages` ("[ERROR] ... [json-pointer:/view/title/text]");
unverified: Slack's exact wording for each rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MESSAGE_MAX_BLOCKS = 50
MODAL_MAX_BLOCKS = 100
VIEW_MAX_BYTES = 250 * 1000  # views.*: `view_too_large` "greater than 250kb"


def _error(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _too_long(limit: int, pointer: str) -> str:
    return _error(f"must be less than {limit + 1} characters", pointer)


def message_block_errors(blocks: Any) -> list[str]:
    """Problems with a message's `blocks` argument; empty when valid."""
    return _blocks(blocks, "/blocks", MESSAGE_MAX_BLOCKS)


def modal_errors(view: Any) -> list[str]:
    """Problems with a modal view object; empty when valid."""
    return _view_errors(view, "modal", _modal_parts)


def home_errors(view: Any) -> list[str]:
    """Problems with a Home tab view object (views.publish); empty when valid."""
    return _view_errors(view, "home", _view_blocks)


def _view_errors(view: Any, kind: str, parts: Callable[[dict[str, Any]], list[str]]) -> list[str]:
    """Problems with a view of type `kind`: its type, then its `parts` (what its kind
    has: a modal's title, buttons and blocks; a Home tab's blocks), then its strings."""
    if not isinstance(view, dict):
        return [_error("must be an object", "/view")]
    errors = [] if view.get("type") == kind else [_error(f"must be `{kind}`", "/view/type")]
    return errors + parts(view) + _view_strings(view)


def _modal_parts(view: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if "title" not in view:
        errors.append(_error("missing required field: title", "/view"))
    for name in ("title", "submit", "close"):
        if name in view and view[name] is not None:
            errors += _text(view[name], f"/view/{name}", 24, plain_only=True)
    errors += _view_blocks(view)
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if has_input and not view.get("submit"):
        errors.append(_error("missing required field: submit", "/view"))
    return errors


def _view_blocks(view: dict[str, Any]) -> list[str]:
    """Problems with a view's `blocks` (at most 100, for a modal as for Home)."""
    blocks = view.get("blocks")
    if blocks is None:
        return [_error("missing required field: blocks", "/view")]
    return _blocks(blocks, "/view/blocks", MODAL_MAX_BLOCKS)


def _view_strings(view: dict[str, Any]) -> list[str]:
    """Problems with a view's private_metadata, callback_id and external_id."""
    errors = []
    for name, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        value = view.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors.append(_too_long(limit, f"/view/{name}"))
    return errors


def encoded_too_large(encoded: str) -> bool:
    """Whether a view, already encoded by `json.dumps`, is over Slack's 250 kB."""
    return len(encoded.encode("utf-8")) > VIEW_MAX_BYTES


def _blocks(blocks: Any, pointer: str, max_blocks: int) -> list[str]:
    if not isinstance(blocks, list):
        return [_error("must be an array", pointer)]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(_error(f"must provide no more than {max_blocks} items", pointer))
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(_error("missing required field: type", where))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > 255:
                errors.append(_too_long(255, f"{where}/block_id"))
            elif block_id in seen_ids:
                errors.append(_error("block_id must be unique", f"{where}/block_id"))
            else:
                seen_ids.add(block_id)
        errors += _block(block, where)
    return errors


def _block(block: dict[str, Any], where: str) -> list[str]:
    kind = block["type"]
    errors: list[str] = []
    if kind == "section":
        if "text" not in block and "fields" not in block:
            errors.append(_error("must provide either text or fields", where))
        if "text" in block:
            errors += _text(block["text"], f"{where}/text", 3000)
        fields = block.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > 10:
                errors.append(_error("must provide no more than 10 items", f"{where}/fields"))
            else:
                for i, item in enumerate(fields):
                    errors += _text(item, f"{where}/fields/{i}", 2000)
        if "accessory" in block:
            errors += _element(block["accessory"], f"{where}/accessory")
    elif kind == "header":
        errors += _text(block.get("text"), f"{where}/text", 150, plain_only=True)
    elif kind == "actions":
        errors += _elements(block.get("elements"), f"{where}/elements", 25)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            errors.append(_error("must provide 1 to 10 items", f"{where}/elements"))
    elif kind == "input":
        errors += _text(block.get("label"), f"{where}/label", 2000, plain_only=True)
        if "dispatch_action" in block and not isinstance(block["dispatch_action"], bool):
            errors.append(_error("must be a boolean", f"{where}/dispatch_action"))
        if "hint" in block:
            errors += _text(block["hint"], f"{where}/hint", 2000, plain_only=True)
        if "element" not in block:
            errors.append(_error("missing required field: element", where))
        else:
            errors += _element(block["element"], f"{where}/element")
    return errors


def _elements(elements: Any, pointer: str, limit: int) -> list[str]:
    if not isinstance(elements, list) or not 1 <= len(elements) <= limit:
        return [_error(f"must provide 1 to {limit} items", pointer)]
    errors: list[str] = []
    for i, element in enumerate(elements):
        errors += _element(element, f"{pointer}/{i}")
    return errors


def _element(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [_error("missing required field: type", pointer)]
    errors: list[str] = []
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > 255):
        errors.append(_too_long(255, f"{pointer}/action_id"))
    kind = element["type"]
    if kind == "button":
        errors += _text(element.get("text"), f"{pointer}/text", 75, plain_only=True)
        for name, limit in (("value", 2000), ("url", 3000)):
            value = element.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                errors.append(_too_long(limit, f"{pointer}/{name}"))
    elif kind in _OPTION_LIMITS:
        errors += _options(element, pointer, _OPTION_LIMITS[kind])
    elif kind == "plain_text_input":
        for name in ("max_length", "min_length"):
            value = element.get(name)
            if value is not None and (not isinstance(value, int) or not 0 <= value <= 3000):
                errors.append(_error("must be at most 3000", f"{pointer}/{name}"))
        initial = element.get("initial_value")
        if isinstance(initial, str) and len(initial) > 3000:
            errors.append(_too_long(3000, f"{pointer}/initial_value"))
    if "placeholder" in element:
        errors += _text(element["placeholder"], f"{pointer}/placeholder", 150, plain_only=True)
    return errors


_OPTION_LIMITS = {"radio_buttons": 10, "checkboxes": 10, "static_select": 100}


def _options(element: dict[str, Any], pointer: str, limit: int) -> list[str]:
    """An element choosing among options: their number and sizes; initial choices among
    them."""
    options = element.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= limit:
        return [_error(f"must provide 1 to {limit} items", f"{pointer}/options")]
    errors: list[str] = []
    for i, option in enumerate(options):
        where = f"{pointer}/options/{i}"
        if not isinstance(option, dict):
            errors.append(_error("must be an object", where))
            continue
        errors += _text(option.get("text"), f"{where}/text", 75)
        value = option.get("value")
        if not isinstance(value, str) or len(value) > 150:
            errors.append(_too_long(150, f"{where}/value"))
        if "description" in option:
            errors += _text(option["description"], f"{where}/description", 75)
    initial = element.get("initial_options", [])
    if "initial_option" in element:
        initial = [element["initial_option"]]
    if not isinstance(initial, list) or any(choice not in options for choice in initial):
        name = "initial_option" if "initial_option" in element else "initial_options"
        errors.append(_error("must exactly match one of the options", f"{pointer}/{name}"))
    return errors


def _text(obj: Any, pointer: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [_error("must be a text object", pointer)]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        return [_error("must be " + " or ".join(f"`{a}`" for a in allowed), f"{pointer}/type")]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [_error("must be more than 0 characters", f"{pointer}/text")]
    if len(text) > limit:
        return [_too_long(limit, f"{pointer}/text")]
    return []
