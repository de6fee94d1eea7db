"""One exception tree: every exception share-secret defines lives in bot/errors.py, under
ShareSecretError, whose docstring draws the tree."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import bot
from bot import errors


def _exceptions() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(bot.__path__, prefix="bot."):
        if info.name == "bot.__main__":
            continue
        module = importlib.import_module(info.name)
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, BaseException) and cls.__module__ == info.name]
    return found


def test_every_exception_is_in_the_tree():
    stray = [f"{cls.__module__}.{cls.__qualname__}" for cls in _exceptions()
             if cls.__module__ != "bot.errors" or not issubclass(cls, errors.ShareSecretError)]
    assert not stray, f"define these in bot/errors.py, under ShareSecretError: {stray}"


def test_the_docstring_draws_every_exception():
    drawn = errors.__doc__ or ""
    missing = [cls.__name__ for cls in _exceptions()
               if not re.search(rf"(?m)^[\s│├└─]*{cls.__name__}\b", drawn)]
    assert not missing, f"add to bot/errors.py's tree: {missing}"
