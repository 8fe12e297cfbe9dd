"""A recording channel: tests talk to the bot the way a patient would.

    chat = Chat(session, clinic)
    chat.say("hi")            # → the bot's reply
    assert "Book a session" in chat.last

Messages go through ``flows.receive`` (store, dedupe, rate limit, dialog), the
same path as the Twilio webhook and the console, with a clock the test moves.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.public_links import PublicLinks
from flows.receive import Delivery, Receipt, receive
from models import Channel, Clinic, MessageSource
from services.messaging.media import SentFile, SharedLocation

_sids = itertools.count(1)
# Where the chat's links point, as a web server's config says (PUBLIC_BASE_URL, SECRET_KEY).
LINKS = PublicLinks(base_url="https://book.example", secret_key="chat-tests-" + "k" * 32)


class Chat:
    def __init__(
        self,
        session: Session,
        clinic: Clinic,
        *,
        phone: str = "+919876543210",
        channel: Channel = Channel.WHATSAPP,
        now: datetime,
        step: timedelta = timedelta(seconds=20),
        links: PublicLinks | None = LINKS,
    ) -> None:
        self.session = session
        self.clinic = clinic
        self.phone = phone
        self.channel = channel
        self.now = now
        self.step = step
        self.links = links
        self.transcript: list[tuple[str, str | None]] = []

    @property
    def last(self) -> str:
        return self.transcript[-1][1] or ""

    def say(self, text: str, **kwargs: object) -> str | None:
        return self.send(text, **kwargs).reply

    def send(
        self,
        text: str,
        *,
        payload: str | None = None,
        num_media: int = 0,
        sid: str | None = None,
        files: tuple[SentFile, ...] = (),
        location: SharedLocation | None = None,
    ) -> Receipt:
        self.now += self.step
        receipt = receive(
            self.session,
            clinic=self.clinic,
            delivery=Delivery(
                channel=self.channel,
                source=MessageSource.CONSOLE,
                sid=sid or f"SMtest{next(_sids):026d}",
                from_phone=self.phone,
                to_address="+14155238886",
                body=text,
                payload=payload,
                num_media=num_media or len(files),
                files=files,
                location=location,
            ),
            now=self.now,
            links=self.links,
        )
        self.transcript.append((text, receipt.reply))
        return receipt

    def wait(self, delta: timedelta) -> None:
        self.now += delta

    def script(self, *texts: str) -> str | None:
        """Send several messages; return the last reply."""
        reply = None
        for text in texts:
            reply = self.say(text)
        return reply

    def dump(self) -> str:
        return "\n".join(f"> {q}\n{a}" for q, a in self.transcript)
