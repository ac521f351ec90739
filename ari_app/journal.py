"""The write-behind journal: database writes kept on disk while the database is away.

One JSON object per line, appended and fsync'd before the call goes on::

    {"seq": 7, "op": "calls.ended", "args": {"call_id": "…", "at": {"$dt": "2026-…"}}}

``seq`` grows by one per entry and is what the replay follows. A crash in the
middle of an append leaves an incomplete last line: on opening, it is skipped
with a warning and cut off, so the next append starts on a clean line; every
complete line before it is kept. Entries that the database refuses at replay
(a bug, not an outage) go to a ``.rejected.jsonl`` file next to the journal, so
nothing is dropped silently.

File I/O runs in a worker thread: an fsync must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    seq: int
    op: str
    args: dict[str, Any]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a journal entry")
        return {"$dt": value.isoformat()}
    raise TypeError(f"cannot journal a {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if obj.keys() == {"$dt"}:
        return datetime.fromisoformat(obj["$dt"])
    return obj


def dumps(entry: Entry) -> bytes:
    line = json.dumps({"seq": entry.seq, "op": entry.op, "args": entry.args},
                      default=_encode, separators=(",", ":"), ensure_ascii=False)
    return line.encode() + b"\n"


def loads(line: bytes) -> Entry:
    raw = json.loads(line, object_hook=_decode)
    return Entry(seq=int(raw["seq"]), op=str(raw["op"]), args=dict(raw["args"]))


class Journal:
    """An append-only file of entries, emptied once they are all in the database."""

    def __init__(self, path: Path):
        self.path = path
        self.rejected_path = path.with_suffix(".rejected.jsonl")
        #: Entries on disk, oldest first (the journal is small: an outage's writes).
        self.entries: list[Entry] = []
        self.last_seq = 0
        self._lock = asyncio.Lock()

    async def open(self) -> list[Entry]:
        """Read what a previous run left; return those entries."""
        async with self._lock:
            self.entries = await asyncio.to_thread(self._load)
            if self.entries:
                self.last_seq = max(self.last_seq, self.entries[-1].seq)
            return list(self.entries)

    async def append(self, op: str, args: dict[str, Any]) -> Entry:
        """Write one entry durably; return it with its sequence number."""
        [entry] = await self.append_many([(op, args)])
        return entry

    async def append_many(self, writes: list[tuple[str, dict[str, Any]]]) -> list[Entry]:
        """Write entries durably, in order, with one fsync; return them numbered."""
        async with self._lock:
            entries = [Entry(self.last_seq + n, op, args)
                       for n, (op, args) in enumerate(writes, start=1)]
            # dumps refuses what could not be read back, before anything is written
            data = b"".join(dumps(entry) for entry in entries)
            await asyncio.to_thread(self._write, data)
            if entries:
                self.last_seq = entries[-1].seq
            self.entries.extend(entries)
            return entries

    async def clear_through(self, seq: int) -> bool:
        """Empty the file if every entry is at or below ``seq``; False if newer ones came."""
        async with self._lock:
            if self.entries and self.entries[-1].seq > seq:
                return False
            await asyncio.to_thread(self._truncate)
            self.entries = []
            return True

    async def reject(self, entry: Entry, reason: str) -> None:
        """Keep an entry the database refused, with why, out of the way of the replay."""
        line = json.dumps({"seq": entry.seq, "op": entry.op, "args": entry.args,
                           "reason": reason}, default=_encode, ensure_ascii=False)
        await asyncio.to_thread(self._write, line.encode() + b"\n", self.rejected_path)

    # -- blocking helpers, run in a thread ---------------------------------------
    def _load(self) -> list[Entry]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        entries: list[Entry] = []
        good_end = 0
        lines = data.split(b"\n")
        for number, line in enumerate(lines, start=1):
            is_last = number == len(lines)
            if not line.strip():
                if not is_last:
                    good_end += len(line) + 1
                continue
            try:
                entry = loads(line)
            except (ValueError, KeyError, TypeError):
                if is_last or all(not rest.strip() for rest in lines[number:]):
                    log.warning("journal %s: incomplete last line (a crash while writing it) "
                                "skipped; the %d entries before it are kept", self.path,
                                len(entries))
                    break
                log.error("journal %s: line %d is unreadable; kept in %s", self.path, number,
                          self.rejected_path)
                self._write(line + b"\n", self.rejected_path)
                good_end += len(line) + 1
                continue
            entries.append(entry)
            good_end += len(line) + 1
        if good_end < len(data):
            # Cut the partial line off, so the next append starts on a line of its own.
            with self.path.open("r+b") as file:
                file.truncate(good_end)
                os.fsync(file.fileno())
        return entries

    def _write(self, data: bytes, path: Path | None = None) -> None:
        target = path or self.path
        created = not target.exists()
        if created:
            target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("ab") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if created:
            _fsync_dir(target.parent)

    def _truncate(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("r+b") as file:
            file.truncate(0)
            os.fsync(file.fileno())


def _fsync_dir(directory: Path) -> None:
    """Make a new file's name durable too, not only its content."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
