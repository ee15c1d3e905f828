"""A TCP proxy between kiosks and their database that makes the network real: a delay on each direction, a stall,
a blackhole (packets dropped, not refused), a cut; and a count of the round trips that crossed it.

It runs an asyncio loop in a thread of its own, so a test or bench in plain blocking code can start it, point a
database URL at it (`proxy.url_for(url)`) and change the network while kiosks use it:

    with NetProxy("127.0.0.1", 5432, up_ms=1.0) as proxy:
        engine = make_engine(proxy.url_for(pg_url))
        proxy.blackhole()   # bytes in flight and new ones vanish; new connections are accepted, never answered
        proxy.restore()     # forwarding again (connections held through a stall carry on; blackholed ones are dead)

- delay: every chunk read on one side is written to the other `up_ms` (client -> server) or `down_ms` (server ->
  client) after it arrived, in order, without limiting bandwidth (a delay line, not a queue that adds up). The
  event loop wakes with millisecond resolution (epoll), so a delay is at least what was asked and up to 1 ms more:
  `measure_rtt()` says what a round trip through the proxy really costs.
- stall(): bytes are held, both ways, until resume(); connections stay open (a switch that stops forwarding).
- blackhole(): bytes are dropped, both ways, and new connections are accepted but get no answer and reach no
  server (as when a cable is pulled and packets go nowhere); restore() forwards again for new connections, the
  ones that lost bytes are closed (their streams are broken).
- cut(): every connection is closed at once (reset), new ones still work: a server restart as the client sees it.
- refuse(): stop listening: new connections are refused (as a stopped server's port); listen() again after.
- round trips: on each connection, a client write that follows an answer from the server (or is the first) counts
  one: pipelined statements sent together count once, as they cost one wait. `round_trips` is the total.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import make_url

CHUNK = 65536


@dataclass(eq=False)
class _Link:
    """One client connection and its server connection."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    awaiting_answer: bool = False
    broken: bool = False  # lost bytes in a blackhole: closed when the network comes back
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def close(self) -> None:
        for writer in (self.client, self.server):
            if writer is not None and not writer.is_closing():
                _reset(writer)
        for task in self.tasks:
            task.cancel()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:  # SO_LINGER 0: the peer sees a reset, as when a server process dies
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    writer.close()


class NetProxy:
    """Listens on 127.0.0.1:`listen_port` (0: any free port) and forwards to target_host:target_port."""

    def __init__(self, target_host: str, target_port: int, *, up_ms: float = 0.0, down_ms: float = 0.0,
                 listen_port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.up_ms, self.down_ms = up_ms, down_ms
        self._listen_port = listen_port
        self.port = 0
        self.round_trips = 0
        self.connections = 0
        self._mode = "forward"  # forward | stall | blackhole
        self._links: set[_Link] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._resumed: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="netproxy", daemon=True)

    # --- life ------------------------------------------------------------------------------------------------
    def start(self) -> NetProxy:
        self._thread.start()
        self._call(self._init())
        self.listen()
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> NetProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def url_for(self, url: str) -> str:
        """The database URL with host and port replaced by the proxy's."""
        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    # --- controls (callable from any thread) -------------------------------------------------------------------
    def set_delay(self, up_ms: float, down_ms: float = 0.0) -> None:
        self.up_ms, self.down_ms = up_ms, down_ms

    def stall(self) -> None:
        self._call(self._set_mode("stall"))

    def resume(self) -> None:
        self._call(self._set_mode("forward"))

    def blackhole(self) -> None:
        self._call(self._set_mode("blackhole"))

    def restore(self) -> None:
        """Forward again after a stall or a blackhole (connections that lost bytes are closed)."""
        self._call(self._set_mode("forward"))

    def cut(self) -> None:
        self._call(self._close_all())

    def refuse(self) -> None:
        self._call(self._stop_listening())

    def listen(self) -> None:
        self._call(self._start_listening())

    @property
    def mode(self) -> str:
        return self._mode

    def measure_rtt(self, samples: int = 20) -> float:
        """Median milliseconds of one tiny request and its answer through the proxy's delays (an echo inside the
        proxy's loop stands for the server, so only the network part is measured)."""
        times = []
        for _ in range(samples):
            t0 = time.perf_counter()
            self._call(self._echo_once())
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        return times[len(times) // 2]

    # --- inside the loop ----------------------------------------------------------------------------------------
    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _init(self) -> None:
        self._resumed = asyncio.Event()
        self._resumed.set()

    async def _start_listening(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port or self._listen_port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _shutdown(self) -> None:
        await self._stop_listening()
        await self._close_all()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _close_all(self) -> None:
        for link in list(self._links):
            link.close()
        self._links.clear()

    async def _set_mode(self, mode: str) -> None:
        assert self._resumed is not None
        self._mode = mode
        if mode == "stall":
            self._resumed.clear()
        else:
            self._resumed.set()
        if mode == "forward":
            for link in [link for link in self._links if link.broken]:
                link.close()
                self._links.discard(link)

    async def _echo_once(self) -> None:
        done = asyncio.get_running_loop().create_future()
        self._loop.call_later(self.up_ms / 1000, lambda: self._loop.call_later(
            self.down_ms / 1000, lambda: done.done() or done.set_result(None)))
        await done

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(writer)
        self._links.add(link)
        self.connections += 1
        try:
            if self._mode == "blackhole":  # accepted, never answered, no server reached
                link.broken = True
                while await reader.read(CHUNK):
                    pass
                return
            try:
                server_reader, server_writer = await asyncio.open_connection(*self.target)
            except OSError:
                return
            link.server = server_writer
            up = asyncio.ensure_future(self._pipe(link, reader, server_writer, upstream=True))
            down = asyncio.ensure_future(self._pipe(link, server_reader, writer, upstream=False))
            link.tasks += [up, down]
            await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            link.close()
            self._links.discard(link)

    async def _pipe(self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                    upstream: bool) -> None:
        """Read chunks as they come and hand each to the writer task at its arrival time + the delay."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.ensure_future(self._deliver(link, queue, writer))
        link.tasks.append(sender)
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                if upstream:
                    if not link.awaiting_answer:
                        self.round_trips += 1
                        link.awaiting_answer = True
                else:
                    link.awaiting_answer = False
                if self._mode == "blackhole":
                    link.broken = True
                    continue
                delay = (self.up_ms if upstream else self.down_ms) / 1000
                queue.put_nowait((loop.time() + delay, data))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            await queue.put((0.0, b""))
            try:
                await sender
            except (ConnectionError, asyncio.CancelledError):
                pass

    async def _deliver(self, link: _Link, queue: asyncio.Queue[tuple[float, bytes]],
                       writer: asyncio.StreamWriter) -> None:
        assert self._resumed is not None
        loop = asyncio.get_running_loop()
        while True:
            at, data = await queue.get()
            if not data:
                return
            wait = at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._resumed.wait()  # stalled: held until resumed
            if self._mode == "blackhole" or link.broken:
                link.broken = True
                continue
            writer.write(data)
            await writer.drain()


@contextmanager
def proxied(url: str, *, up_ms: float = 0.0, down_ms: float = 0.0) -> Iterator[tuple[NetProxy, str]]:
    """A proxy in front of the PostgreSQL server of `url`, and the URL that goes through it."""
    parsed = make_url(url)
    with NetProxy(parsed.host or "127.0.0.1", parsed.port or 5432, up_ms=up_ms, down_ms=down_ms) as proxy:
        yield proxy, proxy.url_for(url)
