"""The Redis online store (``redis://host:port/db``): one hash per record.

Each record is the hash ``sagebox:fs:{<group>}:<key>`` with fields ``t`` (event time), ``x``
(expiry), ``d`` (deletion marker) and ``v`` (the values as JSON). The braces make a group's
keys one Redis Cluster hash slot. A batch is written by one Lua script, which Redis runs
atomically, comparing event times inside the server; expiring records also get a Redis
expiry, so the server drops them by itself.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sagebox.backends.kv.base import OnlineRecord, OnlineStore, newest_per_key, now_ns
from sagebox.errors import ServiceUnavailableError, redact

if TYPE_CHECKING:
    import redis

__all__ = ["RedisOnlineStore"]

# Event times are compared as fixed-width strings (nanoseconds + 2**63, 20 digits): Lua
# numbers are doubles and would lose the nanoseconds.
_WRITE = """
local applied = 0
for i, key in ipairs(KEYS) do
  local at = (i - 1) * 5
  local held = redis.call('HGET', key, 't')
  if (not held) or ARGV[at + 1] >= held then
    redis.call('DEL', key)
    redis.call('HSET', key, 't', ARGV[at + 1], 'x', ARGV[at + 2], 'd', ARGV[at + 4],
               'v', ARGV[at + 5])
    if ARGV[at + 3] ~= '' then redis.call('PEXPIREAT', key, ARGV[at + 3]) end
    applied = applied + 1
  end
end
return applied
"""
_OFFSET = 2**63
_SCAN_COUNT = 1000


def _event(ns: int) -> str:
    return f"{int(ns) + _OFFSET:020d}"


class RedisOnlineStore(OnlineStore):
    """Online records in Redis. See :class:`OnlineStore`.

    Example:
        >>> store = RedisOnlineStore("redis://127.0.0.1:6379/0")  # doctest: +SKIP
        >>> store.write_batch("g", [OnlineRecord("1", 10, {"x": 1})])  # doctest: +SKIP
        1
    """

    def __init__(self, uri: str, connect_timeout: float = 5.0) -> None:
        import redis

        self._client: redis.Redis = redis.Redis.from_url(
            uri, socket_connect_timeout=connect_timeout, socket_timeout=30
        )
        self.uri = redact(uri)
        with self._unavailable():
            self._client.ping()
        self._script = self._client.register_script(_WRITE)

    def __repr__(self) -> str:
        return f"RedisOnlineStore({self.uri!r})"

    def _unavailable(self) -> Any:
        return _Unavailable(self.uri)

    @staticmethod
    def _key(group: str, key: str) -> str:
        return f"sagebox:fs:{{{group}}}:{key}"

    def write_batch(self, group: str, records: list[OnlineRecord]) -> int:
        chosen = newest_per_key(records)
        if not chosen:
            return 0
        keys: list[str] = []
        args: list[str] = []
        for r in chosen:
            keys.append(self._key(group, r.key))
            expires_ms = "" if r.expires_ns is None else str(-(-int(r.expires_ns) // 1_000_000))
            args += [
                _event(r.event_ns),
                "" if r.expires_ns is None else str(int(r.expires_ns)),
                expires_ms,
                "1" if r.deleted else "0",
                json.dumps(r.values, separators=(",", ":")),
            ]
        with self._unavailable():
            return int(self._script(keys=keys, args=args))

    def read(
        self, group: str, keys: list[str], at_ns: int | None = None
    ) -> list[OnlineRecord | None]:
        at = now_ns() if at_ns is None else at_ns
        with self._unavailable():
            if len(keys) == 1:
                rows = [self._client.hmget(self._key(group, keys[0]), "t", "x", "d", "v")]
            else:
                pipe = self._client.pipeline(transaction=False)
                for key in keys:
                    pipe.hmget(self._key(group, key), "t", "x", "d", "v")
                rows = pipe.execute()
        out: list[OnlineRecord | None] = []
        for key, (event, expires, deleted, payload) in zip(keys, rows, strict=True):
            if event is None:
                out.append(None)
                continue
            record = OnlineRecord(
                key,
                int(event) - _OFFSET,
                json.loads(payload) if payload else {},
                int(expires) if expires else None,
                deleted == b"1",
            )
            out.append(record if record.live(at) else None)
        return out

    def delete(self, group: str, keys: list[str]) -> int:
        if not keys:
            return 0
        with self._unavailable():
            return int(self._client.delete(*(self._key(group, k) for k in keys)))

    def _group_keys(self, group: str) -> list[bytes]:
        pattern = self._key(group, "*")
        with self._unavailable():
            return list(self._client.scan_iter(match=pattern, count=_SCAN_COUNT))

    def drop_group(self, group: str) -> int:
        keys = self._group_keys(group)
        removed = 0
        with self._unavailable():
            for start in range(0, len(keys), _SCAN_COUNT):
                removed += int(self._client.delete(*keys[start : start + _SCAN_COUNT]))
        return removed

    def count(self, group: str) -> int:
        return len(self._group_keys(group))

    def close(self) -> None:
        self._client.close()


class _Unavailable:
    """Turn connection failures into :class:`ServiceUnavailableError`."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        import redis

        if exc is not None and isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            raise ServiceUnavailableError(
                f"cannot reach the Redis online store at {self.uri}: {exc}",
                hint="start redis-server, or point SAGEBOX_ONLINE_STORE_URI at a reachable one",
            ) from exc
