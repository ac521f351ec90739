"""The data model: every table Centralino keeps. Import from here."""

from models.agent import AGENT_PROFILES, AGENT_STATES, Agent, AgentSkill, agent_services
from models.base import Base, UtcDateTime
from models.call import CALL_OUTCOMES, Call, CallOffer, Voicemail
from models.callback import CALLBACK_RESULTS, CALLBACK_STATES, Callback
from models.config_version import CONFIG_TABLES, ConfigVersion
from models.desk import ServiceSector
from models.export import EXPORT_STATUSES, SlaExportRun
from models.forward import Forward
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
from models.web import WEB_ROLES, AuditEntry, LoginFailure, WebSession, WebUser

__all__ = [
    "AGENT_PROFILES", "AGENT_STATES", "CALLBACK_RESULTS", "CALLBACK_STATES", "CALL_OUTCOMES",
    "CONFIG_TABLES", "EXPORT_STATUSES",
    "MENU_ACTIONS", "ROUTING_STRATEGIES", "SERVICE_MODES", "WEB_ROLES", "Agent", "AgentSkill",
    "AuditEntry", "Base", "Call", "CallOffer", "Callback", "Closure", "ConfigVersion", "Forward",
    "LoginFailure", "Menu", "MenuOption", "Notice", "OfficeLine", "Prompt", "Queue", "Service",
    "ServiceDid", "ServiceSector",
    "ServiceWindow", "SlaExportRun", "UtcDateTime", "Voicemail", "WebSession", "WebUser",
    "agent_services",
]
