"""The web service's configuration: every value :func:`caiep.app.create_app` is built from.

Read once from the settings (:func:`AppConfig.from_configuration`, or from the environment as
gunicorn's ``create_app()`` does); tests build one directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from caiep.caches import CacheLimit
from caiep.issuer.register import RegisterPolicy
from caiep.ratelimit import RateLimitSettings, Window
from caiep.settings import Configuration, read_configuration, web_environment
from caiep.wiring import database_origin

_STARTED = "caiep.started"  # perf_counter() at the start of the request, for the access log
# Requests that verify a signature are counted against the verification limit.
# A receipt of a stored credential is a verification and a signature: counted as verifications.


@dataclass(frozen=True)
class AppConfig:
    """Everything the service is configured by; ``origins`` says where values came from, for errors."""

    home: Path
    database_url: str
    allow_http_base: str | None = None
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    trusted_proxies: int = 0  # reverse proxies whose X-Forwarded-For/-Proto are believed
    integrity_cache_seconds: float = 300.0  # 0 turns the integrity cache off
    verify_time_budget: float = 5.0  # seconds per verification, fetches included
    status_list_ttl_ms: int = 3_600_000  # the lists' ttl: their Cache-Control max-age
    origins: Mapping[str, str] = field(default_factory=dict)
    cache_limits: Mapping[str, CacheLimit] = field(default_factory=dict)  # by name; empty: the defaults
    linkedin_organization_id: str | None = None  # "Add to profile" names the body by this id
    signer_socket: Path | None = None  # where caiep signer answers; None: signer.sock in ``home``
    lcw_exchange_minutes: int = 15  # how long a Learner Credential Wallet exchange stays open
    register_policy: RegisterPolicy = field(default_factory=RegisterPolicy)
    register_check_max: int = 500  # the most charter numbers one bulk check takes
    apikey_default_rate_per_minute: int = 60  # bulk checks a minute of a key without its own rate

    @classmethod
    def from_configuration(
        cls, configuration: Configuration, *, allow_http_base: str | None = None
    ) -> AppConfig:
        """The service's settings from the one reader; a flag's ``allow_http_base`` comes first."""
        c = configuration
        return cls(
            home=c.home,
            database_url=c.database_url,
            allow_http_base=allow_http_base or c.get("allow_http_base", str),
            rate_limits=RateLimitSettings(
                verify=(
                    Window(c.require("rate_per_10_seconds", int), 10),
                    Window(c.require("rate_per_minute", int), 60),
                ),
                read=(
                    Window(c.require("read_rate_per_10_seconds", int), 10),
                    Window(c.require("read_rate_per_minute", int), 60),
                ),
                register=(
                    Window(c.require("register_rate_per_10_seconds", int), 10),
                    Window(c.require("register_rate_per_minute", int), 60),
                ),
                storage=c.require("rate_storage", str),
                key_prefix=c.require("rate_key_prefix", str),
            ),
            trusted_proxies=c.require("trusted_proxies", int),
            integrity_cache_seconds=c.require("integrity_cache_seconds", float),
            verify_time_budget=c.require("verify_time_budget", float),
            status_list_ttl_ms=c.require("status_list_ttl_ms", int),
            origins={"database_url": database_origin(c)},
            cache_limits=c.cache_limits(),
            linkedin_organization_id=c.get("linkedin_organization_id", str),
            signer_socket=c.signer_socket(),
            lcw_exchange_minutes=c.require("lcw_exchange_minutes", int),
            register_policy=RegisterPolicy(
                default_listing=c.require("register_default", str),
                decision_years=c.require("register_decision_years", int),
                max_matches=c.require("register_max_matches", int),
            ),
            register_check_max=c.require("register_check_max", int),
            apikey_default_rate_per_minute=c.require("apikey_default_rate_per_minute", int),
        )

    @classmethod
    def from_environment(cls) -> AppConfig:
        """The service's settings for ``$CAIEP_HOME`` (what gunicorn's ``create_app()`` uses); the
        key passphrase, should it be in the environment, is never read."""
        return cls.from_configuration(read_configuration(environ=web_environment()))
