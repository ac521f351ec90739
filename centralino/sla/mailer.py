"""Sending the SLA export by e-mail (SMTP, STARTTLS), attachments included.

smtplib in a worker thread: one message a night does not justify another
dependency, and the event loop that routes calls is never blocked.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from centralino.config import Settings

#: The SMTP password: only from the environment, never from centralino.toml.
PASSWORD_ENV = "CENTRALINO_SMTP_PASSWORD"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host and settings.sla_export_recipients)


def build_message(settings: Settings, subject: str, body: str,
                  attachments: list[Path]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = ", ".join(settings.sla_export_recipients)
    message["Subject"] = subject
    message.set_content(body)
    for path in attachments:
        kind = XLSX if path.suffix == ".xlsx" else (
            mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        maintype, subtype = kind.split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype,
                               filename=path.name)
    return message


def _send(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, os.environ.get(PASSWORD_ENV, ""))
        smtp.send_message(message)


async def send(settings: Settings, message: EmailMessage) -> None:
    """Deliver ``message``; raises OSError/SMTPException on failure (the caller retries)."""
    await asyncio.to_thread(_send, settings, message)
