"""The data model: every table Centralino keeps. Import from here."""

from models.agent import AGENT_PROFILES, AGENT_STATES, Agent, AgentSkill, agent_services
from models.base import Base, UtcDateTime
from models.call import CALL_OUTCOMES, Call, CallOffer, Voicemail
from models.export import EXPORT_STATUSES, SlaExportRun
from models.service import (
    MENU_ACTIONS,
    ROUTING_STRATEGIES,
    SERVICE_MODES,
    Closure,
    Menu,
    MenuOption,
    Notice,
    OfficeLine,
    Prompt,
    Queue,
    Service,
    ServiceDid,
    ServiceWindow,
)

__all__ = [
    "AGENT_PROFILES", "AGENT_STATES", "CALL_OUTCOMES", "EXPORT_STATUSES", "MENU_ACTIONS",
    "ROUTING_STRATEGIES", "SERVICE_MODES", "Agent", "AgentSkill", "Base", "Call", "CallOffer",
    "Closure", "Menu", "MenuOption", "Notice", "OfficeLine", "Prompt", "Queue", "Service",
    "ServiceDid", "ServiceWindow", "SlaExportRun", "UtcDateTime", "Voicemail", "agent_services",
]
