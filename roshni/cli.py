"""`roshni`: every operator task, one command."""

from __future__ import annotations

import sys

import click

from core.config import Config, ConfigError


def _config() -> Config:
    from core.logging_setup import configure_logging

    try:
        config = Config.from_env()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    configure_logging(config.log_level, config.log_format)
    return config


@click.group(help="Roshni: chat front desk and staff panel for therapy clinics.")
def main() -> None:
    pass


@main.group(help="Database schema migrations (Alembic).")
def db() -> None:
    pass


@db.command("upgrade", help="Apply migrations up to REVISION (default: head).")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    from core import migrate

    config = _config()
    if config.is_sqlite:
        config.instance_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(config.database_url, revision)
    click.echo(f"database at {revision}")


@db.command(
    "downgrade",
    help="Revert migrations down to REVISION; refused when that drops tables or columns "
    "holding data, unless --i-have-a-backup.",
)
@click.argument("revision")
@click.option(
    "--i-have-a-backup",
    "have_backup",
    is_flag=True,
    help="Drop what the downgrade drops, data and all (take `roshni backup` first).",
)
def db_downgrade(revision: str, have_backup: bool) -> None:
    from alembic.util import CommandError

    from core import migrate

    try:
        migrate.downgrade(_config().database_url, revision, have_backup=have_backup)
    except (migrate.DowngradeWouldLoseData, CommandError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"database at {revision}")


@db.command("current", help="Show the applied revision.")
def db_current() -> None:
    from core import migrate

    migrate.current(_config().database_url)


@main.command("backup", help="Back up the whole database to a directory or an S3 bucket.")
@click.option(
    "--to",
    "target",
    metavar="DIR|s3://BUCKET/PREFIX",
    help="Where to put it (default: BACKUP_TARGET).",
)
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    help="How many backups to keep there; older ones are deleted (default: BACKUP_KEEP).",
)
def backup(target: str | None, keep: int | None) -> None:
    from core.backup import BackupError, store_for, take_backup
    from core.clock import utcnow

    config = _config()
    try:
        store = store_for(config, target)
        result = take_backup(
            config.database_url, store, keep=keep or config.backup_keep, now=utcnow()
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"backed up to {result.location} ({result.size_bytes:,} bytes, "
        f"revision {result.revision or 'none'})"
    )
    for name in result.pruned:
        click.echo(f"deleted old backup {name}")


@main.command(
    "restore",
    help="Restore a backup (a file or s3://BUCKET/PREFIX/NAME) into an EMPTY database.",
)
@click.argument("source", metavar="FILE|s3://BUCKET/PREFIX/NAME")
def restore(source: str) -> None:
    import tempfile
    from pathlib import Path

    from core.backup import BackupError, fetch
    from core.backup import restore as restore_backup

    config = _config()
    if config.is_sqlite:
        config.instance_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="roshni-restore-") as tmp:
            revision = restore_backup(config.database_url, fetch(source, config, Path(tmp)))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"restored {source}: the database is at revision {revision or 'none'}; "
        "run `roshni db upgrade` to bring it to this code's schema"
    )


@main.command("seed-demo", help="Create the demo clinics (safe to run again).")
def seed_demo() -> None:
    from core.db import Database
    from roshni.demo import DEMO_CLINICS
    from roshni.demo import seed_demo as seed
    from services.errors import InvalidInput

    config = _config()
    database = Database(config.database_url)
    try:
        with database.session_scope() as session:
            generated = seed(session, config.admin_password)
    except InvalidInput as exc:
        # The rule that needs the account's email (no part of it in the password) can
        # only run here; the rest ran when the configuration was read.
        raise click.ClickException(f"ADMIN_PASSWORD is refused: {exc.message}") from None
    finally:
        database.dispose()
    slugs = ", ".join(c.slug for c in DEMO_CLINICS)
    click.echo(f"demo clinics ready: {slugs}")
    if generated:
        emails = ", ".join(email for c in DEMO_CLINICS for email, _ in c.staff_logins)
        click.echo(f"staff logins {emails} created with password: {generated}")
        click.echo("(shown once; set ADMIN_PASSWORD to choose it yourself)")


@main.command("create-superadmin", help="Create a deployment-wide superadmin.")
@click.option("--email", prompt=True)
@click.password_option()
def create_superadmin(email: str, password: str) -> None:
    from core.db import Database
    from models import Role
    from services.audit import Actor
    from services.errors import ServiceError
    from services.staff.accounts import create_staff_user

    database = Database(_config().database_url)
    with database.session_scope() as session:
        try:
            create_staff_user(
                session, email=email, password=password, role=Role.SUPERADMIN, actor=Actor.system()
            )
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"superadmin {email} created")


@main.command("chat", help="Talk to the booking assistant in the terminal, as a patient would.")
@click.option("--clinic", "slug", required=True, help="Clinic slug, e.g. roshni.")
@click.option("--phone", required=True, help="The patient's phone number.")
@click.option(
    "--channel", type=click.Choice(["whatsapp", "sms"]), default="whatsapp", show_default=True
)
def chat(slug: str, phone: str, channel: str) -> None:
    import uuid

    from sqlalchemy import select

    from core.clock import utcnow
    from core.db import Database
    from core.public_links import links_for
    from flows.receive import Delivery, receive
    from models import Channel, Clinic, MessageSource, SenderNumber
    from services.errors import InvalidPhone
    from services.people.phones import normalise_phone

    config = _config()
    database = Database(config.database_url)
    with database.session_scope() as session:
        clinic = session.scalar(select(Clinic).where(Clinic.slug == slug))
        if clinic is None:
            raise click.ClickException(f"no clinic with slug {slug!r} (try `roshni seed-demo`)")
        try:
            e164 = normalise_phone(phone, clinic.phone_region)
        except InvalidPhone as exc:
            raise click.ClickException(exc.message) from None
        chosen = Channel(channel)
        to = session.scalar(
            select(SenderNumber.address).where(
                SenderNumber.clinic_id == clinic.id, SenderNumber.channel == chosen
            )
        )
        click.echo(f"Chatting with {clinic.name} as {e164} on {channel}. Ctrl-D to leave.\n")
        shown = _show_sent(database, clinic.id, e164, None)
        while True:
            try:
                text = input("you> ")
            except (EOFError, KeyboardInterrupt):
                click.echo()
                break
            receipt = receive(
                session,
                clinic=clinic,
                delivery=Delivery(
                    channel=chosen,
                    source=MessageSource.CONSOLE,
                    sid=f"console-{uuid.uuid4().hex}",
                    from_phone=e164,
                    to_address=to or "console",
                    body=text,
                ),
                now=utcnow(),
                links=links_for(config),
            )
            click.echo(f"\n{receipt.reply or '(no reply: a person is handling this chat)'}\n")
            shown = _show_sent(database, clinic.id, e164, shown)
    database.dispose()


def _show_sent(database, clinic_id: int, phone: str, after_id: int | None) -> int:
    """Run the jobs once (send what is due: payment links, receipts, reminders) and print
    what the clinic sent this number since ``after_id`` (None: just find where we are)."""
    from sqlalchemy import func, select

    from jobs.runner import tick
    from jobs.runtime import build_runtime
    from models import Contact, OutboundMessage, OutboundStatus

    with database.session_scope() as session:
        contact_id = session.scalar(
            select(Contact.id).where(Contact.clinic_id == clinic_id, Contact.phone == phone)
        )
        last = session.scalar(select(func.max(OutboundMessage.id))) or 0
    if after_id is None:
        return last
    tick(build_runtime(_config(), database))
    with database.session_scope() as session:
        rows = session.execute(
            select(OutboundMessage.id, OutboundMessage.status, OutboundMessage.body)
            .where(OutboundMessage.contact_id == contact_id, OutboundMessage.id > after_id)
            .order_by(OutboundMessage.id)
        ).all()
    for _id, status, body in rows:
        if status is OutboundStatus.SENT and body:
            click.echo(f"[sent by the clinic]\n{body}\n")
    return max([after_id, *[row[0] for row in rows]])


@main.command("worker", help="Run an RQ worker (needs REDIS_URL) with the outbox sweeper.")
@click.option("--burst", is_flag=True, help="Sweep once, work until the queue is empty, exit.")
def worker(burst: bool) -> None:
    from jobs.runtime import build_runtime
    from jobs.worker import WorkerStopped, run_worker

    config = _config()
    if not config.redis_url:
        raise click.ClickException(
            "REDIS_URL is not set; without Redis the web process runs the jobs itself"
        )
    if config.sentry_dsn:
        from core import error_tracking

        error_tracking.init(config)
    try:
        run_worker(build_runtime(config), burst=burst)
    except WorkerStopped as exc:
        raise click.ClickException(str(exc)) from None


@main.command("doctor", help="Check the database, migrations, Redis and that messages leave.")
def doctor() -> None:
    from jobs.doctor import run_checks

    checks = run_checks(_config())
    for check in checks:
        mark = "FAIL" if check.fails else ("warn" if check.warning else "ok  ")
        click.echo(f"{mark}  {check.name:<13} {check.detail}")
    if any(check.fails for check in checks):
        raise SystemExit(1)


@main.group(help="Background jobs.")
def jobs() -> None:
    pass


@jobs.command("tick", help="Run one sweep now: send everything due (in this process).")
@click.option(
    "--now",
    "at",
    metavar="ISO_TIME",
    help="Sweep as if it were this time (staging and demos; refused in production).",
)
def jobs_tick(at: str | None) -> None:
    from datetime import UTC, datetime

    from jobs.runner import tick
    from jobs.runtime import build_runtime

    config = _config()
    moment = None
    if at is not None:
        if config.is_production:
            raise click.ClickException("--now is for staging and demos, not production")
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise click.ClickException(f"--now must be an ISO time, got {at!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    rt = build_runtime(config)
    result = tick(rt, now=moment)
    rt.database.dispose()
    click.echo(
        f"swept: {result.dispatched} message(s) due, {result.released} released, "
        f"{result.dues_queued} dues reminder(s) queued"
    )
    if result.failed:
        failed = ", ".join(map(str, result.failed))
        raise click.ClickException(f"failed (see the log): {failed}")


@main.group(help="Payments: Razorpay and Stripe accounts, and reconciliation.")
def payments() -> None:
    pass


@payments.command(
    "reconcile", help="Fetch open Razorpay links and Stripe sessions and apply what they say."
)
def payments_reconcile() -> None:
    from core.clock import utcnow
    from jobs.runtime import build_runtime
    from services.reconciliation import razorpay_sync, stripe_sync

    rt = build_runtime(_config())
    with rt.database.session_scope() as session:
        now = utcnow()
        events = razorpay_sync.process_events(session, now=now)
        pushed = razorpay_sync.push(
            session, rt.gateway_for, now=now, callback_url=rt.payment_callback
        )
        checked = razorpay_sync.reconcile(session, rt.gateway_for, now=now, everything=True)
        events += stripe_sync.process_events(session, now=now)
        by_card = stripe_sync.push(session, rt.stripe_for, now=now, success_url=rt.stripe_return)
        checked += stripe_sync.reconcile(session, rt.stripe_for, now=now, everything=True)
    rt.database.dispose()
    click.echo(
        f"reconciled: {checked} link(s) checked, {events} event(s) applied, "
        f"{pushed.links_created} link(s) and {pushed.refunds_submitted} refund(s) to Razorpay, "
        f"{by_card.links_created} session(s) and {by_card.refunds_submitted} refund(s) to Stripe"
    )


@payments.command("razorpay", help="Set a clinic's Razorpay keys (secrets stored encrypted).")
@click.argument("slug")
@click.option("--key-id", required=True, help="rzp_test_… or rzp_live_…; empty to remove.")
@click.option("--key-secret", prompt=True, hide_input=True, default="", show_default=False)
@click.option("--webhook-secret", prompt=True, hide_input=True, default="", show_default=False)
def payments_razorpay(slug: str, key_id: str, key_secret: str, webhook_secret: str) -> None:
    from sqlalchemy import select

    from core.db import Database
    from models import Clinic
    from services.audit import Actor
    from services.clinics.settings import set_razorpay_account
    from services.errors import ServiceError

    config = _config()
    database = Database(config.database_url)
    with database.session_scope() as session:
        clinic = session.scalar(select(Clinic).where(Clinic.slug == slug))
        if clinic is None:
            raise click.ClickException(f"no clinic with slug {slug!r}")
        try:
            set_razorpay_account(
                session,
                clinic_id=clinic.id,
                key_id=key_id,
                key_secret=key_secret,
                webhook_secret=webhook_secret,
                config=config,
                actor=Actor.system(),
            )
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
    database.dispose()
    click.echo(f"{slug}: Razorpay {'set' if key_id else 'removed'}")


@payments.command("stripe", help="Set a clinic's Stripe keys (secrets stored encrypted).")
@click.argument("slug")
@click.option("--remove", is_flag=True, help="Stop taking payments through Stripe.")
@click.option("--secret-key", prompt=True, hide_input=True, default="", show_default=False)
@click.option("--webhook-secret", prompt=True, hide_input=True, default="", show_default=False)
def payments_stripe(slug: str, remove: bool, secret_key: str, webhook_secret: str) -> None:
    from sqlalchemy import select

    from core.db import Database
    from models import Clinic
    from services.audit import Actor
    from services.clinics.settings import StripeChange, set_stripe_account
    from services.errors import ServiceError

    config = _config()
    database = Database(config.database_url)
    with database.session_scope() as session:
        clinic = session.scalar(select(Clinic).where(Clinic.slug == slug))
        if clinic is None:
            raise click.ClickException(f"no clinic with slug {slug!r}")
        try:
            set_stripe_account(
                session,
                clinic_id=clinic.id,
                change=StripeChange(secret_key, webhook_secret, clear=remove),
                config=config,
                actor=Actor.system(),
            )
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
    database.dispose()
    click.echo(f"{slug}: Stripe {'removed' if remove else 'set'}")


@main.group(help="WhatsApp: the Content API templates for buttons and lists.")
def whatsapp() -> None:
    pass


@whatsapp.command(
    "sync",
    help="Create the missing button and list templates in every Twilio account (safe to "
    "run again) and record their SIDs.",
)
def whatsapp_sync() -> None:
    from core.clock import utcnow
    from core.db import Database
    from integrations.twilio.content import ContentApi, ContentError
    from services.messaging.content_templates import sync_content_templates, twilio_accounts

    config = _config()
    database = Database(config.database_url)
    failed = 0
    try:
        with database.session_scope() as session:
            accounts = twilio_accounts(session, config)
            if not accounts:
                click.echo("No Twilio account is configured (dry run): nothing to sync.")
                return
            for account in accounts:
                served = "the deployment's" if account.default else "own"
                if account.clinics:
                    served += f"; clinics: {', '.join(account.clinics)}"
                name = f"account …{account.account_sid[-4:]} ({served})"
                api = ContentApi(
                    account.account_sid, account.auth_token, api_url=config.twilio_api_url
                )
                try:
                    result = sync_content_templates(
                        session, account_sid=account.account_sid, api=api, now=utcnow()
                    )
                except ContentError as exc:
                    failed += 1
                    click.echo(f"{name}: failed: {exc}", err=True)
                    continue
                click.echo(
                    f"{name}: {len(result.created)} template(s) created, "
                    f"{len(result.adopted)} found at Twilio, {result.kept} already in place"
                )
    finally:
        database.dispose()
    if failed:
        raise click.ClickException(f"{failed} account(s) could not be synced (see above)")


@main.command("serve", help="Serve the app on HOST:PORT (development server).")
def serve() -> None:
    from roshni.app import create_app

    config = _config()
    if config.is_production:
        raise click.ClickException("in production, serve with gunicorn (see Procfile)")
    app = create_app(config)
    click.echo(f"Roshni on http://{config.host}:{config.port}  (admin: /admin)")
    app.run(host=config.host, port=config.port, threaded=True, use_reloader=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
