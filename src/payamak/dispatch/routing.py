"""Which route carries a message, and how a route's provider is built and watched.

A message's candidates, in the order they are tried:

1. the route its line is pinned to (`Line.route_id`), if that route is active;
2. every other active route whose `operators` include the recipient's operator and whose `kinds`
   include the send's kind ("" = any), by `priority` then id.

The first candidate that is up takes the message; one that is down (all its binds disconnected, or
its SMSC refusing the bind) is skipped, which is the failover. With no active route at all, the
built-in simulated SMSC carries everything (route id None, shown as "simulator").

Operators are the ids of `payamak.numbers` (MCI, Irancell, RighTel, ...), "foreign" for numbers
outside Iran and "other" for an Iranian mobile whose operator is not known.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from payamak.dispatch.models import Route
from payamak.errors import ValidationFailed
from payamak.numbers import OPERATORS
from payamak.providers.base import Provider
from payamak.providers.kavenegar import KavenegarConfig, KavenegarConfigError, KavenegarProvider
from payamak.providers.smpp import Inbound, Receipt, SmppProvider, SmppRoute

ROUTE_OPERATORS: Final = frozenset({*OPERATORS, "foreign", "other"})
MESSAGE_KINDS: Final = frozenset({"advertising", "informational"})
# The route that exists when none is configured; its key in the dispatcher's maps.
SIMULATOR_NAME: Final = "simulator"
SIMULATOR_KEY: Final = 0

# SmppRoute fields a route's config may set, with their types (JSON gives ints, floats, strings).
SMPP_FIELDS: Final[dict[str, type]] = {
    "host": str,
    "port": int,
    "system_id": str,
    "password": str,
    "system_type": str,
    "binds": int,
    "window": int,
    "tps": int,
    "long_mode": str,
    "registered_delivery": bool,
    "source_addr": str,
    "source_ton": int,
    "source_npi": int,
    "dest_ton": int,
    "dest_npi": int,
    "enquire_link_interval": float,
    "reconnect_min": float,
    "reconnect_max": float,
    "request_timeout": float,
    "connect_timeout": float,
    "receipt_timezone": str,
    "blacklist_errors": list,
}
SECRET_FIELDS: Final = frozenset({"password", "api_key"})


def _invalid(fa: str, en: str, field: str) -> ValidationFailed:
    return ValidationFailed(fa, en, code="route_invalid", field=field)


def parse_list(value: str | Iterable[str] | None, allowed: frozenset[str], field: str) -> str:
    """A comma-separated list, checked against `allowed`, in canonical spelling ("" = any)."""
    if value is None:
        return ""
    items = value.split(",") if isinstance(value, str) else list(value)
    canonical = {a.lower(): a for a in allowed}
    out: list[str] = []
    for item in items:
        name = item.strip()
        if not name:
            continue
        found = canonical.get(name.lower())
        if found is None:
            raise _invalid(
                f"«{name}» در {field} شناخته نیست؛ یکی از اینها: {', '.join(sorted(allowed))}.",
                f"Unknown {field} value {name!r}; one of: {', '.join(sorted(allowed))}.",
                field,
            )
        if found not in out:
            out.append(found)
    return ",".join(out)


def check_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The route's config with types checked; raises `route_invalid` naming the field."""
    if kind not in ("smpp", "simulator", "http"):
        raise _invalid(
            "نوع مسیر باید smpp، http یا simulator باشد.", "The kind must be smpp, http or simulator.", "kind"
        )
    if not isinstance(config, dict):
        raise _invalid("تنظیمات مسیر باید یک شیء JSON باشد.", "The config must be a JSON object.", "config")
    if kind == "http" and config.get("provider") != "kavenegar":
        return dict(config)  # a provider registered by someone else checks its own settings
    if kind == "http":
        # Kavenegar's REST API: {"provider": "kavenegar", "api_key": …, "base_url": …}.
        try:
            KavenegarConfig.from_mapping(config)
        except KavenegarConfigError as exc:
            raise _invalid(
                f"تنظیم «{exc.field}» مسیر HTTP درست نیست: {exc}", f"HTTP route setting {exc.field}: {exc}",
                f"config.{exc.field}",
            ) from exc
        return dict(config)
    out: dict[str, Any] = {}
    for key, value in config.items():
        wanted = SMPP_FIELDS.get(key)
        if wanted is None:
            raise _invalid(f"تنظیم «{key}» شناخته نیست.", f"Unknown setting {key!r}.", f"config.{key}")
        if value is None and key == "tps":
            continue
        ok = isinstance(value, wanted) and not (wanted is not bool and isinstance(value, bool))
        if wanted is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            raise _invalid(
                f"مقدار «{key}» باید از نوع {wanted.__name__} باشد.",
                f"{key} must be a {wanted.__name__}.",
                f"config.{key}",
            )
        out[key] = value
    if kind == "smpp":
        for key in ("host", "port", "system_id", "password"):
            if key not in out or out[key] in ("", None):
                raise _invalid(
                    f"«{key}» برای مسیر SMPP لازم است.", f"An SMPP route needs {key}.", f"config.{key}"
                )
        if not 0 < out["port"] < 65536:
            raise _invalid(
                "درگاه (port) باید بین ۱ و ۶۵۵۳۵ باشد.", "The port must be 1-65535.", "config.port"
            )
    if len(str(out.get("system_id", ""))) > 15:
        raise _invalid(
            "system_id حداکثر ۱۵ نویسه است.", "system_id has at most 15 characters.", "config.system_id"
        )
    if len(str(out.get("password", ""))) > 8:
        raise _invalid(
            "گذرواژهٔ SMPP حداکثر ۸ نویسه است.",
            "An SMPP password has at most 8 characters.",
            "config.password",
        )
    try:
        smpp_route(
            RouteSpec(
                id=0,
                name="check",
                kind="smpp",
                config={"host": "x", "port": 1, "system_id": "", "password": "", **out},
            )
        )
    except (TypeError, ValueError) as exc:
        raise _invalid(
            f"تنظیمات مسیر درست نیست: {exc}", f"The route's settings are not valid: {exc}", "config"
        ) from exc
    return out


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A route as the dispatcher uses it: a snapshot of its row (or the built-in simulator)."""

    id: int | None
    name: str
    kind: str
    config: dict[str, Any] = field(default_factory=dict)
    operators: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    priority: int = 100
    refund_undelivered: bool = False

    @property
    def key(self) -> int:
        return self.id if self.id is not None else SIMULATOR_KEY

    @classmethod
    def of(cls, route: Route) -> RouteSpec:
        return cls(
            id=route.id,
            name=route.name,
            kind=route.kind,
            config=dict(route.config or {}),
            operators=frozenset(o for o in route.operators.split(",") if o),
            kinds=frozenset(k for k in route.kinds.split(",") if k),
            priority=route.priority,
            refund_undelivered=route.refund_undelivered,
        )

    def fingerprint(self) -> tuple[Any, ...]:
        """What, when changed, needs a new provider (a new connection)."""
        return (self.kind, sorted((k, repr(v)) for k, v in self.config.items()))

    def carries(self, operator: str | None, kind: str) -> bool:
        if self.kinds and kind not in self.kinds:
            return False
        return not self.operators or (operator or "other") in self.operators


SIMULATOR: Final = RouteSpec(id=None, name=SIMULATOR_NAME, kind="simulator")


def smpp_route(spec: RouteSpec, *, host: str | None = None, port: int | None = None) -> SmppRoute:
    """The SmppRoute for a route's config; `host`/`port` point a simulator route at the built-in SMSC."""
    config = dict(spec.config)
    if "blacklist_errors" in config:
        config["blacklist_errors"] = frozenset(int(e) for e in config["blacklist_errors"])
    if spec.kind == "simulator":
        config.setdefault("system_id", "payamak")
        config.setdefault("password", "payamak")
        config["host"] = host or config.get("host", "127.0.0.1")
        config["port"] = port if port is not None else config.get("port", 2775)
    return SmppRoute(name=spec.name, **config)


class RoutingTable:
    """Candidates per (pinned route, operator, kind), worked out once and remembered."""

    def __init__(self, specs: Sequence[RouteSpec]) -> None:
        self.specs = sorted(specs, key=lambda s: (s.priority, s.id or 0))
        self.by_key = {s.key: s for s in self.specs}
        self.fallback = not self.specs
        if self.fallback:
            self.by_key[SIMULATOR_KEY] = SIMULATOR
        self._cache: dict[tuple[int | None, str | None, str], tuple[RouteSpec, ...]] = {}

    def candidates(
        self, *, line_route_id: int | None, operator: str | None, kind: str
    ) -> tuple[RouteSpec, ...]:
        key = (line_route_id, operator, kind)
        found = self._cache.get(key)
        if found is None:
            if self.fallback:
                found = (SIMULATOR,)
            else:
                pinned = self.by_key.get(line_route_id) if line_route_id is not None else None
                rest = [s for s in self.specs if s is not pinned and s.carries(operator, kind)]
                found = tuple([pinned, *rest] if pinned is not None else rest)
            self._cache[key] = found
        return found


# --- providers and their health -------------------------------------------------------------

ReceiptSink = Callable[[int, Receipt], None]
InboundSink = Callable[[int, Inbound], None]
ProviderFactory = Callable[[RouteSpec, "ProviderHooks"], Provider]


@dataclass(frozen=True, slots=True)
class ProviderHooks:
    """What a provider factory gets besides the route: where to hand receipts and inbound SMS,
    and where the built-in simulated SMSC listens (for simulator routes)."""

    # Each returns an awaitable the provider waits on before acknowledging the PDU to the SMSC.
    on_receipt: Callable[[Receipt], Awaitable[None] | None]
    on_inbound: Callable[[Inbound], Awaitable[None] | None]
    smsc_host: str = "127.0.0.1"
    smsc_port: int = 2775


def _smpp_factory(spec: RouteSpec, hooks: ProviderHooks) -> Provider:
    route = smpp_route(spec, host=hooks.smsc_host if spec.kind == "simulator" else None,
                       port=hooks.smsc_port if spec.kind == "simulator" else None)  # fmt: skip
    return SmppProvider(route, on_receipt=hooks.on_receipt, on_inbound=hooks.on_inbound)


def _http_factory(spec: RouteSpec, hooks: ProviderHooks) -> Provider:
    def on_receipt(receipt: Receipt) -> None:
        hooks.on_receipt(receipt)  # polled over HTTP: nothing to acknowledge to a peer

    def on_inbound(inbound: Inbound) -> None:
        hooks.on_inbound(inbound)

    if spec.config.get("provider") != "kavenegar":
        raise ValueError(f"no HTTP provider named {spec.config.get('provider')!r}")
    return KavenegarProvider.from_config(spec.config, on_receipt=on_receipt, on_inbound=on_inbound)


# Route kinds the dispatcher can build a provider for.
FACTORIES: dict[str, ProviderFactory] = {"smpp": _smpp_factory, "simulator": _smpp_factory, "http": _http_factory}


def register_factory(kind: str, factory: ProviderFactory) -> None:
    FACTORIES[kind] = factory


@dataclass(slots=True)
class RouteStatus:
    """How a route is doing, as shown to admins."""

    state: str  # starting | up | down | failing | unsupported
    binds_up: int = 0
    binds: int = 0
    last_error: str | None = None

    @property
    def usable(self) -> bool:
        return self.state in ("up", "starting")


class RouteRuntime:
    """A route's provider inside one dispatcher, and whether it can take messages now."""

    # A provider just started is given this long to bind before it counts as down.
    STARTING_GRACE: Final = 5.0

    def __init__(self, spec: RouteSpec, hooks: ProviderHooks) -> None:
        self.spec = spec
        self.started = time.monotonic()
        self.provider: Provider | None = None
        self.error: str | None = None
        # Set by route-level failures of other providers (SMPP ones report their binds).
        self.down_until = 0.0
        self.down_reason: str | None = None
        self.submitted = 0
        self.failed = 0
        factory = FACTORIES.get(spec.kind)
        if factory is None:
            self.error = f"no provider for route kind {spec.kind!r}"
            return
        try:
            self.provider = factory(spec, hooks)
        except (TypeError, ValueError) as exc:
            self.error = f"route_invalid: {exc}"

    async def start(self) -> None:
        # Both start at once: SMPP binds, Kavenegar polls for receipts and inbound SMS.
        if isinstance(self.provider, SmppProvider | KavenegarProvider):
            await self.provider.start()

    def mark_down(self, reason: str, seconds: float) -> None:
        self.down_until = time.monotonic() + seconds
        self.down_reason = reason

    def status(self) -> RouteStatus:
        provider = self.provider
        if provider is None:
            return RouteStatus("unsupported", last_error=self.error)
        if isinstance(provider, SmppProvider):
            binds = provider.route.binds
            up = provider.bound
            error = provider.stats.last_bind_error
            if up:
                return RouteStatus("up", up, binds, None)
            if provider.closed:
                return RouteStatus("down", 0, binds, "closed")
            if error is None and time.monotonic() - self.started < max(
                self.STARTING_GRACE, provider.route.connect_timeout
            ):
                return RouteStatus("starting", 0, binds, None)
            auth = error is not None and error.startswith("ESME_RINV")
            return RouteStatus("failing" if auth else "down", 0, binds, error or "not connected")
        if time.monotonic() < self.down_until:
            return RouteStatus("down", 0, 1, self.down_reason)
        return RouteStatus("up", 1, 1, None)

    async def close(self) -> None:
        if self.provider is not None:
            await self.provider.close()
