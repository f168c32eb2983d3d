"""Command line: python -m console run | create-user USERNAME | list-users | delete-user USERNAME
| purge [--older-than-days N]"""
import argparse
import getpass
import sys

from clinic import settings
from clinic.profile import clinic_timezone
from console.accounts import AccountError, delete_user, list_users, save_user
from console.config import tracker_store_url
from console.models import ConsoleDb
from console.privacy import mask
from console.retention import purge
from console.tracker import TrackerStore


def run(args: argparse.Namespace) -> int:
    import waitress

    from console import create_app

    port = int(settings.get("CONSOLE_PORT"))
    print(f"Staff console: http://127.0.0.1:{port}/  (Ctrl+C stops)", flush=True)
    app = create_app()
    # waitress refuses over-long bodies too, including chunked ones whose length is not announced.
    waitress.serve(app, host="127.0.0.1", port=port, threads=8, max_request_body_size=app.config["MAX_CONTENT_LENGTH"])
    return 0


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("Same password again: ") != password:
        raise AccountError("The passwords differ.")
    return password


def create_user(args: argparse.Namespace) -> int:
    db = ConsoleDb(settings.get("DATABASE_URL"))
    try:
        save_user(db, args.username, read_password(args.password_stdin), reset=args.reset)
    except AccountError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        db.close()
    print(f"{'Password set for' if args.reset else 'Created'} staff user {args.username}.")
    return 0


def show_users(args: argparse.Namespace) -> int:
    db = ConsoleDb(settings.get("DATABASE_URL"))
    try:
        users = list_users(db)
    finally:
        db.close()
    if not users:
        print("No staff users yet. Create one with: python -m console create-user NAME")
        return 0
    zone = clinic_timezone()
    print(f"{len(users)} staff user{'' if len(users) == 1 else 's'}:")
    width = max(len(user.username) for user in users)
    for user in users:
        print(f"  {user.username:<{width}}  created {user.created_at.astimezone(zone):%Y-%m-%d}")
    return 0


def remove_user(args: argparse.Namespace) -> int:
    db = ConsoleDb(settings.get("DATABASE_URL"))
    try:
        deleted = delete_user(db, args.username)
    finally:
        db.close()
    if not deleted:
        print(
            f"There is no staff user {args.username}. See them all with: python -m console list-users", file=sys.stderr
        )
        return 1
    print(f"Deleted staff user {args.username}: they are signed out everywhere and can no longer sign in. "
          "Their reveals and reviews stay on record under their name.")
    return 0


def purge_old(args: argparse.Namespace) -> int:
    tracker, db = TrackerStore(tracker_store_url()), ConsoleDb(settings.get("DATABASE_URL"))
    try:
        report = purge(tracker, db, args.older_than_days)
    finally:
        tracker.close()
        db.close()
    print(
        f"Conversations with no activity since {report.cutoff:%Y-%m-%d %H:%M} UTC: "
        f"{len(report.events_by_conversation)}"
    )
    for conversation_id, count in sorted(report.events_by_conversation.items()):
        print(f"  {mask(conversation_id)}: {count} events")
    print(f"Deleted {report.events_deleted} tracker events and {report.tickets_deleted} handoff tickets.")
    return 0


def positive_days(value: str) -> float:
    days = float(value)
    if days <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return days


def main(argv=None) -> int:
    settings.apply_defaults()
    parser = argparse.ArgumentParser(prog="python -m console", description="Staff console for the clinic assistant.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run", help="serve the console on 127.0.0.1:$CONSOLE_PORT (default 8090)"
    ).set_defaults(handler=run)
    creating = commands.add_parser("create-user", help="create a staff account (password prompted, min. 12 characters)")
    creating.add_argument("username")
    creating.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    creating.add_argument(
        "--reset", action="store_true", help="set a new password for an existing user (signs them out everywhere)"
    )
    creating.set_defaults(handler=create_user)
    commands.add_parser("list-users", help="list the staff accounts").set_defaults(handler=show_users)
    deleting = commands.add_parser("delete-user", help="delete a staff account (signed out at once)")
    deleting.add_argument("username")
    deleting.set_defaults(handler=remove_user)
    purging = commands.add_parser("purge", help="delete conversations (and their handoff tickets) older than N days")
    purging.add_argument(
        "--older-than-days", type=positive_days, default=positive_days(settings.get("CONVERSATION_RETENTION_DAYS")),
        help="default: CONVERSATION_RETENTION_DAYS (90)",
    )
    purging.set_defaults(handler=purge_old)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
