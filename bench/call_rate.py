"""Call-rate benchmark: is the control plane ever what limits the PBX?

Drives calls welcome → IVR digit → queue → agent → talk → hang-up through a real
Asterisk 22 (its own sandbox instance "bench", its own ports and database) and
the control plane running as a separate ``centralino serve`` process, at fixed
rates of new calls per second. For each rate it reports the control plane's CPU
time per call (from its ``/metrics``), its reaction time from an ARI event to the
request it causes (p50/p99, from ``/metrics``), and Asterisk's CPU time per call
(from ``/proc/<pid>/stat``).

    .venv/bin/python bench/call_rate.py --rates 5,10,20,30 --seconds 20

Callers and agents' phones are generated inside Asterisk (see ``loadgen.py`` and
``bench_instance.py``); nothing of the product is changed. Everything the
benchmark starts is stopped at the end, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import product_path
from bench_instance import (
    BENCH_ARI_USER,
    CALLER_APP,
    ControlPlaneProcess,
    Ports,
    bench_configuration,
    bench_settings,
    cpu_seconds,
    cpu_split,
    create_agents,
    host_jiffies,
    new_bench_password,
    prepare_service,
    prompt_seconds,
    prompt_sound,
    staff,
)
from loadgen import BenchCall, LoadGenerator, LoadSettings
from sqlalchemy import func, select

from centralino.cli import sounds_dir_in
from centralino.errors import CentralinoError
from centralino.runtime import credentials_for, prepare_database
from centralino.sandbox import Sandbox
from models import Agent, Call

ROOT = product_path.ROOT
log = logging.getLogger("bench")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Drive calls welcome → IVR → queue → agent through the real sandbox at "
                    "fixed rates and measure the control plane's and Asterisk's cost per call.")
    parser.add_argument("--rates", default="5,10,20,30",
                        help="new calls per second, one step each (default 5,10,20,30)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="how long each step places new calls (default 20)")
    parser.add_argument("--talk", type=float, default=1.0,
                        help="seconds of conversation once an agent answers (default 1)")
    parser.add_argument("--agents", type=int, default=0,
                        help="agents logged in during every step; default: per step, enough "
                             "for its rate with 30%% to spare (rate × (talk + wrap-up + 1 s) "
                             "× 1.3, at least 10); as many are created as the largest step "
                             "needs"),
    parser.add_argument("--service", default="trentino-digitale",
                        help="service called (needs a menu; default trentino-digitale)")
    parser.add_argument("--digit", default="1", help="menu digit the callers press (default 1)")
    parser.add_argument("--dtmf-delay", type=float, default=None,
                        help="send the digit this many seconds after the control plane "
                             "answers; default: as soon as the menu prompt starts playing")
    parser.add_argument("--wrapup", type=int, default=1,
                        help="queue wrap-up seconds (default 1)")
    parser.add_argument("--warmup-calls", type=int, default=10,
                        help="calls placed (at 2/s) before measuring, not reported (default 10)")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="pause between steps, for wrap-ups and records (default 3 s)")
    parser.add_argument("--state-dir", type=Path, default=ROOT / "var" / "bench",
                        help="the bench installation's state (default var/bench)")
    parser.add_argument("--database-url", default="",
                        help="a DEDICATED database (e.g. postgresql://postgres@127.0.0.1/"
                             "centralino_bench): prompts, modes and queues are changed and "
                             "bench agents replaced. Default: a fresh SQLite in --state-dir")
    parser.add_argument("--ari-over-http", action="store_true",
                        help="the control plane sends its ARI requests over HTTP, not over "
                             "the event WebSocket (for comparison)")
    parser.add_argument("--port-base", type=int, default=27000,
                        help="ports: SIP base+60, ARI +88, AMI +38, FastAGI +573, web +80, "
                             "answering phones +62 (default 27000, below the ephemeral range)")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    try:
        args.rate_list = [float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        parser.error("--rates: comma-separated numbers, e.g. 5,10,20,30")
    if not args.rate_list or min(args.rate_list) <= 0:
        parser.error("--rates: at least one positive rate")
    if args.seconds <= 0 or args.talk < 0:
        parser.error("--seconds must be positive and --talk not negative")
    return args


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (as the control plane's /metrics computes it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.ports = Ports.from_base(args.port_base)
        self.state_dir: Path = args.state_dir.resolve()
        self.settings = bench_settings(self.state_dir, args.database_url, self.ports,
                                       ari_over_http=args.ari_over_http)
        self.sandbox = Sandbox(self.settings, progress=lambda m: print(f"  {m}", flush=True))
        self.plane = ControlPlaneProcess(self.settings, sounds_dir_in(self.sandbox),
                                         self.state_dir / "serve.log")
        self.engine: Any = None
        self.sessions: Any = None
        self.loadgen: LoadGenerator | None = None
        self.http: aiohttp.ClientSession | None = None
        self.asterisk_pid: int | None = None
        self.agents: list[str] = []
        self.call_seq = 0
        self.meta: dict[str, Any] = {}
        #: Steps measured so far (kept when a later step is interrupted).
        self.results: list[dict[str, Any]] = []

    # -- set-up ------------------------------------------------------------------------
    def agents_for(self, rate: float) -> int:
        """Agents logged in for a step: staffed to the load, as a contact center would be."""
        if self.args.agents > 0:
            return self.args.agents
        # Each answered call holds an agent for ring + talk + tear-down + wrap-up.
        hold = self.args.talk + self.args.wrapup + 1.0
        return max(10, math.ceil(rate * hold * 1.3))

    async def set_up(self) -> None:
        say("provisioning / checking the Asterisk chroot")
        await asyncio.to_thread(self.sandbox.provision)
        # Leftovers of an interrupted run of this same bench installation.
        await asyncio.to_thread(self.plane.kill_leftover)
        await asyncio.to_thread(self.sandbox.stop)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.args.database_url:
            for suffix in ("", "-wal", "-shm", "-journal"):
                (self.state_dir / f"centralino.db{suffix}").unlink(missing_ok=True)
        say(f"database: {self.settings.effective_database_url.split('@')[-1]}")
        self.engine, self.sessions = await prepare_database(self.settings)
        did, queue, skill = await prepare_service(
            self.sessions, self.args.service, self.args.digit, menu_timeout=4,
            wrapup=self.args.wrapup, rings=2, wait_limit=60)
        count = max(self.agents_for(rate) for rate in [2.0, *self.args.rate_list])
        say(f"creating {count} agents for {self.args.service} (skill {skill})")
        self.agents = await create_agents(self.sessions, count, self.args.service, skill)
        bench_password = new_bench_password()
        files = await bench_configuration(self.settings, self.sessions, self.sandbox,
                                          self.agents, self.ports.answer, bench_password)
        await asyncio.to_thread(shutil.rmtree, self.sandbox.host_path(
            self.sandbox.layout.spool), True)
        await asyncio.to_thread(self.sandbox.install_config, files)
        say(f"starting Asterisk instance bench (SIP {self.ports.sip}, ARI {self.ports.ari})")
        await asyncio.to_thread(self.sandbox.start)
        self.asterisk_pid = self.sandbox.read_pid()
        if self.asterisk_pid is None:
            raise CentralinoError("Asterisk started but its pid file is missing")
        welcome = await prompt_seconds(self.sessions, self.sandbox, self.args.service,
                                       "welcome")
        menu = await prompt_seconds(self.sessions, self.sandbox, self.args.service, "menu")
        say(f"starting the control plane: {' '.join(self.plane.command())}")
        plane_pid = await asyncio.to_thread(self.plane.start)
        menu_sound = await prompt_sound(self.sessions, self.args.service, "menu")
        if not menu_sound and self.args.dtmf_delay is None:
            raise CentralinoError(f"{self.args.service} has no recorded menu prompt: give "
                                  "--dtmf-delay")
        load = LoadSettings(did=did, digit=self.args.digit, menu_sound=menu_sound,
                            dtmf_delay=self.args.dtmf_delay, talk_seconds=self.args.talk)
        self.loadgen = LoadGenerator(self.ari_url, BENCH_ARI_USER, bench_password, CALLER_APP,
                                     load)
        await self.loadgen.start()
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        version = await asyncio.to_thread(self.sandbox.cli, "core show version")
        self.meta = {
            "service": self.args.service, "did": did, "digit": self.args.digit,
            "queue": queue, "skill": skill, "agents_created": len(self.agents),
            "talk_seconds": self.args.talk, "wrapup_seconds": self.args.wrapup,
            "welcome_seconds": round(welcome, 2), "menu_seconds": round(menu, 2),
            "digit_sent": f"{load.dtmf_delay} s after answer" if load.dtmf_delay is not None
            else "when the menu prompt starts",
            "asterisk_pid": self.asterisk_pid, "control_plane_pid": plane_pid,
            "asterisk_version": version.strip(),
            "database": self.settings.effective_database_url.split("@")[-1],
        }

    @property
    def ari_url(self) -> str:
        return f"http://{self.settings.bind_address}:{self.settings.ari_port}"

    async def metrics(self, reset: bool = False) -> dict[str, Any]:
        assert self.http is not None
        url = f"{self.plane.base_url}/metrics" + ("?reset=1" if reset else "")
        async with self.http.get(url) as response:
            return await response.json()

    # -- calibration -------------------------------------------------------------------
    async def idle_baseline(self, seconds: float = 5.0) -> dict[str, float]:
        """CPU both processes spend per second with no calls (timers, polling)."""
        m0, a0 = await self.metrics(), cpu_seconds(self.asterisk_pid)
        await asyncio.sleep(seconds)
        m1, a1 = await self.metrics(), cpu_seconds(self.asterisk_pid)
        return {
            "control_plane_ms_per_s": round(
                (m1["process_cpu_seconds"] - m0["process_cpu_seconds"]) * 1000 / seconds, 2),
            "asterisk_ms_per_s": round((a1 - a0) * 1000 / seconds, 2),
        }

    async def ari_request_cost(self, user: str, password: str, count: int = 200) -> float:
        """Asterisk CPU (ms) per ARI request with these credentials (4 in flight at a time)."""
        headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        async with aiohttp.ClientSession(headers=headers) as http:
            async def ping() -> None:
                async with http.get(f"{self.ari_url}/ari/asterisk/ping") as response:
                    response.raise_for_status()
                    await response.read()

            await ping()
            a0 = cpu_seconds(self.asterisk_pid)
            for _ in range(count // 4):
                await asyncio.gather(*(ping() for _ in range(4)))
            return (cpu_seconds(self.asterisk_pid) - a0) * 1000 / (count // 4 * 4)

    async def wait_control_plane_idle(self, timeout: float = 30.0) -> dict[str, Any]:
        """/metrics once the control plane has no call in progress (or after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            current = await self.metrics()
            if not current.get("calls_in_progress") or time.monotonic() > deadline:
                return current
            await asyncio.sleep(0.2)

    async def wait_agents_free(self, timeout: float = 20.0) -> tuple[int, int]:
        """Wait until every logged-in bench agent is available; return (available, in)."""
        deadline = time.monotonic() + timeout
        while True:
            async with self.sessions() as session:
                states = Counter(dict((await session.execute(
                    select(Agent.state, func.count()).where(Agent.username.in_(self.agents))
                    .group_by(Agent.state))).all()))
            logged_in = sum(states.values()) - states["logged_out"]
            if states["available"] == logged_in or time.monotonic() > deadline:
                return states["available"], logged_in
            await asyncio.sleep(0.25)

    # -- one step ----------------------------------------------------------------------
    def new_call(self, step: int) -> BenchCall:
        self.call_seq += 1
        number = f"0461{self.call_seq:07d}"
        return BenchCall(index=self.call_seq, number=number,
                         channel_id=f"bench-{step}-{self.call_seq}")

    async def step(self, rate: float, seconds: float, label: int) -> dict[str, Any]:
        assert self.loadgen is not None and self.asterisk_pid is not None
        await self.wait_agents_free()
        staffed = self.agents_for(rate)
        await staff(self.sessions, self.agents, staffed)
        free, _ = await self.wait_agents_free()
        if free < staffed:
            log.warning("only %d of %d agents available at the start of the step", free,
                        staffed)
        loop = asyncio.get_running_loop()
        total = max(1, round(rate * seconds))
        before = await self.metrics(reset=True)
        a0, h0, b0 = cpu_seconds(self.asterisk_pid), host_jiffies(), time.process_time()
        p0 = cpu_seconds(before["pid"])
        split0 = cpu_split(before["pid"])
        self.loadgen.requests = 0
        t0 = time.perf_counter()
        tasks: list[asyncio.Task[BenchCall]] = []
        calls: list[BenchCall] = []
        lag_max = 0.0
        for i in range(total):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lag_max = max(lag_max, time.perf_counter() - due)
            call = self.new_call(label)
            call.scheduled = due
            calls.append(call)
            tasks.append(loop.create_task(self.loadgen.place_call(call)))
        placing = time.perf_counter() - t0
        await asyncio.gather(*tasks)
        # The control plane may still be closing the last calls: count that work here.
        after = await self.wait_control_plane_idle()
        t1 = time.perf_counter()
        a1, h1, b1 = cpu_seconds(self.asterisk_pid), host_jiffies(), time.process_time()
        p1 = cpu_seconds(after["pid"])
        split1 = cpu_split(after["pid"])
        await asyncio.sleep(self.args.settle)  # records closed, agents out of wrap-up
        records = await self.records_of(calls)
        result = self.summarize(rate, seconds, calls, placing, t1 - t0, lag_max, before, after,
                                (a0, a1), (h0, h1), (b0, b1), (p0, p1), records)
        result["agents_logged_in"] = staffed
        result["control_plane_user_system_ms_per_call"] = [
            round((split1[i] - split0[i]) * 1000 / len(calls), 2) for i in (0, 1)]
        for key, counters in (("ari_requests", ("websocket", "http")),
                              ("database", ("transactions", "writes", "agent_roster_reads"))):
            if key in before and key in after:
                result[f"control_plane_{key}_per_call"] = {
                    name: round((after[key][name] - before[key][name]) / len(calls), 2)
                    for name in counters}
        result["agents_available_at_start"] = free
        result["bench_ari_requests_per_call"] = round(self.loadgen.requests / len(calls), 2)
        return result

    async def records_of(self, calls: list[BenchCall]) -> dict[str, Any]:
        numbers = [c.number for c in calls]
        async with self.sessions() as session:
            rows = (await session.execute(select(
                Call.caller_number, Call.outcome, Call.ivr_path, Call.arrived_at,
                Call.queue_entered_at, Call.answered_at, Call.ended_at).where(
                Call.caller_number.in_(numbers)))).all()
        outcomes = Counter(row.outcome or "open" for row in rows)
        waits = [(row.answered_at - row.queue_entered_at).total_seconds() for row in rows
                 if row.answered_at and row.queue_entered_at]
        return {
            "records": len(rows), "outcomes": dict(outcomes),
            "ivr_digit_taken": sum(1 for row in rows if row.ivr_path == self.args.digit),
            "queue_wait_ms_p50": ms(percentile(waits, 50)),
            "queue_wait_ms_p99": ms(percentile(waits, 99)),
        }

    def summarize(self, rate: float, seconds: float, calls: list[BenchCall], placing: float,
                  window: float, lag_max: float, before: dict[str, Any],
                  after: dict[str, Any], ast: tuple[float, float],
                  host: tuple[dict[str, int], dict[str, int]], bench: tuple[float, float],
                  plane_proc: tuple[float, float], records: dict[str, Any]
                  ) -> dict[str, Any]:
        started = len(calls)
        answered = [c for c in calls if c.agent_answered is not None and c.failure is None]
        failures = Counter(c.failure for c in calls if c.failure)
        cp_cpu = after["process_cpu_seconds"] - before["process_cpu_seconds"]
        spent = {kind: host[1][kind] - host[0][kind] for kind in host[0]}
        total = max(1, spent["total"])
        busy = (spent["processes"] + spent["interrupts"]) / total
        # Process CPU of the whole machine minus that of the three processes we know.
        others = spent["processes"] / os.sysconf("SC_CLK_TCK") - (
            plane_proc[1] - plane_proc[0]) - (ast[1] - ast[0]) - (bench[1] - bench[0])
        to_pbx_answer = [c.pbx_answered - c.originated for c in calls
                         if c.pbx_answered and c.originated]
        digit_to_agent = [c.agent_answered - c.digit_sent for c in calls
                          if c.agent_answered and c.digit_sent]
        answer_to_menu = [c.menu_started - c.pbx_answered for c in calls
                          if c.menu_started and c.pbx_answered]
        reaction = after["reaction_ms"]
        return {
            "rate": rate, "seconds": seconds, "achieved_rate": round((started - 1) / placing, 2)
            if placing > 0 else None,
            "calls": started, "answered": len(answered), "failed": sum(failures.values()),
            "failures": dict(failures),
            "control_plane_cpu_ms_per_call": round(cp_cpu * 1000 / started, 2),
            "control_plane_cpu_seconds": round(cp_cpu, 3),
            "control_plane_cpu_seconds_proc": round(plane_proc[1] - plane_proc[0], 3),
            "reaction_ms": reaction,
            "asterisk_cpu_ms_per_call": round((ast[1] - ast[0]) * 1000 / started, 2),
            "asterisk_cpu_seconds": round(ast[1] - ast[0], 3),
            # The same calls cost Asterisk the same work whatever the control plane does,
            # so this ratio moves little with the VM's speed of the moment, unlike the ms.
            "control_plane_per_asterisk_cpu_percent": round(
                cp_cpu * 100 / (ast[1] - ast[0]), 1) if ast[1] > ast[0] else None,
            "bench_cpu_ms_per_call": round((bench[1] - bench[0]) * 1000 / started, 2),
            "host_cpu_busy_percent": round(busy * 100, 1),
            "host_interrupts_percent": round(spent["interrupts"] * 100 / total, 1),
            "host_steal_percent": round(spent["steal"] * 100 / total, 1),
            "other_processes_cpu_seconds": round(others, 2),
            "window_seconds": round(window, 2),
            "peak_concurrent_calls": peak_concurrency(calls),
            "originate_lag_max_ms": ms(lag_max),
            "pbx_answer_ms_p50": ms(percentile(to_pbx_answer, 50)),
            "pbx_answer_ms_p99": ms(percentile(to_pbx_answer, 99)),
            "answer_to_menu_ms_p50": ms(percentile(answer_to_menu, 50)),
            "answer_to_menu_ms_p99": ms(percentile(answer_to_menu, 99)),
            "digit_to_agent_ms_p50": ms(percentile(digit_to_agent, 50)),
            "digit_to_agent_ms_p99": ms(percentile(digit_to_agent, 99)),
            "control_plane_calls_in_progress_after": after.get("calls_in_progress"),
            **records,
        }

    # -- the run -----------------------------------------------------------------------
    async def run(self) -> list[dict[str, Any]]:
        await self.set_up()
        assert self.loadgen is not None
        creds = credentials_for(self.settings)
        product_cost = await self.ari_request_cost(creds.ari_user, creds.ari_password)
        bench_cost = await self.ari_request_cost(BENCH_ARI_USER, self.loadgen.password)
        idle = await self.idle_baseline()
        self.meta["asterisk_cpu_ms_per_ari_request"] = {
            "control_plane_user_crypt": round(product_cost, 3),
            "bench_user_plain": round(bench_cost, 3)}
        self.meta["idle"] = idle
        say(f"Asterisk CPU per ARI request: {product_cost:.2f} ms with the control plane's "
            f"user (crypt), {bench_cost:.2f} ms with the bench's (plain); idle: control plane "
            f"{idle['control_plane_ms_per_s']} ms/s, Asterisk {idle['asterisk_ms_per_s']} ms/s")
        if self.args.warmup_calls > 0:
            say(f"warm-up: {self.args.warmup_calls} calls at 2/s")
            warm = await self.step(2.0, self.args.warmup_calls / 2.0, 0)
            self.meta["warmup"] = {k: warm[k] for k in ("calls", "answered", "failed",
                                                        "failures")}
            if warm["answered"] == 0:
                raise CentralinoError(f"no warm-up call reached an agent ({warm['failures']}); "
                                      f"control plane log: {self.plane.log_tail()}")
        for label, rate in enumerate(self.args.rate_list, start=1):
            say(f"step {label}: {rate:g} calls/s for {self.args.seconds:g} s")
            result = await self.step(rate, self.args.seconds, label)
            self.results.append(result)
            say("  " + one_line(result))
            if not self.plane.alive():
                raise CentralinoError(f"the control plane died: {self.plane.log_tail()}")
        return self.results

    async def close(self) -> None:
        if self.loadgen is not None:
            await self.loadgen.close()
        if self.http is not None:
            await self.http.close()
        if self.engine is not None:
            await self.engine.dispose()

    def stop_processes(self) -> None:
        """Synchronous and idempotent: runs whatever happened before."""
        with contextlib.suppress(Exception):
            self.plane.stop()
        with contextlib.suppress(Exception):
            self.sandbox.stop()


def peak_concurrency(calls: list[BenchCall]) -> int:
    edges = []
    for call in calls:
        if call.originated is None:
            continue
        edges.append((call.originated, 1))
        edges.append((call.ended if call.ended is not None else call.originated, -1))
    peak = current = 0
    for _, delta in sorted(edges):
        current += delta
        peak = max(peak, current)
    return peak


def say(message: str) -> None:
    print(message, flush=True)


def one_line(r: dict[str, Any]) -> str:
    reaction = r["reaction_ms"]
    return (f"{r['calls']} calls, {r['answered']} answered, {r['failed']} failed; control "
            f"plane {r['control_plane_cpu_ms_per_call']} ms CPU/call, reaction p50 "
            f"{reaction['p50']} p99 {reaction['p99']} ms; Asterisk "
            f"{r['asterisk_cpu_ms_per_call']} ms CPU/call; host {r['host_cpu_busy_percent']}% "
            f"busy" + (f"; failures {r['failures']}" if r["failures"] else ""))


COLUMNS = (
    ("rate/s", lambda r: f"{r['rate']:g}"),
    ("agents", lambda r: r["agents_logged_in"]),
    ("calls", lambda r: r["calls"]),
    ("answered", lambda r: r["answered"]),
    ("failed", lambda r: r["failed"]),
    ("CP CPU ms/call", lambda r: r["control_plane_cpu_ms_per_call"]),
    ("react p50 ms", lambda r: r["reaction_ms"]["p50"]),
    ("react p99 ms", lambda r: r["reaction_ms"]["p99"]),
    ("Ast CPU ms/call", lambda r: r["asterisk_cpu_ms_per_call"]),
    ("CP/Ast CPU %", lambda r: r["control_plane_per_asterisk_cpu_percent"]),
    ("host busy %", lambda r: r["host_cpu_busy_percent"]),
    ("digit→agent p50/p99 ms",
     lambda r: f"{r['digit_to_agent_ms_p50']}/{r['digit_to_agent_ms_p99']}"),
)


def table(results: list[dict[str, Any]]) -> str:
    rows = [[name for name, _ in COLUMNS]]
    rows += [[str(value(r)) for _, value in COLUMNS] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["| " + " | ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
             + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def product_revision() -> dict[str, Any]:
    """The commit measured, and whether the working tree differed from it (read-only git)."""
    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                                    text=True, timeout=10, check=False)
        except OSError:
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    changed = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "modified_files": changed.splitlines() if changed else []}


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        model = next((line.split(":", 1)[1].strip() for line in info
                      if line.startswith("model name")), "")
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "load_average_at_start": os.getloadavg()}


def write_results(args: argparse.Namespace, bench: Bench, results: list[dict[str, Any]],
                  started: datetime, argv: list[str], host: dict[str, Any]) -> Path:
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"call_rate-{started:%Y%m%d-%H%M%S}.json"
    document = {
        "started_at": started.isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/call_rate.py", *argv]),
        "product": product_revision(), "machine": host, "setup": bench.meta,
        "steps": results,
        "targets": {"rate": 30, "control_plane_cpu_ms_per_call_max": 10,
                    "reaction_p99_ms_max": 25},
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path


async def amain(bench: Bench) -> list[dict[str, Any]]:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await bench.run()
    finally:
        await bench.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if os.geteuid() != 0:
        print("call_rate: the Asterisk sandbox needs root", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    host = machine()
    bench = Bench(args)
    status = 0
    try:
        asyncio.run(amain(bench))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("call_rate: interrupted; stopping everything", file=sys.stderr)
        status = 130
    except CentralinoError as exc:
        print(f"call_rate: error: {exc}", file=sys.stderr)
        status = 2
    finally:
        # Stopping must not be cut short by a second Ctrl-C.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        bench.stop_processes()
    results = bench.results
    if results:
        print()
        print(table(results))
        path = write_results(args, bench, results, started, argv, host)
        print(f"\nresults: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        for r in results:
            if r["failures"]:
                print(f"  {r['rate']:g}/s failures: {r['failures']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
