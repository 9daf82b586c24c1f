"""The dispatcher inside `payamak serve`: started and stopped with the web application, together
with the sender of status callbacks (the outbox the dispatcher's status changes fill)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from payamak.compat.callbacks import CallbackSender
from payamak.context import Context
from payamak.dispatch.settings import DispatchSettings
from payamak.dispatch.worker import Dispatcher

log = logging.getLogger("payamak.dispatch")


@dataclass(slots=True)
class Embedded:
    """What runs beside the web application; either part may be missing if it could not start."""

    dispatcher: Dispatcher | None
    callbacks: CallbackSender | None

    async def stop(self) -> None:
        # The dispatcher first: its last writes queue callbacks, which the sender may still deliver
        # in its last round (what it does not deliver waits in the outbox for the next start).
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self.callbacks is not None:
            await self.callbacks.stop()


async def start_embedded(
    ctx: Context, *, config: DispatchSettings | None = None, announce: Callable[[str], None] | None = None
) -> Embedded | None:
    """Start a dispatcher and the status-callback sender on the application's event loop, unless
    PAYAMAK_EMBEDDED_DISPATCHER=false.

    A part that cannot start is logged and left out: the web application still serves, messages
    wait in the queue for a dispatcher (`payamak dispatcher`) and callbacks in their outbox."""
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
        running: Dispatcher | None = None
    else:
        running = dispatcher
    callbacks = CallbackSender(db=ctx.db, settings=ctx.settings)
    try:
        callbacks.start()
    except Exception:
        log.exception("the status-callback sender could not start; callbacks wait in their outbox")
        return Embedded(running, None)
    return Embedded(running, callbacks)
