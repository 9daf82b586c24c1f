"""One SMPP connection over asyncio streams: frames in, coalesced writes out.

Both ends of Payamak's SMPP (the ESME client and the simulated SMSC) send many small PDUs. Writing
each one to the socket costs a system call and, without TCP_NODELAY, a delayed-ACK wait of up to
40 ms per PDU (what makes some gateways crawl at a few dozen messages a second). So every PDU
produced in one turn of the event loop is joined and written once, and Nagle is switched off.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from payamak.providers.smpp import pdu

READ_SIZE = 256 * 1024


def set_nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Link:
    __slots__ = ("_decoder", "_loop", "_out", "_scheduled", "closed", "peer", "reader", "writer")

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        max_length: int = pdu.MAX_COMMAND_LENGTH,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self._decoder = pdu.FrameDecoder(max_length)
        self._loop = asyncio.get_running_loop()
        self._out: list[bytes] = []
        self._scheduled = False
        self.closed = False
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        set_nodelay(writer)

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        self._out.append(data)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if not self._out:
            return
        data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
        self._out.clear()
        if not self.closed and not self.writer.is_closing():
            self.writer.write(data)

    @property
    def write_buffer_size(self) -> int:
        return self.writer.transport.get_write_buffer_size() + sum(map(len, self._out))

    async def drain(self) -> None:
        """Wait while the peer is not reading what we write."""
        self._flush()
        if not self.closed:
            await self.writer.drain()

    async def read(self) -> list[pdu.Frame] | None:
        """The frames that arrived next, or None once the peer has closed. Raises PduError on
        bytes that cannot be SMPP, and ConnectionError/OSError on a broken connection."""
        while True:
            data = await self.reader.read(READ_SIZE)
            if not data:
                return None
            frames = self._decoder.feed(data)
            if frames:
                return frames

    def close(self) -> None:
        """Write what is queued, then close."""
        if self.closed:
            return
        self._flush()
        self.closed = True
        self.writer.close()

    def abort(self) -> None:
        """Drop the connection now, unwritten data and all."""
        self.closed = True
        self._out.clear()
        self.writer.transport.abort()

    async def wait_closed(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
