"""The services of the tender's Appendix 1 and the Protezione Civile line, as seed data.

``centralino seed`` (also run on first start) creates what is missing and
never overwrites what an admin has since changed, so it is safe to run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ari_app.sanitize import normalize_did
from centralino.desk import seed_sectors
from centralino.render import ServicePlan
from models import (
    Menu,
    MenuOption,
    OfficeLine,
    Prompt,
    Queue,
    Service,
    ServiceDid,
    ServiceWindow,
)

WEEKDAYS = range(0, 5)  # Monday to Friday


@dataclass(frozen=True)
class QueueSeed:
    slug: str
    name: str


@dataclass(frozen=True)
class OptionSeed:
    digit: str
    label: str
    action: str
    queue_slug: str | None = None
    skill: str | None = None
    prompt_kind: str | None = None


@dataclass(frozen=True)
class ServiceSeed:
    slug: str
    name: str
    dids: tuple[str, ...]
    opens: time
    closes: time
    mailbox_email: str | None
    welcome: str
    queues: tuple[QueueSeed, ...]
    menu_prompt: str = ""
    options: tuple[OptionSeed, ...] = ()
    default_queue_slug: str | None = None
    not_emergency_notice: bool = False
    hours_before_queue: bool = False
    extra_prompts: dict[str, str] = field(default_factory=dict)


def _hours_text(opens: time, closes: time) -> str:
    return (f"Il servizio è attivo dal lunedì al venerdì dalle ore {opens.hour} "
            f"alle ore {closes.hour}, esclusi i giorni festivi.")


def _out_of_hours(opens: time, closes: time) -> str:
    return ("Gentile utente, il servizio è al momento chiuso. " + _hours_text(opens, closes)
            + " Può lasciare un messaggio dopo il segnale acustico: sarà richiamato.")


EIGHT, FIVE_PM = time(8, 0), time(17, 0)

#: Played after the welcome where a service says it is not an emergency line.
EMERGENCY_NOTICE = ("Questo è un servizio di informazione e non sostituisce i numeri di "
                    "soccorso: in caso di emergenza chiami il 112.")

#: Prompts every service has, in the same words unless an admin changes them.
COMMON_PROMPTS = {
    "goodbye": "Grazie per aver chiamato. Arrivederci.",
    "invalid": "La scelta non è valida.",
    "busy": "Tutti gli operatori sono occupati. Può lasciare un messaggio con il suo numero "
            "dopo il segnale acustico: sarà richiamato al più presto.",
    "voicemail": "Lasci un messaggio dopo il segnale acustico.",
    "thanks": "Grazie, il suo messaggio è stato registrato. Arrivederci.",
    # Read before a number: "la sua posizione in coda è" 3; "circa" 4 "minuti".
    "position": "La sua posizione in coda è",
    "wait_time": "Il tempo di attesa stimato è di circa",
    "minutes": "minuti",
}

SERVICES: tuple[ServiceSeed, ...] = (
    ServiceSeed(
        slug="agenzia-lavoro", name="Agenzia del Lavoro", dids=("800 264760",),
        opens=EIGHT, closes=FIVE_PM, mailbox_email="csd.adl@infotn.it",
        welcome="Benvenuto nel servizio di contact center dell'Agenzia del Lavoro. "
                "Un operatore risponderà al più presto.",
        queues=(QueueSeed("agenzia-lavoro", "Agenzia del Lavoro - informazioni"),),
    ),
    ServiceSeed(
        slug="motorizzazione", name="Motorizzazione Civile",
        dids=("0461 492006", "0461 492002"), opens=EIGHT, closes=FIVE_PM,
        mailbox_email="csd.mctc@infotn.it",
        welcome="Benvenuto nel servizio informativo della Motorizzazione Civile.",
        queues=(QueueSeed("motorizzazione", "Motorizzazione Civile - informazioni"),),
        hours_before_queue=True,
        extra_prompts={"hours": "Gli sportelli della Motorizzazione Civile sono aperti al "
                                "pubblico dal lunedì al venerdì dalle 8 e 30 alle 12 e 30."},
    ),
    ServiceSeed(
        slug="apiae", name="APIAE - Agenzia provinciale incentivazione attività economiche",
        dids=("0461 497300",), opens=EIGHT, closes=FIVE_PM, mailbox_email="csd.ape@infotn.it",
        welcome="Benvenuto nel servizio informativo dell'Agenzia provinciale per "
                "l'incentivazione delle attività economiche.",
        queues=(QueueSeed("apiae", "APIAE - informazioni"),
                QueueSeed("apiae-appuntamenti", "APIAE - appuntamenti")),
        menu_prompt="Per conoscere gli orari di apertura degli uffici prema 1. "
                    "Per prenotare un appuntamento per la presentazione delle domande di "
                    "contributo prema 2. Per altre informazioni resti in linea.",
        options=(
            OptionSeed("1", "Orari degli uffici", "message", prompt_kind="hours"),
            OptionSeed("2", "Appuntamenti", "queue", queue_slug="apiae-appuntamenti"),
        ),
        default_queue_slug="apiae",
        extra_prompts={"hours": "Gli uffici dell'Agenzia sono aperti al pubblico dal lunedì "
                                "al venerdì dalle 9 alle 12."},
    ),
    ServiceSeed(
        slug="valutazione-ambientale", name="Servizio Valutazione Ambientale",
        dids=("0461 493704",), opens=EIGHT, closes=FIVE_PM, mailbox_email=None,
        welcome="Benvenuto nel servizio informativo del Servizio Valutazione Ambientale.",
        queues=(QueueSeed("valutazione-ambientale", "Valutazione Ambientale - informazioni"),),
    ),
    ServiceSeed(
        slug="trentino-digitale", name="Trentino Digitale", dids=("800 228040",),
        opens=EIGHT, closes=FIVE_PM, mailbox_email=None,
        welcome="Benvenuto nel servizio informativo di Trentino Digitale.",
        queues=(QueueSeed("trentino-digitale", "Trentino Digitale - informazioni"),),
        menu_prompt="Per la Carta Provinciale dei Servizi prema 1. Per Trentino in rete "
                    "prema 2. Per il Portale Geo-cartografico prema 3. Per Trentino "
                    "Accessibile prema 4.",
        options=(
            OptionSeed("1", "Carta Provinciale dei Servizi", "queue",
                       queue_slug="trentino-digitale", skill="cps"),
            OptionSeed("2", "Trentino in rete", "queue",
                       queue_slug="trentino-digitale", skill="trentino-in-rete"),
            OptionSeed("3", "Portale Geo-cartografico", "queue",
                       queue_slug="trentino-digitale", skill="geocartografico"),
            OptionSeed("4", "Trentino Accessibile", "queue",
                       queue_slug="trentino-digitale", skill="trentino-accessibile"),
        ),
        default_queue_slug="trentino-digitale",
    ),
    ServiceSeed(
        slug="uru", name="Servizio URU - Ufficio Relazioni con l'Utenza", dids=("0461 800133",),
        opens=EIGHT, closes=FIVE_PM, mailbox_email=None,
        welcome="Benvenuto nel servizio dell'Ufficio Relazioni con l'Utenza.",
        queues=(QueueSeed("uru", "URU - informazioni"),),
    ),
    ServiceSeed(
        slug="protezione-civile", name="Dipartimento della Protezione Civile - Contact Center",
        dids=("800 840 840",), opens=time(9, 0), closes=time(18, 0), mailbox_email=None,
        welcome="Benvenuto nel Contact Center del Dipartimento della Protezione Civile.",
        queues=(QueueSeed("protezione-civile", "Protezione Civile - informazioni"),),
        not_emergency_notice=True,
    ),
)


async def seed(session: AsyncSession) -> list[str]:
    """Create the seeded services that do not exist yet; return the slugs created."""
    created: list[str] = []
    existing = set((await session.scalars(select(Service.slug))).all())
    for spec in SERVICES:
        if spec.slug in existing:
            continue
        created.append(spec.slug)
        service = Service(
            slug=spec.slug, name=spec.name, timezone="Europe/Rome", mode="auto",
            mailbox_email=spec.mailbox_email, not_emergency_notice=spec.not_emergency_notice,
            hours_before_queue=spec.hours_before_queue,
        )
        for did in spec.dids:
            digits = normalize_did(did)
            assert digits is not None, did
            service.dids.append(ServiceDid(did=digits))
        for weekday in WEEKDAYS:
            service.windows.append(ServiceWindow(weekday=weekday, opens=spec.opens,
                                                 closes=spec.closes))
        prompts = {"welcome": spec.welcome,
                   "out_of_hours": _out_of_hours(spec.opens, spec.closes),
                   **COMMON_PROMPTS,
                   **spec.extra_prompts}
        if spec.menu_prompt:
            prompts["menu"] = spec.menu_prompt
        if spec.not_emergency_notice:
            prompts["emergency"] = EMERGENCY_NOTICE
        for kind, text in prompts.items():
            service.prompts.append(Prompt(kind=kind, text=text))
        queues = {q.slug: Queue(slug=q.slug, name=q.name) for q in spec.queues}
        service.queues.extend(queues.values())
        session.add(service)
        await session.flush()
        if spec.options:
            menu = Menu(service_id=service.id, prompt_kind="menu",
                        default_queue_id=queues[spec.default_queue_slug or spec.slug].id)
            for option in spec.options:
                menu.options.append(MenuOption(
                    digit=option.digit, label=option.label, action=option.action,
                    queue_id=queues[option.queue_slug].id if option.queue_slug else None,
                    skill=option.skill, prompt_kind=option.prompt_kind,
                ))
            session.add(menu)
    await seed_sectors(session)
    await session.commit()
    return created


async def load_service_plans(session: AsyncSession) -> list[ServicePlan]:
    """Slug, DIDs and office lines of every service, for rendering the dialplan."""
    services = (await session.scalars(
        select(Service).options(selectinload(Service.dids)).order_by(Service.slug)
    )).all()
    offices = (await session.scalars(select(OfficeLine).order_by(OfficeLine.number))).all()
    return [ServicePlan(s.slug, tuple(d.did for d in s.dids),
                        tuple((o.number, o.endpoint, o.rings) for o in offices
                              if o.service_id == s.id))
            for s in services]
