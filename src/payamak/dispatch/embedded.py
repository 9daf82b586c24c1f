"""The dispatcher inside `payamak serve`: started and stopped with the web application."""

from __future__ import annotations

import logging
from collections.abc import Callable

from payamak.context import Context
from payamak.dispatch.settings import DispatchSettings
from payamak.dispatch.worker import Dispatcher

log = logging.getLogger("payamak.dispatch")


async def start_embedded(
    ctx: Context, *, config: DispatchSettings | None = None, announce: Callable[[str], None] | None = None
) -> Dispatcher | None:
    """Start a dispatcher on the application's event loop, unless PAYAMAK_EMBEDDED_DISPATCHER=false.

    A dispatcher that cannot start is logged and left out: the web application still serves, and
    messages wait in the queue for a dispatcher (`payamak dispatcher`)."""
    config = config or DispatchSettings()
    say = announce or log.info
    if not config.embedded:
        say("embedded dispatcher disabled (PAYAMAK_EMBEDDED_DISPATCHER=false): run `payamak dispatcher`")
        return None
    dispatcher = Dispatcher(db=ctx.db, settings=ctx.settings, config=config, announce=say)
    try:
        await dispatcher.start()
    except Exception:
        log.exception("the embedded dispatcher could not start; messages stay queued")
        return None
    return dispatcher
