"""A phone on WhatsApp (or SMS) for demos: the Twilio stand-in plus signed webhooks.

    # terminal 1: the Twilio stand-in (tests/fake_twilio.py) and a patient's phone
    .venv/bin/python -m tests.twilio_phone --app http://127.0.0.1:5000 --phone +919876543210
    # terminal 2: the app, sending through the stand-in (the line terminal 1 prints)
    TWILIO_ACCOUNT_SID=AC… TWILIO_AUTH_TOKEN=… TWILIO_API_URL=http://127.0.0.1:9200 make run

Each line typed in terminal 1 is posted to the app's webhook as Twilio would post it
(form fields, a fresh ``MessageSid``, ``X-Twilio-Signature`` over the URL and the form
with the stand-in's auth token). What the app answers in TwiML is printed, and so is
every message the app sends to this phone through the Messages API: payment links,
receipts, staff replies from the panel, reminders, and WhatsApp buttons and lists
(rendered from the content template the app created in the stand-in). Each arrival
says how long after this phone's last message it came, and the time of day (UTC).
``tap N`` taps the N-th button or list row of the last interactive message (posted
with ``ButtonPayload``/``ButtonText`` or ``ListId``/``ListTitle``, as Twilio does).
Piped input waits ``--wait`` seconds between lines. Nothing here is part of the app;
it lives beside the other stand-ins in ``tests/``.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from twilio.request_validator import RequestValidator

from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

DEMO_CLINIC_NUMBER = "+14155238886"  # the demo's Roshni Clinic (roshni/demo.py)
_VARIABLE = re.compile(r"\{\{(\d+)\}\}")


@dataclass
class Choice:
    title: str
    id: str


@dataclass
class Shown:
    text: str
    choices: list[Choice] = field(default_factory=list)
    kind: str = ""  # "twilio/quick-reply", "twilio/list-picker" or "" (plain text)


def render(message: dict[str, str], contents: dict[str, dict[str, Any]]) -> Shown:
    """What the phone shows for one message the app sent: its body, or the content
    template it named filled with its variables."""
    sid = message.get("ContentSid")
    if not sid:
        return Shown(message.get("Body", ""))
    template = contents.get(sid)
    if template is None:
        return Shown(f"(content {sid}, unknown to the stand-in)")
    values = json.loads(message.get("ContentVariables") or "{}")

    def filled(text: str) -> str:
        return _VARIABLE.sub(lambda m: str(values.get(m.group(1), "")), text)

    types = template["types"]
    for kind in ("twilio/quick-reply", "twilio/list-picker"):
        spec = types.get(kind)
        if spec is None:
            continue
        rows = spec.get("actions") or spec.get("items") or []
        choices = [
            Choice(filled(row.get("title") or row.get("item") or ""), filled(row["id"]))
            for row in rows
        ]
        return Shown(filled(spec["body"]), choices, kind)
    return Shown(filled(types.get("twilio/text", {}).get("body", "")))


def show(shown: Shown, prefix: str) -> str:
    lines = [f"{prefix} {shown.text}".rstrip()]
    if shown.choices:
        style = "[button]" if shown.kind == "twilio/quick-reply" else "[list row]"
        lines += [f"    {k}. {c.title}  {style}" for k, c in enumerate(shown.choices, start=1)]
    return "\n".join(lines)


class Phone:
    def __init__(self, twilio: FakeTwilio, *, app: str, phone: str, to: str, channel: str):
        self.twilio, self.app, self.phone, self.to, self.channel = twilio, app, phone, to, channel
        self.last_sent_at: float | None = None
        self.last_interactive: Shown | None = None
        self._seen = 0
        self._lock = threading.Lock()

    def address(self, number: str) -> str:
        return f"whatsapp:{number}" if self.channel == "whatsapp" else number

    def say(self, line: str) -> None:
        form = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": self.twilio.account_sid,
            "From": self.address(self.phone),
            "To": self.address(self.to),
            "Body": line,
            "NumMedia": "0",
        }
        tap = re.fullmatch(r"tap\s+(\d+)", line.strip(), re.IGNORECASE)
        if tap:
            shown = self.last_interactive
            k = int(tap.group(1))
            if shown is None or not 1 <= k <= len(shown.choices):
                print("(nothing to tap there)", flush=True)
                return
            choice = shown.choices[k - 1]
            form["Body"] = choice.title
            if shown.kind == "twilio/list-picker":
                form |= {"ListId": choice.id, "ListTitle": choice.title}
            else:
                form |= {"ButtonPayload": choice.id, "ButtonText": choice.title}
        url = f"{self.app}/webhooks/twilio/{'whatsapp' if self.channel == 'whatsapp' else 'sms'}"
        signature = RequestValidator(self.twilio.auth_token).compute_signature(url, form)
        with self._lock:
            self.last_sent_at = time.monotonic()
        try:
            answer = requests.post(
                url, data=form, headers={"X-Twilio-Signature": signature}, timeout=30
            )
        except requests.RequestException as exc:
            print(f"(the app is not reachable at {self.app}: {type(exc).__name__})", flush=True)
            return
        if answer.status_code >= 300:
            print(f"(the app answered {answer.status_code}: {answer.text.strip()})", flush=True)
            return
        for text in _twiml_messages(answer.text):
            print(show(Shown(text), f"[TwiML {self._since()}]"), flush=True)

    def watch(self) -> None:
        """Print every message the app sends this phone through the Messages API."""
        while True:
            sent = self.twilio.sent
            for message in sent[self._seen :]:
                if message.get("To") != self.address(self.phone):
                    continue
                shown = render(message, self.twilio.state.contents)
                if shown.choices:
                    self.last_interactive = shown
                print(show(shown, f"[message {self._since()}]"), flush=True)
            self._seen = len(sent)
            time.sleep(0.005)

    def _since(self) -> str:
        with self._lock:
            start = self.last_sent_at
        now = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3] + " UTC"
        if start is None:
            return now
        return f"+{(time.monotonic() - start) * 1000:.0f} ms, {now}"


def _twiml_messages(body: str) -> list[str]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return [body] if body.strip() else []
    return [(m.findtext("Body") or m.text or "").strip() for m in root.iter("Message")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A phone talking to the app through a fake Twilio")
    parser.add_argument("--app", default="http://127.0.0.1:5000", help="the app's base URL")
    parser.add_argument("--phone", default="+919876543210", help="this phone's number (E.164)")
    parser.add_argument("--to", default=DEMO_CLINIC_NUMBER, help="the clinic's number")
    parser.add_argument("--channel", choices=("whatsapp", "sms"), default="whatsapp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--wait", type=float, default=1.5, help="pause between piped lines")
    args = parser.parse_args(argv)
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, host=args.host, port=args.port) as twilio:
        print(f"Twilio stand-in on {twilio.url}. Start the app with:", flush=True)
        print(
            f"  TWILIO_ACCOUNT_SID={ACCOUNT_SID} TWILIO_AUTH_TOKEN={AUTH_TOKEN} "
            f"TWILIO_API_URL={twilio.url} make run",
            flush=True,
        )
        print(f"Type as {args.phone} writing to {args.to}; 'tap N' taps; Ctrl-D ends.", flush=True)
        phone = Phone(twilio, app=args.app, phone=args.phone, to=args.to, channel=args.channel)
        threading.Thread(target=phone.watch, daemon=True).start()
        interactive = sys.stdin.isatty()
        for line in sys.stdin:
            if line.strip():
                phone.say(line.rstrip("\n"))
                if not interactive:
                    time.sleep(args.wait)
        if not interactive:
            time.sleep(args.wait)


if __name__ == "__main__":
    main()
