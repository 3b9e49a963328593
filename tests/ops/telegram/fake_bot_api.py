"""A local Telegram Bot API server for tests: the real HTTP API (``/bot<token>/<method>``,
``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code", "description"}``) on
loopback, run by aiohttp in a thread of its own.

A test injects what users do (a message from a chat, a press on an inline button) as
updates ``getUpdates`` long-polls for, and reads back what the bot sent (``sent``).
``fail_next`` makes the next calls of a method fail (a 429 with
``parameters.retry_after``, or a 5xx) as Telegram does under flood control.

Sample request the bot makes (python-telegram-bot posts form fields, JSON-encoding
complex values)::

    POST /bot123:abc/sendMessage
    chat_id=42&text=hello
    &reply_markup={"inline_keyboard": [[{"text": "OK", "callback_data": "c:1"}]]}
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

BOT_ID = 7_000_001
BOT_USERNAME = "tradefabric_test_bot"
JsonDict = dict[str, Any]
INT_FIELDS = ("chat_id", "message_id", "offset", "limit", "timeout", "cache_time")
JSON_FIELDS = ("reply_markup", "allowed_updates", "commands", "entities", "link_preview_options")


class Call:
    """One request the bot made: its method, decoded parameters, wall time and answer."""

    def __init__(self, method: str, params: JsonDict, status: int) -> None:
        self.method = method
        self.params = params
        self.status = status
        self.at = time.monotonic()

    def __repr__(self) -> str:
        return f"Call({self.method}, {self.params!r}, {self.status})"


class FakeBotApi:
    """Serve the Bot API for one token; see the module docstring."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self._updates: list[JsonDict] = []
        self._next_update = 1
        self._next_message = 1
        self._messages: dict[tuple[int, int], JsonDict] = {}
        self._failures: dict[str, list[tuple[int, int]]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._serve, name="fake-bot-api", daemon=True)
        self._ready = threading.Event()
        self.url = ""

    # --- lifecycle ---

    def start(self) -> FakeBotApi:
        """Listen on a free loopback port; ``base_url`` is then ready."""
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Bot API did not start")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def base_url(self) -> str:
        """The ``base_url`` python-telegram-bot appends the token to."""
        return f"{self.url}/bot"

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Condition()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._ready.set()
        await self._stop.wait()
        async with self._wake:
            self._wake.notify_all()
        await self._runner.cleanup()

    # --- what users do ---

    def user_says(self, chat_id: int, text: str, *, user_id: int | None = None) -> int:
        """Queue a message ``text`` from ``user_id`` (the chat's own user by default)."""
        message = self._user_message(chat_id, user_id or chat_id, text)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._push({"message": message})

    def press(self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None) -> int:
        """Queue a press on an inline button (``data``) under the bot's message."""
        with self._lock:
            message = self._messages[(chat_id, message_id)]
        user = _user(user_id or chat_id)
        query = {"id": f"cq{time.monotonic_ns()}", "from": user, "message": message,
                 "chat_instance": str(chat_id), "data": data}  # fmt: skip
        return self._push({"callback_query": query})

    def fail_next(
        self, method: str, code: int = 429, *, retry_after: int = 1, times: int = 1
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with error ``code``."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(code, retry_after)] * times)

    # --- what the bot did ---

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[Call]:
        """Return the successful calls of ``method`` (to ``chat_id`` when given)."""
        with self._lock:
            calls = list(self.calls)
        return [c for c in calls if c.method == method and c.status == 200
                and (chat_id is None or c.params.get("chat_id") == chat_id)]  # fmt: skip

    def texts(self, chat_id: int | None = None) -> list[str]:
        """Return the text of every message sent (to ``chat_id`` when given)."""
        return [str(c.params.get("text", "")) for c in self.sent(chat_id)]

    def wait_for(
        self, what: str, match: Callable[[Call], bool], *, after: int = 0, timeout_s: float = 20.0
    ) -> Call:
        """Return the first call past index ``after`` that ``match``es; fail after the timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                calls = self.calls[after:]
            for call in calls:
                if match(call):
                    return call
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}; got {calls}")

    def reply_to(
        self, chat_id: int, after: int, contains: str = "", timeout_s: float = 20.0
    ) -> Call:
        """Return the next message to ``chat_id`` past call ``after`` (containing ``contains``)."""
        return self.wait_for(
            f"a message to {chat_id} containing {contains!r}",
            lambda c: c.method in ("sendMessage", "editMessageText") and c.status == 200
            and c.params.get("chat_id") == chat_id and contains in str(c.params.get("text", "")),
            after=after, timeout_s=timeout_s,
        )  # fmt: skip

    def mark(self) -> int:
        """Return the number of calls so far (an ``after`` for ``wait_for``)."""
        with self._lock:
            return len(self.calls)

    # --- the server side ---

    def _push(self, update: JsonDict) -> int:
        with self._lock:
            update_id = self._next_update
            self._next_update += 1
            self._updates.append({"update_id": update_id, **update})
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._notify(), self._loop).result(5)
        return update_id

    async def _notify(self) -> None:
        assert self._wake is not None
        async with self._wake:
            self._wake.notify_all()

    def _user_message(self, chat_id: int, user_id: int, text: str) -> JsonDict:
        with self._lock:
            message_id = self._next_message
            self._next_message += 1
        return {"message_id": message_id, "from": _user(user_id), "chat": _chat(chat_id),
                "date": int(time.time()), "text": text}  # fmt: skip

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        if request.match_info["token"] != self.token:
            return self._answer(method, params, _error(401, "Unauthorized"))
        failure = self._failure(method)
        if failure is not None:
            return self._answer(method, params, failure)
        handler = self._methods().get(method)
        if handler is None:
            return self._answer(method, params, _error(404, "Not Found: method not found"))
        if method == "getUpdates":
            await self._long_poll(params)
        return self._answer(method, params, handler(params))

    def _failure(self, method: str) -> tuple[int, JsonDict] | None:
        with self._lock:
            queued = self._failures.get(method)
            if not queued:
                return None
            code, retry_after = queued.pop(0)
        if code == 429:
            body = _error(429, f"Too Many Requests: retry after {retry_after}")[1]
            body["parameters"] = {"retry_after": retry_after}
            return 429, body
        return _error(code, "Internal Server Error")

    def _answer(self, method: str, params: JsonDict, answer: tuple[int, JsonDict]) -> web.Response:
        status, body = answer
        with self._lock:
            self.calls.append(Call(method, params, status))
        return web.json_response(body, status=status)

    def _methods(self) -> dict[str, Callable[[JsonDict], tuple[int, JsonDict]]]:
        return {
            "getMe": lambda _p: _ok(_bot_user()),
            "getUpdates": self._get_updates,
            "deleteWebhook": lambda _p: _ok(True),
            "setMyCommands": lambda _p: _ok(True),
            "deleteMyCommands": lambda _p: _ok(True),
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_text,
            "answerCallbackQuery": lambda _p: _ok(True),
            "close": lambda _p: _ok(True),
            "logOut": lambda _p: _ok(True),
        }

    async def _long_poll(self, params: JsonDict) -> None:
        assert self._wake is not None and self._stop is not None
        offset = int(params.get("offset", 0) or 0)
        timeout = float(params.get("timeout", 0) or 0)
        deadline = time.monotonic() + timeout
        async with self._wake:
            while not self._pending(offset) and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                try:
                    await asyncio.wait_for(self._wake.wait(), left)
                except TimeoutError:
                    return

    def _pending(self, offset: int) -> list[JsonDict]:
        with self._lock:
            return [u for u in self._updates if u["update_id"] >= offset]

    def _get_updates(self, params: JsonDict) -> tuple[int, JsonDict]:
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        with self._lock:
            # As Telegram does: an offset confirms (forgets) every earlier update.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            return _ok(self._updates[:limit])

    def _send_message(self, params: JsonDict) -> tuple[int, JsonDict]:
        chat_id = params.get("chat_id")
        text = params.get("text")
        if not isinstance(chat_id, int) or not text:
            return _error(400, "Bad Request: chat_id and text are required")
        with self._lock:
            message_id = self._next_message
            self._next_message += 1
            message: JsonDict = {"message_id": message_id, "from": _bot_user(),
                                 "chat": _chat(chat_id), "date": int(time.time()),
                                 "text": text}  # fmt: skip
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            self._messages[(chat_id, message_id)] = message
        params["message_id"] = message_id  # recorded with the call: the test can press on it
        return _ok(message)

    def _edit_message_text(self, params: JsonDict) -> tuple[int, JsonDict]:
        key = (params.get("chat_id"), params.get("message_id"))
        with self._lock:
            message = self._messages.get(key)  # type: ignore[arg-type]
            if message is None:
                return _error(400, "Bad Request: message to edit not found")
            message = {**message, "text": params.get("text", message["text"]),
                       "edit_date": int(time.time())}  # fmt: skip
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            else:
                message.pop("reply_markup", None)
            self._messages[key] = message  # type: ignore[index]
        return _ok(message)


async def _params(request: web.Request) -> JsonDict:
    raw: JsonDict = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            raw.update(await request.json())
        else:
            raw.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    return {key: _coerce(key, value) for key, value in raw.items()}


def _coerce(key: str, value: Any) -> Any:
    if isinstance(value, str) and key in INT_FIELDS:
        return int(value)
    if isinstance(value, str) and key in JSON_FIELDS:
        return json.loads(value)
    return value


def _ok(result: Any) -> tuple[int, JsonDict]:
    return 200, {"ok": True, "result": result}


def _error(code: int, description: str) -> tuple[int, JsonDict]:
    return code, {"ok": False, "error_code": code, "description": description}


def _user(user_id: int) -> JsonDict:
    return {"id": user_id, "is_bot": False, "first_name": f"user{user_id}",
            "username": f"user{user_id}"}  # fmt: skip


def _chat(chat_id: int) -> JsonDict:
    return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}


def _bot_user() -> JsonDict:
    return {"id": BOT_ID, "is_bot": True, "first_name": "tradefabric", "username": BOT_USERNAME,
            "can_join_groups": False, "can_read_all_group_messages": False,
            "supports_inline_queries": False}  # fmt: skip
