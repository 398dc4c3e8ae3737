"""A small server-sent-events client over httpx, for tests against a live server."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx


@dataclass
class Event:
    event: str
    id: str | None
    data: str


class EventStream:
    """Events read by a task of their own into a queue: a timed-out wait never cancels the read
    (cancelling an async generator mid-iteration would close the stream)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._pump())

    async def next(self, timeout: float = 2.0) -> Event:
        """The next event (pings skipped); TimeoutError when none comes in time."""
        event = await asyncio.wait_for(self._events.get(), timeout)
        if event is None:
            self._events.put_nowait(None)
            raise ConnectionError("the stream ended")
        return event

    async def until(self, kind: str, timeout: float = 2.0) -> Event:
        """Skip events until one of `kind` arrives."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next(timeout)
                if event.event == kind:
                    return event

    async def nothing_of(self, kind: str, within: float) -> None:
        """Assert that no event of `kind` arrives within `within` seconds."""
        try:
            async with asyncio.timeout(within):
                while True:
                    event = await self.next(within)
                    assert event.event != kind, f"unexpected {kind} event: {event}"
        except TimeoutError:
            return

    async def close(self) -> None:
        self._reader.cancel()

    async def _pump(self) -> None:
        kind, event_id, data = "message", None, []
        try:
            async for line in self.response.aiter_lines():
                if not line:
                    if data or kind != "message":
                        self._events.put_nowait(Event(kind, event_id, "\n".join(data)))
                    kind, event_id, data = "message", None, []
                elif line.startswith(":"):
                    continue  # a ping comment
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "event":
                        kind = value
                    elif field == "id":
                        event_id = value
                    elif field == "data":
                        data.append(value)
        except httpx.HTTPError:
            pass
        finally:
            self._events.put_nowait(None)


@asynccontextmanager
async def open_stream(http: httpx.AsyncClient, *, last_event_id: str | None = None):
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    async with http.stream("GET", "/notifications/stream", headers=headers,
                           timeout=httpx.Timeout(10, read=30)) as response:
        assert response.status_code == 200, response.status_code
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        try:
            yield stream
        finally:
            await stream.close()
