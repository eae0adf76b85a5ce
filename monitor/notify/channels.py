"""Channels: where messages go. One small interface, one class per kind of service.

- `ConsoleChannel` prints to standard output (the default, and the demo's).
- `EmailChannel` takes apprise's `mailto://` / `mailtos://` URL syntax but builds
  and sends the MIME message itself: it needs a Message-ID that stays the same
  on every attempt (mail clients then fold a resend after a crash) and a
  plain-text part written by veille, and apprise generates both on its own.
- `AppriseChannel` hands everything else (Matrix, Slack and the rest of
  apprise's services) to apprise, capturing its log to say why a send failed.

Message bodies arrive escaped for their format (see `escape`); a channel still
keeps its own last line of defence where a service needs one: an email subject is
put on one line (a header cannot be split), and apprise escapes `&`, `<`, `>` for
Slack and HTML-escapes the Matrix title.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import sys
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any, Protocol, TextIO

from monitor.config.alerts import ChannelConfig
from monitor.notify import services
from monitor.notify.escape import one_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    subject: str
    body: str  # in `format`
    format: str  # html | markdown | text
    text: str  # plain-text alternative
    message_id: str
    # The body starts with its own heading (rendered alerts and digests): chat services
    # that would stack the subject above it as a second heading leave it out.
    title_in_body: bool = False


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


class Channel(Protocol):
    name: str
    format: str

    async def send(self, message: Message) -> SendResult: ...

    def describe(self) -> str: ...


class ConsoleChannel:
    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self.format = "text"
        self._stream = stream

    async def send(self, message: Message) -> SendResult:
        stream = self._stream or sys.stdout
        rule = "─" * 72
        stream.write(f"{rule}\n{message.subject}\n{rule}\n{message.text}\n")
        stream.flush()
        return SendResult(ok=True)

    def describe(self) -> str:
        return "console://"


class EmailChannel:
    def __init__(self, name: str, url: str, fmt: str, timeout: float = 30.0) -> None:
        self.name = name
        self.format = fmt
        self._url = url
        self._plugin = services.instantiate(url)
        self._timeout = timeout

    def describe(self) -> str:
        return services.privacy_url(self._url)

    async def send(self, message: Message) -> SendResult:
        try:
            mime = self._compose(message)
            await asyncio.to_thread(self._deliver, mime)
        except ValueError as exc:  # a header or a character that email cannot carry
            return SendResult(ok=False, error=f"cannot build the email: {exc}")
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            return SendResult(
                ok=False,
                error=f"SMTP {self._plugin.smtp_host}:{self._plugin.port}: "
                f"{type(exc).__name__}: {exc}",
            )
        return SendResult(ok=True)

    def _compose(self, message: Message) -> EmailMessage:
        plugin = self._plugin
        name, address = _from_address(plugin)
        mime = EmailMessage()
        mime.set_raw("Subject", encoded_subject(one_line(message.subject)))
        mime["From"] = formataddr((name, address))
        mime["To"] = ", ".join(formataddr((n or "", a)) for n, a in plugin.targets)
        if plugin.cc:
            mime["Cc"] = ", ".join(sorted(plugin.cc))
        mime["Date"] = formatdate(localtime=False, usegmt=True)
        mime["Message-ID"] = at_domain(message.message_id, address)
        mime["X-Mailer"] = "veille"
        mime["Auto-Submitted"] = "auto-generated"
        mime.set_content(message.text)
        if message.format == "html":
            mime.add_alternative(message.body, subtype="html")
        return mime

    def _deliver(self, mime: EmailMessage) -> None:
        plugin = self._plugin
        recipients = [a for _, a in plugin.targets] + sorted(plugin.cc) + sorted(plugin.bcc)
        factory: Any = smtplib.SMTP_SSL if plugin.secure_mode == "ssl" else smtplib.SMTP
        with factory(plugin.smtp_host, plugin.port, timeout=self._timeout) as smtp:
            if plugin.secure_mode == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if plugin.user and plugin.password:
                smtp.login(plugin.user, plugin.password)
            smtp.send_message(mime, from_addr=_from_address(plugin)[1], to_addrs=recipients)


def encoded_subject(subject: str) -> str:
    """The Subject header's value, folded here rather than by the email package.

    Python's folder mixes encoded words and plain text around spaces and no-break spaces,
    and mail clients then show a doubled space, or lose one, where it cut the line (a
    title with "«\u00a0" or "\u202f:" was enough). A subject that fits one line in ASCII
    is left as it is; any other is encoded whole as UTF-8 encoded words, whose folding
    whitespace every reader drops.
    """
    if subject.isascii() and len(subject) <= _ONE_LINE:
        return subject
    return Header(subject, "utf-8", header_name="Subject").encode()


_ONE_LINE = 78 - len("Subject: ")


def at_domain(message_id: str, sender: str) -> str:
    """The Message-ID under the sender's domain (`<veille.…@example.org>`), as mail
    servers and spam filters expect; the part before `@` keeps it stable across attempts."""
    _, at, domain = sender.rpartition("@")
    local = message_id.strip("<>").rpartition("@")[0]
    return f"<{local}@{domain}>" if at and local and domain else message_id


def _from_address(plugin: Any) -> tuple[str, str]:
    name, address = plugin.from_addr
    return (name or "veille"), address


# Matrix shows a title as an <h1> above the body, Slack as the attachment's title.
_TITLE_STACKED_ON_BODY = frozenset({"matrix", "matrixs", "slack"})


class AppriseChannel:
    def __init__(self, name: str, url: str, fmt: str) -> None:
        self.name = name
        self.format = fmt
        self._url = url
        self._stacks_title = services.scheme(url) in _TITLE_STACKED_ON_BODY
        self._apprise = services.apprise_module().Apprise(asset=services.asset())
        self._apprise.add(url)

    def describe(self) -> str:
        return services.privacy_url(self._url)

    async def send(self, message: Message) -> SendResult:
        captured: list[str] = []

        def keep(entry: Any, *_: Any) -> None:
            captured.append(str(getattr(entry, "message", entry)))

        skip_title = message.title_in_body and self._stacks_title
        try:
            result = await self._apprise.async_notify(
                body=message.body,
                title="" if skip_title else message.subject,
                body_format=services.apprise_module().NotifyFormat(message.format),
                log_callback=keep,
                log_level=logging.WARNING,
            )
        except Exception as exc:  # apprise plugins raise anything; a send failure is data here
            return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        if result:
            return SendResult(ok=True)
        reason = "; ".join(captured[-3:]) or f"apprise reported {result!r}"
        return SendResult(ok=False, error=f"{self.describe()}: {reason}")


def build_channel(config: ChannelConfig) -> Channel:
    kind = services.scheme(config.url)
    fmt = config.format or services.default_format(config.url)
    if kind in services.CONSOLE_SCHEMES:
        return ConsoleChannel(config.name)
    if kind in services.EMAIL_SCHEMES:
        return EmailChannel(config.name, config.url, fmt)
    return AppriseChannel(config.name, config.url, fmt)
