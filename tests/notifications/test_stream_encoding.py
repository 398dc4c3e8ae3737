"""The stream's own event encoder writes what sse-starlette's ServerSentEvent writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sse_starlette import ServerSentEvent

from app.notifications.stream import badge_event, encode

LINE_BREAKS = st.sampled_from(["\n", "\r", "\r\n", "\n\n", "\r\r\n"])
TEXT = st.lists(st.one_of(st.text(max_size=20), LINE_BREAKS), max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(data=TEXT, event=st.none() | TEXT, event_id=st.none() | TEXT, retry=st.none() | st.integers(0, 10**6))
def test_any_event_is_encoded_as_sse_starlette_encodes_it(data, event, event_id, retry):
    fields = {"data": data, "event": event, "id": event_id, "retry": retry}
    fields = {name: value for name, value in fields.items() if value is not None}
    assert encode(fields) == ServerSentEvent(**fields).encode()


def test_events_of_one_chunk_follow_each_other():
    item = {"event": "notification", "id": "42", "data": "<li>\n  Incident 26112701\n</li>"}
    badge = badge_event('<span class="badge">3</span>', last_id=42)
    assert encode(item, badge) == (
        b"id: 42\r\nevent: notification\r\ndata: <li>\r\ndata:   Incident 26112701\r\ndata: </li>\r\n\r\n"
        b'id: 42\r\nevent: unread\r\ndata: <span class="badge">3</span>\r\nretry: 3000\r\n\r\n')


def test_sse_starlette_still_writes_through_the_method_the_stream_replaces():
    """EventStream skips sse-starlette's per-write cancel scope by overriding `_send_with_timeout`:
    an upgrade that stops calling it would silently bring the scope back."""
    import inspect

    from sse_starlette import EventSourceResponse

    from app.notifications.stream import EventStream

    assert "self._send_with_timeout(" in inspect.getsource(EventSourceResponse._stream_response)
    assert EventStream._send_with_timeout is not EventSourceResponse._send_with_timeout
