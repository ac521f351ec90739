"""Child process that runs one pjsua2 SIP user agent for the test harness.

pjsua2 is not friendly to asyncio or to several Python threads, so the test
suite never imports it in the pytest process: it starts this script (see
``tests/support/sipua.py``) and talks to it with JSON lines.

Protocol
--------
stdin, one JSON object per line::

    {"id": 7, "cmd": "call", "uri": "sip:...", ...}

stdout, one JSON object per line:

* ``{"type": "ready", "address": "127.0.0.2", "port": 5062}`` once at start;
* ``{"type": "reply", "id": 7, "ok": true, "result": {...}}`` or
  ``{"type": "reply", "id": 7, "ok": false, "error": "..."}`` for every command;
* ``{"type": "event", "event": "...", ...}`` for asynchronous happenings
  (``reg_state``, ``incoming_call``, ``call_state``, ``media_state``, ``dtmf``).

Anything the C library prints goes to stderr: file descriptor 1 is redirected
to 2 before pjsua2 is loaded and the protocol uses a private duplicate of the
original stdout.

All pjsua2 calls happen on the main thread (``threadCnt = 0``,
``mainThreadOnly``); a reader thread only moves stdin lines to a queue.  The
process exits on the ``quit`` command, on stdin EOF (the parent died) or on
SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any

# Keep the protocol channel private before the C library can write to fd 1.
_PROTO_FD = os.dup(1)
os.dup2(2, 1)
sys.stdout = sys.stderr
_proto = os.fdopen(_PROTO_FD, "w", encoding="utf-8", buffering=1)

import pjsua2 as pj  # noqa: E402  (must come after the fd juggling above)

LOG_LEVEL = 1  # pjsip log/console level, set from --log-level
# pjsua's compile-time PJSUA_MAX_ACC (not exported by the bindings); one more
# account aborts the process on an assertion, so we must never try.
MAX_ACCOUNTS = 8
PJ_ETOOMANY = 70010  # e.g. more than PJSUA_MAX_CALLS (4 in the wheel) calls
STATE_NAMES = {
    pj.PJSIP_INV_STATE_NULL: "NULL",
    pj.PJSIP_INV_STATE_CALLING: "CALLING",
    pj.PJSIP_INV_STATE_INCOMING: "INCOMING",
    pj.PJSIP_INV_STATE_EARLY: "EARLY",
    pj.PJSIP_INV_STATE_CONNECTING: "CONNECTING",
    pj.PJSIP_INV_STATE_CONFIRMED: "CONFIRMED",
    pj.PJSIP_INV_STATE_DISCONNECTED: "DISCONNECTED",
}


@contextlib.contextmanager
def _quiet_fd1(enabled: bool) -> Iterator[None]:
    """Send fd 1 (pjlib's console, already stderr) to /dev/null for a while."""
    if not enabled:
        yield
        return
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


_parent_gone = False


def emit(obj: dict[str, Any]) -> None:
    """Write one protocol line; if the parent is gone, note it and carry on to shutdown."""
    global _parent_gone
    if _parent_gone:
        return
    try:
        _proto.write(json.dumps(obj, separators=(",", ":")) + "\n")
        _proto.flush()
    except OSError:  # BrokenPipeError: nobody listens any more
        _parent_gone = True


def event(name: str, **fields: Any) -> None:
    emit({"type": "event", "event": name, **fields})


def parse_headers(whole_msg: str) -> dict[str, str]:
    """Header fields of a raw SIP message (folded lines joined, repeats comma-joined)."""
    head = whole_msg.replace("\r\n", "\n").split("\n\n", 1)[0]
    lines = head.split("\n")[1:]  # drop the request/status line
    headers: dict[str, str] = {}
    last: str | None = None
    for line in lines:
        if line[:1] in (" ", "\t") and last is not None:
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
        last = name
    return headers


def request_uri(whole_msg: str) -> str:
    first = whole_msg.split("\r\n", 1)[0].split("\n", 1)[0].split(" ")
    return first[1] if len(first) >= 3 else ""


def uri_user(uri: str) -> str | None:
    m = re.search(r"sips?:([^@;>:]+)@", uri)
    return m.group(1) if m else None


class UA:
    """State of the user agent; only ever touched from the main thread."""

    def __init__(self, bind: str, port: int) -> None:
        self.bind = bind
        self.requested_port = port
        self.port = 0
        self.ep = HarnessEndpoint(self)
        self.transport_id = -1
        self.accounts: dict[str, HarnessAccount] = {}
        self.calls: dict[int, HarnessCall] = {}
        self.next_handle = 1
        # Objects pjsua may still call back into: released on the next loop turn.
        self.retired: list[Any] = []
        self.quitting = False

    # ----------------------------------------------------------- lifecycle
    def start(self) -> None:
        ep_cfg = pj.EpConfig()
        ep_cfg.uaConfig.threadCnt = 0
        ep_cfg.uaConfig.mainThreadOnly = True
        ep_cfg.uaConfig.maxCalls = 32
        ep_cfg.uaConfig.userAgent = "centralino-test-sipua"
        ep_cfg.logConfig.level = LOG_LEVEL
        ep_cfg.logConfig.consoleLevel = LOG_LEVEL
        ep_cfg.logConfig.msgLogging = LOG_LEVEL >= 4
        ep_cfg.medConfig.noVad = True
        ep_cfg.medConfig.ecTailLen = 0
        ep_cfg.medConfig.sndAutoCloseTime = -1  # keep the null clock running
        with _quiet_fd1(LOG_LEVEL < 4):  # libCreate logs before the config applies
            self.ep.libCreate()
            self.ep.libInit(ep_cfg)
        self.ep.audDevManager().setNullDev()
        for codec, prio in (("PCMA/8000", 255), ("PCMU/8000", 254)):
            with contextlib.suppress(pj.Error):
                self.ep.codecSetPriority(codec, prio)

        tp_cfg = pj.TransportConfig()
        tp_cfg.boundAddress = self.bind
        tp_cfg.publicAddress = self.bind
        tp_cfg.port = self.requested_port
        self.transport_id = self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tp_cfg)
        info = self.ep.transportGetInfo(self.transport_id)
        self.port = int(info.localName.rsplit(":", 1)[1])
        self.ep.libStart()
        # Catch-all for INVITEs whose request URI matches no other account.
        self.add_account("local", f"sip:{self.bind}:{self.port}", default=True)

    def shutdown(self) -> None:
        """Unregister and hang up (bounded waits), then destroy without more traffic."""
        self.quitting = True
        regd = [a for a in self.accounts.values() if a.registered]
        for acc in regd:
            with contextlib.suppress(pj.Error):
                acc.setRegistration(False)
        self.pump_until(lambda: not any(a.registered for a in regd), 1.0)
        with contextlib.suppress(pj.Error):
            self.ep.hangupAllCalls()
        self.pump_until(lambda: not self.calls, 1.0)
        with contextlib.suppress(pj.Error):
            self.ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK)

    def pump_until(self, done: Any, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:
            self.ep.libHandleEvents(10)
            self.retired.clear()

    # ------------------------------------------------------------ accounts
    def add_account(
        self,
        key: str,
        id_uri: str,
        *,
        default: bool = False,
        registrar: str | None = None,
        username: str | None = None,
        password: str | None = None,
        reg_timeout: int = 300,
        carrier: bool = False,
    ) -> HarnessAccount:
        if len(self.accounts) >= MAX_ACCOUNTS:
            self.evict_carrier_account()
        cfg = pj.AccountConfig()
        cfg.idUri = id_uri
        cfg.sipConfig.transportId = self.transport_id
        cfg.natConfig.iceEnabled = False
        cfg.natConfig.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
        cfg.natConfig.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
        cfg.natConfig.contactRewriteUse = 0
        cfg.natConfig.viaRewriteUse = 0
        cfg.natConfig.sdpNatRewriteUse = 0
        cfg.natConfig.udpKaIntervalSec = 0
        cfg.natConfig.sipOutboundUse = 0  # no ";ob"/instance-id in Contact: plain agents
        cfg.mediaConfig.transportConfig.boundAddress = self.bind
        cfg.mediaConfig.transportConfig.publicAddress = self.bind
        cfg.mediaConfig.transportConfig.port = 0
        if username is not None:
            cfg.sipConfig.authCreds.append(
                pj.AuthCredInfo("digest", "*", username, 0, password or "")
            )
        if registrar:
            cfg.regConfig.registrarUri = registrar
            cfg.regConfig.registerOnAdd = True
            cfg.regConfig.timeoutSec = reg_timeout
            cfg.regConfig.retryIntervalSec = 0  # a failure is final: tests want the code
            cfg.regConfig.unregWaitMsec = 500
        acc = HarnessAccount(self, key, uri_user(id_uri), carrier=carrier)
        self.accounts[key] = acc  # before create(): onRegState may fire inside it
        try:
            acc.create(cfg, default)
        except pj.Error:
            del self.accounts[key]
            raise
        return acc

    def evict_carrier_account(self) -> None:
        """Make room below PJSUA_MAX_ACC by dropping an idle caller-ID account."""
        busy = {c.account_key for c in self.calls.values()}
        for key, acc in self.accounts.items():
            if acc.carrier and key not in busy:
                del self.accounts[key]
                acc.shutdown()
                self.retired.append(acc)
                return
        raise RuntimeError(f"too many accounts (pjsua limit {MAX_ACCOUNTS})")

    def carrier_account(self, from_user: str, display: str | None) -> HarnessAccount:
        key = f"carrier:{from_user}:{display or ''}"
        if key in self.accounts:
            return self.accounts[key]
        uri = f"sip:{from_user}@{self.bind}"
        if display:
            uri = '"{}" <{}>'.format(display.replace('"', ""), uri)
        return self.add_account(key, uri, carrier=True)

    # -------------------------------------------------------------- calls
    def new_call(self, acc: HarnessAccount, call_id: int = pj.PJSUA_INVALID_ID) -> HarnessCall:
        handle = self.next_handle
        self.next_handle += 1
        call = HarnessCall(self, acc, handle, call_id)
        self.calls[handle] = call
        return call

    def call_by_handle(self, handle: int) -> HarnessCall | None:
        return self.calls.get(int(handle))

    def forget_call(self, call: HarnessCall) -> None:
        """Drop our reference only after pjsua has finished with the call."""
        self.calls.pop(call.handle, None)
        self.retired.append(call)

    # ------------------------------------------------------------ commands
    def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        cmd = msg.get("cmd")
        fn = getattr(self, f"cmd_{cmd}", None)
        if fn is None:
            raise ValueError(f"unknown command {cmd!r}")
        return fn(msg) or {}

    def cmd_ping(self, msg: dict[str, Any]) -> dict[str, Any]:
        return {"port": self.port}

    def cmd_register(self, msg: dict[str, Any]) -> dict[str, Any]:
        key = msg.get("account") or msg["username"]
        if key in self.accounts:
            raise ValueError(f"account {key!r} already exists")
        registrar = msg["registrar"]
        domain = msg.get("domain") or re.sub(r"^sips?:", "", registrar).split(";")[0]
        if not msg.get("domain"):
            domain = domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain
        id_uri = f"sip:{msg['username']}@{domain}"
        if msg.get("display_name"):
            id_uri = '"{}" <{}>'.format(msg["display_name"].replace('"', ""), id_uri)
        self.add_account(
            key,
            id_uri,
            registrar=registrar,
            username=msg.get("auth_username") or msg["username"],
            password=msg.get("password", ""),
            reg_timeout=int(msg.get("expires", 300)),
        )
        return {"account": key, "id_uri": id_uri}

    def cmd_unregister(self, msg: dict[str, Any]) -> dict[str, Any]:
        acc = self.accounts[msg["account"]]
        acc.setRegistration(False)
        return {}

    def cmd_remove_account(self, msg: dict[str, Any]) -> dict[str, Any]:
        acc = self.accounts.pop(msg["account"])
        acc.shutdown()
        self.retired.append(acc)
        return {}

    def cmd_call(self, msg: dict[str, Any]) -> dict[str, Any]:
        if msg.get("account"):
            acc = self.accounts[msg["account"]]
        elif msg.get("from_user"):
            acc = self.carrier_account(msg["from_user"], msg.get("caller_id_name"))
        else:
            acc = self.accounts["local"]
        call = self.new_call(acc)
        call.direction = "outgoing"
        prm = pj.CallOpParam(True)
        for name, value in (msg.get("headers") or {}).items():
            hdr = pj.SipHeader()
            hdr.hName = str(name)
            hdr.hValue = str(value)
            prm.txOption.headers.append(hdr)
        try:
            call.makeCall(msg["uri"], prm)
        except pj.Error as exc:
            self.forget_call(call)
            if exc.status == PJ_ETOOMANY:
                raise RuntimeError(
                    "pjsua refuses more simultaneous calls (the pjsua2-python wheel is built "
                    "with PJSUA_MAX_CALLS=4): use another SipUA process"
                ) from None
            raise
        return call.describe()

    def _call(self, msg: dict[str, Any]) -> HarnessCall:
        call = self.call_by_handle(msg["call"])
        if call is None:
            raise ValueError(f"no live call {msg['call']}")
        return call

    def cmd_answer(self, msg: dict[str, Any]) -> dict[str, Any]:
        prm = pj.CallOpParam(True)
        prm.statusCode = int(msg.get("code", 200))
        self._call(msg).answer(prm)
        return {}

    def cmd_hangup(self, msg: dict[str, Any]) -> dict[str, Any]:
        call = self.call_by_handle(msg["call"])
        if call is None:  # already gone: hanging up is idempotent
            return {"already": True}
        prm = pj.CallOpParam(True)
        prm.statusCode = int(msg.get("code", 0))
        call.hangup(prm)
        return {}

    def cmd_dtmf(self, msg: dict[str, Any]) -> dict[str, Any]:
        prm = pj.CallSendDtmfParam()
        prm.digits = str(msg["digits"])
        prm.method = (
            pj.PJSUA_DTMF_METHOD_SIP_INFO
            if msg.get("method") == "info"
            else pj.PJSUA_DTMF_METHOD_RFC2833
        )
        if msg.get("duration"):
            prm.duration = int(msg["duration"])
        self._call(msg).sendDtmf(prm)
        return {}

    def cmd_info(self, msg: dict[str, Any]) -> dict[str, Any]:
        return self._call(msg).describe()

    def cmd_quit(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.quitting = True
        return {}


class HarnessEndpoint(pj.Endpoint):
    """Routes incoming requests by the request URI's user part alone.

    pjsua first matches user and host, then *host only*: with the catch-all
    account on ``sip:BIND:PORT`` every INVITE to ``agent1@BIND`` would land
    there instead of on agent1's account (whose host is the registrar's).
    """

    def __init__(self, ua: UA) -> None:
        super().__init__()
        self.ua = ua

    def onSelectAccount(self, prm: pj.OnSelectAccountParam) -> None:
        user = uri_user(request_uri(prm.rdata.wholeMsg))
        if user is None:
            return
        matches = [a for a in self.ua.accounts.values() if a.user == user]
        matches.sort(key=lambda a: a.carrier)  # agents before caller-ID identities
        if matches:
            prm.accountIndex = matches[0].getId()


class HarnessAccount(pj.Account):
    """Account that reports registration and hands incoming calls to the UA."""

    def __init__(self, ua: UA, key: str, user: str | None, *, carrier: bool = False) -> None:
        super().__init__()
        self.ua = ua
        self.key = key
        self.user = user
        self.carrier = carrier
        self.registered = False

    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        self.registered = 200 <= prm.code < 300 and prm.expiration > 0
        event(
            "reg_state",
            account=self.key,
            code=prm.code,
            reason=prm.reason,
            expiration=prm.expiration,
            active=self.registered,
        )

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        call = self.ua.new_call(self, prm.callId)
        call.direction = "incoming"
        whole = prm.rdata.wholeMsg
        call.request_uri = request_uri(whole)
        call.headers = parse_headers(whole)
        if self.ua.quitting:
            op = pj.CallOpParam(True)
            op.statusCode = 503
            call.hangup(op)
            return
        event("incoming_call", **call.describe())


class HarnessCall(pj.Call):
    """Call that reports state, media and DTMF changes as events."""

    def __init__(self, ua: UA, acc: HarnessAccount, handle: int, call_id: int) -> None:
        super().__init__(acc, call_id)
        self.ua = ua
        self.account_key = acc.key
        self.handle = handle
        self.direction = ""
        self.request_uri = ""
        self.headers: dict[str, str] = {}
        self.media_active = False

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "call": self.handle,
            "account": self.account_key,
            "direction": self.direction,
        }
        with contextlib.suppress(pj.Error):
            ci = self.getInfo()
            out.update(
                state=STATE_NAMES.get(ci.state, str(ci.state)),
                code=ci.lastStatusCode,
                reason=ci.lastReason,
                call_id=ci.callIdString,
                remote_uri=ci.remoteUri,
                local_uri=ci.localUri,
                remote_contact=ci.remoteContact,
            )
            out["remote_user"] = uri_user(ci.remoteUri)
        if self.direction == "incoming":
            out.update(request_uri=self.request_uri, headers=self.headers)
        return out

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        info = self.describe()
        event("call_state", **info)
        if info.get("state") == "DISCONNECTED":
            self.ua.forget_call(self)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        """Wire audio to the null device: RFC 4733 DTMF only flows with RTP."""
        adm = self.ua.ep.audDevManager()
        active = False
        # Keep the CallInfo alive: .media of a temporary is read from freed memory.
        ci = self.getInfo()
        for med in ci.media:
            if med.type != pj.PJMEDIA_TYPE_AUDIO or med.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                continue
            aud = self.getAudioMedia(med.index)
            adm.getCaptureDevMedia().startTransmit(aud)
            aud.startTransmit(adm.getPlaybackDevMedia())
            active = True
        if active != self.media_active:
            self.media_active = active
            event("media_state", call=self.handle, active=active)

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        event("dtmf", call=self.handle, digit=prm.digit)


def _stdin_reader(lines: queue.Queue[str | None]) -> None:
    """Only moves lines to the queue: this thread must never touch pjsua2."""
    for line in sys.stdin:
        lines.put(line)
    lines.put(None)


def main() -> None:
    global LOG_LEVEL
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log-level", type=int, default=1)
    args = ap.parse_args()
    LOG_LEVEL = args.log_level

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    ua = UA(args.bind, args.port)
    try:
        ua.start()
    except Exception as exc:
        detail = exc.info() if isinstance(exc, pj.Error) else str(exc)
        emit({"type": "fatal", "error": f"{type(exc).__name__}: {detail}"})
        sys.stderr.flush()
        os._exit(2)
    emit({"type": "ready", "address": ua.bind, "port": ua.port, "pid": os.getpid()})

    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_stdin_reader, args=(lines,), daemon=True).start()
    status = 1
    try:
        serve(ua, lines)
        ua.shutdown()
        emit({"type": "bye"})
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        # Never let the interpreter unwind: pj.Call/Account destructors after
        # libDestroy() abort the process (pjsua_call_set_user_data assertion).
        sys.stderr.flush()
        os._exit(status)


def serve(ua: UA, lines: queue.Queue[str | None]) -> None:
    """Main loop: pump pjsua events, run queued commands, until told to stop."""
    while not ua.quitting and not _parent_gone:
        ua.ep.libHandleEvents(10)
        ua.retired.clear()
        while not ua.quitting:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                ua.quitting = True
                break
            if not line.strip():
                continue
            msg: dict[str, Any] = {}
            try:
                msg = json.loads(line)
                result = ua.handle(msg)
                emit({"type": "reply", "id": msg.get("id"), "ok": True, "result": result})
            except pj.Error as exc:
                emit({"type": "reply", "id": msg.get("id"), "ok": False, "error": exc.info()})
            except Exception as exc:
                emit({"type": "reply", "id": msg.get("id"), "ok": False, "error": repr(exc)})


if __name__ == "__main__":
    main()
