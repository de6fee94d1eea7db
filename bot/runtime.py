"""The one place that assembles the bot: clients, store, service and the Bolt app.

Built from Settings inside the running event loop (aiohttp and redis.asyncio bind
to it), and closed in reverse order at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.api import wiring as api_wiring
from bot.api.routes import ApiRoutes
from bot.api.tokens import ApiTokens
from bot.audit.log import AuditOutbox, DurableAuditLog
from bot.audit.refusals import RefusalThrottle
from bot.background import Background
from bot.config import Settings
from bot.crypto import StaticKeyRing
from bot.errors import StorageUnavailable
from bot.handlers import Deps, register_all
from bot.mail.external_mail import ExternalMail
from bot.secrets.expiry import Scheduler, Sweeper, start_scheduler
from bot.secrets.followups import Followups, InOrder
from bot.secrets.lifecycle import LifecycleService
from bot.secrets.limits import RateLimits
from bot.secrets.sharing import SharingService
from bot.secrets.web_parts import web_receipts
from bot.secrets.web_reveal import WebRevealService
from bot.slack.admins import Admins
from bot.slack.dm_channels import DmChannels
from bot.slack.names import SlackNames
from bot.slack.people import PersonCache
from bot.slack.respond import Responder
from bot.storage import KeySpace, OnceMarks, RedisSecretStore, connect
from bot.storage.audit_stream import AuditStream
from bot.storage.connection import RedisClient
from bot.storage.counts import active_secrets
from bot.storage.home_seen import HomeSeen
from bot.storage.owed import OwedEvents
from bot.storage.quota import RedisQuota
from bot.storage.rate_counter import RedisRateCounter
from bot.storage.refusals import RedisRefusalCounter
from bot.storage.team_settings import TeamSettingsStore
from bot.storage.web_codes import RedisWebCodes
from bot.telemetry import requests
from bot.telemetry.metrics import Metrics, SharedState
from bot.telemetry.slack_observer import SlackCallObserver
from bot.web.readiness import Readiness, ReadinessCheck
from bot.workspaces import oauth as multi_workspace
from bot.workspaces.policy import ExternalSharing
from bot.workspaces.routes import OneWorkspace, TeamNotices, Workspaces

SLACK_TIMEOUT_SECONDS = 10
# Shutdown, after the server has finished the requests in flight: follow-up work and a
# running sweep get DRAIN_SECONDS together, then an audit post in flight its own timeout.
# With uvicorn's 10 s for requests, a process is gone within about 25 s at worst, inside
# the 30 s that Kubernetes and Heroku allow before SIGKILL.
DRAIN_SECONDS = 10.0
SCRAPE_READ_SECONDS = 1.0  # Redis reads for one /metrics scrape
OUTBOX_STOP_SECONDS = 6.0


@dataclass
class Runtime:
    """Everything a running bot holds."""

    settings: Settings
    bolt: AsyncApp
    redis: RedisClient
    http: aiohttp.ClientSession
    store: RedisSecretStore
    background: Background
    logger: logging.Logger
    sweeper: Sweeper
    scheduler: Scheduler | None
    audit_stream: AuditStream
    metrics: Metrics
    keys: KeySpace
    clock: Callable[[], float] = time.time
    outbox_task: asyncio.Task[None] | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    readiness: ReadinessCheck | None = None
    quota: RedisQuota | None = None
    was_ready: bool | None = None
    # The service behind the web pages of external secrets (PUBLIC_URL/s/...), which
    # bot.web.pages calls; None when PUBLIC_URL is unset (the pages' routes then 404).
    external: WebRevealService | None = None
    api: ApiRoutes | None = None  # the HTTP API for scripts (/api/v1/...)
    followups: Followups | None = None  # what follows Slack reveals (bot.secrets.followups)

    @classmethod
    async def start(cls, settings: Settings, *, logger: logging.Logger | None = None,
                    clock: Callable[[], float] = time.time) -> Runtime:
        """Build everything; `clock` is a seam for tests that move time."""
        logger = logger or logging.getLogger("bot")
        metrics = Metrics(multiprocess_dir=settings.prometheus_multiproc_dir)
        http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=SLACK_TIMEOUT_SECONDS),
            connector=aiohttp.TCPConnector(limit=384, limit_per_host=384))

        def make_client(token: str | None) -> AsyncWebClient:
            return AsyncWebClient(
                token=token, base_url=settings.slack_api_url, session=http,
                timeout=SLACK_TIMEOUT_SECONDS, logger=logging.getLogger("slack_sdk"),
                retry_handlers=[SlackCallObserver(metrics),
                                AsyncConnectionErrorRetryHandler(max_retry_count=1),
                                AsyncRateLimitErrorRetryHandler(max_retry_count=2)])

        bot_token = settings.slack_bot_token
        client = make_client(bot_token.get_secret_value() if bot_token else None)
        redis = connect(settings.redis_url.get_secret_value(), cluster=settings.redis_cluster)
        keyring = StaticKeyRing(settings.encryption_keys)
        keys = KeySpace(settings.redis_key_prefix)
        quota = RedisQuota(redis, keys=keys, caps=settings.quota_caps)
        store = RedisSecretStore(redis, keys=keys, keyring=keyring,
                                 metadata_retention_seconds=settings.metadata_retention_days
                                 * 86400, quota=quota)
        background = Background(limit=settings.max_in_flight, logger=logger)
        owed = OwedEvents(redis, keys=keys)  # audit events a change owes (crash-safe audit)
        lifecycle = LifecycleService(store=store, clock=clock,
                                     claim_timeout=settings.claim_timeout_seconds, owed=owed)
        audit_stream = AuditStream(redis, prefix=settings.redis_key_prefix,
                                   retention_seconds=settings.audit_retention_days * 86400)
        refusal_rate = settings.refusal_audit_rate
        audit = DurableAuditLog(
            audit_stream, logger=logging.getLogger("bot.audit"), metrics=metrics, owed=owed,
            refusals=RefusalThrottle(RedisRefusalCounter(redis, keys=keys), rate=refusal_rate)
            if refusal_rate is not None else None)
        workspaces: Workspaces = OneWorkspace(client, audit_channel=settings.audit_channel_id)
        admins = Admins(settings.admin_user_ids,
                        include_workspace_admins=settings.admins_include_workspace_admins)
        several = None
        if settings.oauth:
            several = multi_workspace.build(settings, redis=redis, keys=keys, keyring=keyring,
                                            client=client, make_client=make_client,
                                            audit=audit, logger=logger, clock=clock)
            workspaces, admins = several.workspaces, several.admins
        counter = RedisRateCounter(redis, keys=keys)
        limits = RateLimits(counter,
                            share=settings.share_rate, reveal=settings.reveal_rate,
                            request=settings.request_rate, clock=clock)
        dm_channels = DmChannels()
        mail = ExternalMail.for_settings(settings)
        # Who shared, as the web page and the link mail name them (asked of Slack, kept).
        names = SlackNames(workspaces, clock=time.monotonic)
        external = ExternalSharing(
            several.team_settings if several else TeamSettingsStore(redis, keys=keys),
            public_url=settings.public_url, mail=mail is not None,
            defaults=settings.external_policy, installed_settings=several is not None)
        service = SharingService(store=store, keyring=keyring, clock=clock, limits=limits)
        notices = TeamNotices(workspaces, audit=audit, logger=logger, clock=clock,
                              dm_channels=dm_channels)
        api_tokens = ApiTokens(redis, keys=keys, keyring=keyring, clock=clock,
                               logger=logging.getLogger("bot.api"))
        followups = Followups(audit=audit, views=store.link_views, logger=logger, clock=clock,
                              later=lambda work: background.later(work, name="receipt"))
        deps = Deps(
            service=service,
            lifecycle=lifecycle, audit=InOrder(audit, followups), background=background,
            people_cache=PersonCache(), admins=admins,
            audit_stream=audit_stream, logger=logger, clock=clock,
            team_settings=several.team_settings if several else None, metrics=metrics,
            once=OnceMarks(redis, keys=keys), dm_channels=dm_channels,
            respond=Responder(http=http, logger=logger, dm_channels=dm_channels),
            followups=followups, home_seen=HomeSeen(redis, keys=keys),
            external=external, links_mailer=mail, names=names, api_tokens=api_tokens)
        sweeper = Sweeper(lifecycle=lifecycle, audit=audit, logger=logger,
                          notices=notices, clock=clock)
        signing_secret = settings.slack_signing_secret
        bolt = AsyncApp(
            client=client,
            signing_secret=signing_secret.get_secret_value() if signing_secret else "",
            # Listeners answer Slack themselves within microseconds and hand slow work
            # to Background; Bolt's default would poll for ack() every 10 ms.
            process_before_response=True,
            # HTTP requests are verified in bot.web before they are parsed; Socket Mode
            # requests are not signed (the websocket is authenticated instead).
            request_verification_enabled=False,
            logger=logging.getLogger("slack_bolt"),
            **(several.bolt_options if several else {}),
        )
        bolt.error(_log_error(logger))
        register_all(bolt, deps)
        multi_workspace.register_uninstall(bolt, logger,
                                           several.team_settings if several else None,
                                           api_tokens=api_tokens, audit=audit, clock=clock)
        scheduler = start_scheduler(sweeper, interval_seconds=settings.sweep_interval_seconds) \
            if settings.sweep_interval_seconds > 0 else None
        outbox = None
        if several is not None:
            outbox = AuditOutbox(audit_stream, routes=several.workspaces,
                                 logger=logging.getLogger("bot.audit"), metrics=metrics,
                                 post_interval=settings.audit_post_interval_seconds)
        elif settings.audit_channel_id:
            outbox = AuditOutbox(audit_stream, client, channel_id=settings.audit_channel_id,
                                 logger=logging.getLogger("bot.audit"), metrics=metrics,
                                 post_interval=settings.audit_post_interval_seconds)
        else:
            logger.warning("AUDIT_CHANNEL_ID is not set: audit events are stored and logged "
                           "but not posted to Slack")
        runtime = cls(settings, bolt, redis, http, store, background, logger, sweeper,
                      scheduler, audit_stream, metrics, keys, clock)
        runtime.readiness = ReadinessCheck(store=store, keyring=keyring)
        runtime.quota, runtime.followups = quota, followups
        if settings.public_url is not None:
            runtime.external = WebRevealService(mail=mail,
                sharing=service, store=store, codes=RedisWebCodes(redis, keys=keys),
                counter=counter, names=names,
                audit=audit, keyring=keyring, logger=logger, clock=clock,
                receipt=web_receipts(notices))
        runtime.api = api_wiring.build(api_wiring.ApiParts(
            settings, redis, keys, api_tokens, service, lifecycle, audit, external, workspaces,
            notices, mail, names, counter, background, clock))
        if outbox is not None:
            runtime.outbox_task = asyncio.get_running_loop().create_task(
                outbox.run(runtime.stopping), name="audit-outbox")
        return runtime

    async def ready(self) -> Readiness:
        """Whether this process can serve: Redis answers and the keys work. A change is
        logged with its reason (public /readyz answers only ok or not)."""
        assert self.readiness is not None
        verdict = await self.readiness()
        if verdict.ready != self.was_ready:
            self.was_ready = verdict.ready
            log = self.logger.info if verdict.ready else self.logger.warning
            log("readiness: %s (%s)", "ready" if verdict.ready else "not ready", verdict.reason)
        return verdict

    async def dispatch(self, request: AsyncBoltRequest) -> BoltResponse:
        """Hand a Slack request to Bolt, timed, counted and logged (HTTP or Socket Mode)."""
        return await requests.dispatch(self.bolt, request, metrics=self.metrics,
                                       logger=logging.getLogger("bot.requests"))

    async def metrics_page(self) -> bytes:
        """The Prometheus text page, with the gauges read from Redis now."""
        now = self.clock()
        try:
            async with asyncio.timeout(SCRAPE_READ_SECONDS):
                active = await active_secrets(self.redis, self.keys, now=now)
                lag, age = await self.audit_stream.backlog(now=now)
                use = await self.quota.highest_use() if self.quota is not None else None
        except (StorageUnavailable, TimeoutError):
            return self.metrics.render(SharedState(None, None, None))
        return self.metrics.render(SharedState(active, lag, age, use))

    async def close(self) -> None:
        """Stop gracefully: no new sweeps; let follow-up work and a running sweep finish;
        then stop the audit outbox, which gives up its lease; then close the clients."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)  # cancels the job, not the pass (jobs.py)
        await asyncio.gather(self.background.drain(DRAIN_SECONDS),
                             self.sweeper.stop(DRAIN_SECONDS))
        if self.followups is not None:  # after the reveals that add to it have finished
            await self.followups.drained()
        if self.outbox_task is not None:
            # Stopped last, after the drained work has recorded its events; whatever it
            # has not posted yet stays in the stream for the next process.
            self.stopping.set()
            try:
                await asyncio.wait_for(self.outbox_task, timeout=OUTBOX_STOP_SECONDS)
            except (TimeoutError, asyncio.CancelledError):
                self.logger.warning("the audit outbox did not stop in time")
            except Exception as exc:  # noqa: BLE001 - shutdown goes on; logged
                self.logger.error("the audit outbox failed: %s", type(exc).__name__)
        if self.external is not None:
            await self.external.close()
        if self.api is not None:
            await self.api.close()
        await self.redis.aclose()
        await self.http.close()


def _log_error(logger: logging.Logger) -> Callable[[Exception], Awaitable[None]]:
    async def on_error(error: Exception) -> None:
        # Type and frames only: a listener's exception text could quote the payload.
        frames = "".join(traceback.format_tb(error.__traceback__))
        logger.error("unhandled error in a listener: %s\n%s", type(error).__name__,
                     frames.rstrip())
    return on_error
