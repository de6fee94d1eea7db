"""Checking and tidying structured secrets (JSON, YAML, .env) before they are stored.

Errors name the line that failed, for the sender's eyes only (they are shown in the
share form and never logged, since they can quote what was typed).

Every check is quick whatever the input, since it runs on the event loop: nesting is
bounded by a linear scan before anything is parsed (the parsers recurse per level, and
PyYAML's pure-Python scanner costs O(length x depth)), and YAML is parsed by libyaml's C
loader when PyYAML has it. Worst cases of 3,000 characters take about 1-5 ms.
"""

from __future__ import annotations

import json
import re

import yaml

from bot.domain import MAX_SECRET_CHARS
from bot.errors import FormatError
from bot.options import Format

_ENV_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")
# Real configuration nests a handful of levels; a secret nested deeper than this is
# refused before it is parsed.
MAX_NESTING = 64
# JSON: a string (whose brackets are text) or a bracket. YAML: every bracket, quoted or
# not (a quote can be text in a plain scalar, so skipping "strings" could hide brackets);
# over-counting only matters past MAX_NESTING unclosed brackets.
_JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')
_YAML_NESTING = re.compile(r"[\[\]{}]")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def normalize(fmt: Format, text: str) -> str:
    """Validate `text` as `fmt` and return it as it should be shown on reveal."""
    if fmt is Format.JSON:
        tidy = _json(text)
    elif fmt is Format.YAML:
        tidy = _yaml(text)
    elif fmt is Format.ENV:
        tidy = _env(text)
    else:
        return text
    # A tidier form that no longer fits Slack's limits is not worth losing the secret over.
    return tidy if len(tidy) <= MAX_SECRET_CHARS else text


def _json(text: str) -> str:
    floats: list[str] = []

    def no_constants(name: str) -> None:
        raise FormatError(f"Not valid JSON: {name} is not allowed.")

    def no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise FormatError("Not valid JSON: a key appears twice in one object.")
        return dict(pairs)

    def keep_float(raw: str) -> float:
        floats.append(raw)
        return float(raw)

    if _too_deep(text, _JSON_NESTING):
        raise FormatError(f"Not valid JSON: nested more than {MAX_NESTING} levels deep.")
    try:
        value = json.loads(text, parse_constant=no_constants, object_pairs_hook=no_duplicates,
                           parse_float=keep_float)
    except json.JSONDecodeError as exc:
        raise FormatError(f"Not valid JSON: line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg}.") from None
    if floats:  # re-printing could change how a number is written (1.10 -> 1.1)
        return text.strip()
    return json.dumps(value, indent=2, ensure_ascii=False)


def _yaml(text: str) -> str:
    if _too_deep(text, _YAML_NESTING):
        raise FormatError(f"Not valid YAML: nested more than {MAX_NESTING} levels deep.")
    try:
        documents = list(yaml.load_all(text, Loader=_YAML_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        # PyYAML quotes what it found ("the tag '!x'"): that is the secret, so the quotes
        # go; the position says where to look.
        problem = _QUOTED.sub(lambda m: m.group(1) or "…",
                              str(exc.problem or exc.context or "a syntax error"))
        raise FormatError(f"Not valid YAML: {where}: {problem}.") from None
    except (yaml.YAMLError, ValueError, OverflowError):  # ValueError: 2001-02-30, say
        raise FormatError("Not valid YAML.") from None
    except RecursionError:  # block nesting ("- - - ..."), without libyaml's own bound
        raise FormatError("Not valid YAML: nested too deeply.") from None
    if not documents or all(d is None for d in documents):
        raise FormatError("Not valid YAML: it is empty.")
    return text.strip("\n")  # YAML is already written for people: shown as typed


# A quoted character (the punctuation PyYAML expected) stays; longer quotes go.
_QUOTED = re.compile(r"('.'|\".\")|'[^']*'|\"[^\"]*\"")


def _too_deep(text: str, tokens: re.Pattern[str]) -> bool:
    """Whether the brackets `tokens` finds nest deeper than MAX_NESTING (one pass)."""
    depth = 0
    for match in tokens.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif token in ("]", "}"):
            depth = max(0, depth - 1)
    return False


def _env(text: str) -> str:
    """Checked line by line, shown as typed: comments, `export` and quoting are part of
    what the sender meant to pass on."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        match = _ENV_LINE.match(line)
        if not match:
            raise FormatError(f"Not a valid .env: line {number} is not KEY=value.")
        key, value = match.groups()
        lines.append(f"{key}={_env_value(value, number)}")
    if not lines:
        raise FormatError("Not a valid .env: there is no KEY=value line.")
    return text.strip("\n")


def _env_value(value: str, number: int) -> str:
    if value[:1] in {'"', "'"}:
        quote = value[0]
        end = value.find(quote, 1)
        while end != -1 and quote == '"' and value[end - 1] == "\\":
            end = value.find(quote, end + 1)
        if end == -1:
            raise FormatError(f"Not a valid .env: line {number} has an unclosed {quote} quote.")
        rest = value[end + 1:].strip()
        if rest and not rest.startswith("#"):
            raise FormatError(f"Not a valid .env: line {number} has text after the quotes.")
        return value[:end + 1]
    return re.split(r"\s+#", value, maxsplit=1)[0].rstrip()
