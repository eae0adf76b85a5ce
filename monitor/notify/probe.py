"""`monitor notify --test CHANNEL`: the sample alert through a real channel, now.

A wrong SMTP password or webhook would otherwise only show as failed deliveries after
the first real alert; this sends once, without the database or the outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.config import Config
from monitor.notify.channels import Message, SendResult, build_channel
from monitor.notify.render import Renderer
from monitor.notify.samples import sample_alert
from monitor.store.outbox import message_id

TEST_DOMAIN = "veille.localhost"


async def send_test(config: Config, channel_name: str) -> SendResult:
    """Render the sample alert for the channel's format and send it once."""
    channel = build_channel(config.channels[channel_name])
    rendered = Renderer(config.templates_dir).render("alert", channel.format, sample_alert())
    # A fresh Message-ID each time: a test sent twice is two messages, not a resend.
    stamp = datetime.now(UTC).isoformat()
    message = Message(
        f"[test] {rendered.subject}",
        rendered.body,
        rendered.format,
        rendered.text,
        message_id(f"test:{channel_name}:{stamp}", TEST_DOMAIN),
        title_in_body=True,
    )
    return await channel.send(message)
