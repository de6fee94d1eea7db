"""doctor's PUBLIC_URL check against the real bot serving its pages, a port where
nothing answers, and a server that is not share-secret."""

from __future__ import annotations

import pytest
from port_for import get_port

from devtools.harness.bot_process import BotProcess
from tests.conftest import bot_env
from tests.unit.test_doctor import doctor

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pages(slack, redis_url, tmp_path_factory):
    """A bot whose PUBLIC_URL is its own address."""
    process = BotProcess(bot_env(slack, redis_url), workdir=tmp_path_factory.mktemp("pages"))
    process.env["PUBLIC_URL"] = f"http://127.0.0.1:{process.port}"
    with process.start():
        yield process


def public_url(slack, redis_url, tmp_path, url: str) -> tuple[str, str]:
    _, verdicts, _ = doctor(slack, redis_url, tmp_path, PUBLIC_URL=url)
    return verdicts["public url"]


def test_the_bot_behind_public_url_passes(pages, slack, redis_url, tmp_path):
    url = pages.env["PUBLIC_URL"]
    assert public_url(slack, redis_url, tmp_path, url) == (
        "OK", f"{url} serves share-secret's pages")


def test_nothing_answering_is_a_warning_naming_what_to_do(slack, redis_url, tmp_path):
    status, detail = public_url(slack, redis_url, tmp_path,
                                f"http://127.0.0.1:{get_port(None)}")
    assert status == "WARN"
    assert "did not answer" in detail
    assert "start the bot behind PUBLIC_URL" in detail


def test_another_server_at_public_url_fails(slack, redis_url, tmp_path):
    """The Slack stand-in answers HTTP, but not with share-secret's page."""
    status, detail = public_url(slack, redis_url, tmp_path, slack.base_url.rstrip("/"))
    assert status == "FAIL"
    assert "without share-secret's page headers" in detail
