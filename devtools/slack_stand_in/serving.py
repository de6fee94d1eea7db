"""From HTTP request to recorded answer: routing, latency, locking and recording.

`serve` is a generator: it yields what the answer waits for (seconds of latency or
stall, or the gate of a held answer) and returns the answer, so that each transport
waits its own way (server.py blocks its thread; async_server.py sleeps on its loop)
while every answer is decided here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from typing import Any

from . import methods, oauth, response_urls
from .faults import Fault
from .records import RecordedCall
from .server import HttpRequest, Steps, Wait
from .state import State
from .wire import Answer, ApiError, Parsed, json_answer, parse_params, text_answer


def serve(state: State, request: HttpRequest, *, root_url: str, latency: float) -> Steps:
    """Answer one request: `/api/<method>` or `/response/<token>`; anything else is 404."""
    if request.path.startswith("/api/"):
        yield from _delay(latency)
        return (yield from _serve_api(state, request))
    if request.path.startswith("/response/"):
        yield from _delay(latency)
        return _serve_response_url(state, request, root_url)
    return text_answer("not found", status=404)


def _delay(latency: float) -> Generator[Wait, None, None]:
    # Waiting before the state is touched models the request's way to Slack: a
    # trigger_id spends the latency before it is exchanged, and the call is recorded
    # just as its answer leaves.
    if latency > 0:
        yield latency


def _serve_api(state: State, request: HttpRequest) -> Generator[Wait, None, Answer]:
    method = request.path[len("/api/") :]
    with state.lock:
        queued = state.stalls.get(method)
        stall = queued.pop(0) if queued else 0.0
    # A stalled call is carried out late, as when Slack is slow to answer: a caller that
    # gave up meanwhile cannot know it happened (it did).
    yield from _delay(stall)
    try:
        parsed, refusal = parse_params(request), None
    except ApiError as error:
        parsed, refusal = Parsed({}, None), error
    with state.lock:
        if refusal is None and method == "oauth.v2.access":
            answer = _oauth_access(state, parsed, request.header("authorization"))
        elif refusal is None:
            answer = methods.call(state.for_token(parsed.token), method, parsed)
        else:
            answer = Answer(refusal.status, refusal.body())
        _record(state, method, parsed.params, request, answer, None)
        if state.lost_answers.get(method, 0) > 0:
            state.lost_answers[method] -= 1
            answer = Answer(answer.status, answer.body, answer.headers, lost=True)
        gate = _held(state, method)
    if gate is not None:
        # The call took effect and is recorded; its answer waits (outside the lock) until
        # the test releases it: a caller killed meanwhile never learns it succeeded.
        yield gate
    return answer


def _held(state: State, method: str) -> threading.Event | None:
    if state.held_answers.get(method, 0) <= 0:
        return None
    state.held_answers[method] -= 1
    gate = threading.Event()
    state.answer_gates.append(gate)
    return gate


def _oauth_access(state: State, parsed: Parsed, authorization: str | None) -> Answer:
    """Exchange an install's code for the workspace's bot token (minted at its first
    install; a reinstall gets the same token back, as Slack does without rotation)."""
    try:
        app = state.oauth_apps[0] if state.oauth_apps else None
        grant = oauth.exchange(app, parsed, authorization, state.clock())
    except ApiError as error:
        return json_answer(error.body(), status=error.status)
    team = state.teams[grant.team_id]
    if not team.settings.bot_token:
        team.settings.bot_token = oauth.new_bot_token()
    team.settings.scopes = grant.scopes
    return json_answer({"ok": True, **oauth.access_answer(
        grant, token=team.settings.bot_token, bot_user_id=team.workspace.bot_user.id,
        app_id=team.settings.app_id, team_name=team.settings.team_name)})


def _serve_response_url(state: State, request: HttpRequest, root_url: str) -> Answer:
    token = request.path[len("/response/") :]
    payload: dict[str, Any] = {}
    refusal: response_urls.ResponseUrlError | None = None
    try:
        payload = response_urls.decode_body(request.body)
    except response_urls.ResponseUrlError as error:
        refusal = error
    with state.lock:
        context = response_urls.context(state, token)
        fault = state.faults.take("response_url")
        try:
            if fault is not None:
                answer = _response_url_fault(fault)
            elif refusal is not None:
                raise refusal
            else:
                response_urls.post(state, token, payload)
                answer = text_answer("ok")
        except response_urls.ResponseUrlError as error:
            answer = text_answer(error.code, status=error.status)
        if context is not None:
            context = {"url": root_url + request.path, **context}
        _record(state, "response_url", payload, request, answer, context)
    return answer


def _response_url_fault(fault: Fault) -> Answer:
    if fault.retry_after is not None:
        return text_answer(
            "ratelimited", status=429, headers={"Retry-After": str(fault.retry_after)}
        )
    return text_answer(fault.error, status=fault.status or 404)


def _record(
    state: State,
    method: str,
    params: dict[str, Any],
    request: HttpRequest,
    answer: Answer,
    context: dict[str, Any] | None,
) -> None:
    if isinstance(answer.body, dict):
        response = answer.body
    elif answer.status == 200:
        response = {"ok": True}
    else:
        response = {"ok": False, "error": answer.body}
    state.calls.append(
        RecordedCall(
            method=method,
            params=params,
            headers=dict(request.headers),
            status=answer.status,
            response=response,
            at=time.time(),
            context=context,
        )
    )
