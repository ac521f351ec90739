"""The supervisor wallboard over HTTP and its WebSocket, on both databases (no Asterisk).

The wallboard's clock is fixed in 2031, so today's and this month's SLA figures
hold only the calls each test inserts for its own service.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from centralino.sla.figures import CallFacts
from centralino.web import wallboard, wallboard_feed
from models import Agent, Queue, Service
from tests.integration.sla.conftest import insert_calls
from tests.integration.web.conftest import Browser, WebDb, browser_at, login_as

NOW = datetime(2031, 5, 20, 10, 0, tzinfo=UTC)  # 12:00 in Rome


@pytest.fixture
async def wall(web_db: WebDb) -> AsyncIterator[Browser]:
    async with browser_at(web_db, NOW) as browser:
        yield browser


async def own_service(web_db: WebDb) -> tuple[Service, Queue]:
    """A service of this test, with a queue and one paused agent who answers it."""
    slug = f"wal-{uuid.uuid4().hex[:8]}"
    async with web_db.sessions() as session:
        service = Service(slug=slug, name=f"Sportello {slug}")
        queue = Queue(slug=f"{slug}-coda", name=f"Coda {slug}", service=service)
        agent = Agent(username=f"{slug}-op", sip_ha1="0" * 32, state="paused",
                      state_since=NOW - timedelta(seconds=95), services=[service])
        session.add_all([service, queue, agent])
        await session.commit()
        return service, queue


def section(html: str, element_id: str) -> str:
    found = re.search(rf'<(\w+) id="{re.escape(element_id)}".*?</\1>', html, re.S)
    assert found, f"no #{element_id} on the page"
    return found.group(0)


def text(block: str) -> str:
    """What a reader sees: the markup's words without its tags."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", block))


def figure(block: str, label: str) -> tuple[str, str]:
    """The value shown for Tm, P or Q, and whether it is marked met or missed."""
    row = re.search(rf'<tr data-figure="{label}">.*?</tr>', block, re.S).group(0)
    cell = re.search(r'class="num (met|missed)?" data-field="value">([^<]*)<', row)
    return cell.group(2), cell.group(1) or ""


async def test_given_agent_or_no_session_then_wallboard_and_its_socket_refused(
        wall: Browser, web_db: WebDb):
    anonymous = await wall.get("/supervisore")
    assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/login")
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await wall.client.ws_connect("/supervisore/ws")
    await login_as(wall, web_db, "wal-agente", "agent")
    assert (await wall.get("/supervisore")).status == 403
    assert (await wall.get("/supervisore/wallboard.js")).status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await wall.client.ws_connect("/supervisore/ws")
    assert refused.value.status == 403


@pytest.mark.parametrize("role", ["supervisor", "admin"])
async def test_given_supervisor_or_admin_then_queue_and_agents_shown_and_pushed(
        wall: Browser, web_db: WebDb, role: str):
    service, queue = await own_service(web_db)
    await login_as(wall, web_db, f"wal-{role}", role)
    page = await wall.get("/supervisore")
    html = await page.text()
    assert page.status == 200 and "Cruscotto del supervisore" in html
    row = section(html, f"queue-{queue.slug}")
    assert 'data-field="waiting">0<' in row and 'data-field="paused">1<' in row
    assert 'data-field="logged_in">1<' in row and 'data-field="available">0<' in row
    assert f"{service.slug}-op</td><td>In pausa</td><td class=\"num\">1:35<" in html
    assert '<script src="/supervisore/wallboard.js">' in html
    script = await wall.get("/supervisore/wallboard.js")
    assert script.status == 200 and "/supervisore/ws" in await script.text()

    async with wall.client.ws_connect("/supervisore/ws") as socket:
        board = await socket.receive_json(timeout=5)
    [line] = [q for q in board["queues"] if q["slug"] == queue.slug]
    assert (line["waiting"], line["longest_wait_seconds"], line["paused"]) == (0, None, 1)
    [agent] = [a for a in board["agents"] if a["name"] == f"{service.slug}-op"]
    assert agent["state_label"] == "In pausa" and agent["seconds_in_state"] == 95


async def test_given_socket_from_another_site_then_refused(wall: Browser, web_db: WebDb):
    await login_as(wall, web_db, "wal-origine", "supervisor")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await wall.client.ws_connect("/supervisore/ws",
                                     headers={"Origin": "https://elsewhere.example"})
    assert refused.value.status == 403


def answered(at: datetime, wait: float, resolution: str | None = None) -> CallFacts:
    entered = at + timedelta(seconds=20)
    return CallFacts(arrived_at=at, in_hours=True, outcome="answered",
                     queue_entered_at=entered, answered_at=entered + timedelta(seconds=wait),
                     ended_at=entered + timedelta(seconds=wait + 60), resolution=resolution)


def abandoned(at: datetime, waited: float) -> CallFacts:
    entered = at + timedelta(seconds=20)
    return CallFacts(arrived_at=at, in_hours=True, outcome="abandoned", queue_exit="abandoned",
                     queue_entered_at=entered, ended_at=entered + timedelta(seconds=waited))


async def test_given_calls_today_and_earlier_this_month_then_tm_p_q_against_targets(
        wall: Browser, web_db: WebDb):
    service, _queue = await own_service(web_db)
    today = NOW - timedelta(hours=1)
    await insert_calls(web_db.sessions, service.id, [
        answered(today, 5), answered(today, 15), abandoned(today, 30),
        abandoned(today, 4),  # a short abandon: not in P
        answered(datetime(2031, 5, 3, 9, tzinfo=UTC), 40, resolution="escalated"),
        answered(datetime(2031, 4, 30, 9, tzinfo=UTC), 200),  # last month
    ])
    await login_as(wall, web_db, "wal-sla", "supervisor")
    html = await (await wall.get("/supervisore")).text()

    today_block = section(html, f"sla-{service.slug}-1")
    assert "Oggi" in today_block and "Risposte 2 · Abbandonate 1" in text(today_block)
    assert figure(today_block, "Tm") == ("10.0 s", "met")        # (5 + 15) / 2 ≤ 13 s
    assert figure(today_block, "P") == ("33.3 %", "missed")     # 1 / 3 > 3 %
    assert figure(today_block, "Q") == ("100.0 %", "met")       # ≥ 75 %

    month_block = section(html, f"sla-{service.slug}-2")
    assert "Mese in corso" in month_block and "Risposte 3" in text(month_block)
    assert figure(month_block, "Tm") == ("20.0 s", "missed")    # (5 + 15 + 40) / 3
    assert figure(month_block, "P") == ("25.0 %", "missed")     # 1 / 4
    assert figure(month_block, "Q") == ("66.7 %", "missed")     # 2 / 3 < 75 %
    # The bars: green for a met target, red for a missed one.
    assert today_block.count('fill="#2e7d32"') == 2 and today_block.count('fill="#b3261e"') == 1
    assert month_block.count('fill="#b3261e"') == 3


async def test_given_service_without_calls_then_figures_empty_not_zero(
        wall: Browser, web_db: WebDb):
    service, _queue = await own_service(web_db)
    await login_as(wall, web_db, "wal-vuoto", "admin")
    html = await (await wall.get("/supervisore")).text()
    block = section(html, f"sla-{service.slug}-1")
    assert figure(block, "Tm") == ("—", "") and figure(block, "Q") == ("—", "")


async def test_given_supervisor_logs_out_then_open_socket_closed(
        wall: Browser, web_db: WebDb, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(wallboard, "SESSION_CHECK_SECONDS", 1.0)
    await login_as(wall, web_db, "wal-uscita", "supervisor")
    async with wall.client.ws_connect("/supervisore/ws") as socket:
        await socket.receive_json(timeout=5)
        assert (await wall.post("/logout")).status == 303
        while True:  # pushes may still arrive until the next session check
            message = await socket.receive(timeout=5)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                break
    assert socket.close_code == 4401


def pushed_card(board: dict, slug: str, period: str) -> dict:
    [found] = [c for c in board["sla"] if c["slug"] == slug and c["period"] == period]
    return found


async def test_given_open_socket_when_calls_end_then_sla_and_chart_pushed_without_reload(
        wall: Browser, web_db: WebDb, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(wallboard_feed, "SLA_REFRESH_SECONDS", 0.5)
    service, _queue = await own_service(web_db)
    await login_as(wall, web_db, "wal-diretta", "supervisor")
    html = await (await wall.get("/supervisore")).text()
    chart = section(html, "calls-chart")
    assert chart.count("<g data-slot=") == 48  # a plain day: 48 half-hours, drawn in SVG
    async with wall.client.ws_connect("/supervisore/ws") as socket:
        board = await socket.receive_json(timeout=5)
        assert pushed_card(board, service.slug, "today")["answered"] == 0
        calls_before = board["chart"]["answered"]
        # 11:05 and 11:40 in Rome: a call answered in 8 s, one abandoned after 30 s.
        await insert_calls(web_db.sessions, service.id, [
            answered(NOW - timedelta(minutes=55), 8), abandoned(NOW - timedelta(minutes=20), 30)])
        while True:
            board = await socket.receive_json(timeout=5)
            today = pushed_card(board, service.slug, "today")
            if today["answered"] == 1 and today["abandoned"] == 1:
                break
    tm, p, _q = today["gauges"]
    assert (tm["label"], tm["shown"], tm["met"]) == ("Tm", "8.0 s", True)
    assert (p["label"], p["shown"], p["met"]) == ("P", "50.0 %", False)
    assert pushed_card(board, service.slug, "month")["answered"] == 1
    slots = {c["label"]: c for c in board["chart"]["columns"]}
    assert slots["11:00"]["answered"] >= 1 and slots["11:30"]["abandoned"] >= 1
    assert board["chart"]["answered"] == calls_before + 1


async def test_given_three_open_sockets_then_one_snapshot_per_interval(
        wall: Browser, web_db: WebDb):
    await login_as(wall, web_db, "wal-condiviso", "supervisor")
    feed = wall.client.app[wallboard_feed.FEED]
    sockets = [await wall.client.ws_connect("/supervisore/ws") for _ in range(3)]
    try:
        first = [await s.receive_json(timeout=5) for s in sockets]
        assert first[0] == first[1] == first[2]
        built = feed.built
        await asyncio.sleep(3.2)
        # Three watchers, about three seconds: three or four snapshots, not nine or more.
        assert feed.built - built <= 4
    finally:
        for s in sockets:
            await s.close()
