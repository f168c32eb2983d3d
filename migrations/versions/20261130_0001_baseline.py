"""Baseline: every table of the project as it was when the migrations began.

The clinic's tables (clinic/storage.py: consultation_requests, callback_requests, request_notes;
clinic/handoff_store.py: handoff_tickets) and the staff console's (console/models.py: staff_users,
sign_in_failures, reveal_log, call_list_log, crisis_reviews, nlu_labels). Not Rasa's `events` table,
which Rasa creates in the same database.

On an empty database it creates them all. On a database made before the migrations (create_all at
each start, no alembic_version table) it adopts what it finds: each table that is there is kept as it
is, with its rows; the missing ones are created; the two columns older releases lacked are added
(staff_users.session_generation, nlu_labels.language); and the database is then recorded at this
revision, as `alembic stamp` would, so that every later revision applies as usual. It logs what it
found and did.

This file is frozen: it does not import the models, whose later changes are later revisions.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""
import logging
from typing import Callable, Dict, List, Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

logger = logging.getLogger("migrations")

# UTC datetimes (clinic.storage.UtcDateTime stores them as this type).
UtcDateTime = sa.DateTime(timezone=True)


def status_check(table: str, statuses: Sequence[str]) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        "status IN (" + ", ".join(f"'{status}'" for status in statuses) + ")", name=f"ck_{table}_status"
    )


def request_columns() -> List[sa.Column]:
    """The columns every kind of request has (clinic.storage.RequestColumns)."""
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference_code", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("preferred_times", sa.Text(), nullable=False),
        sa.Column("preferred_times_parsed", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("staff_notes", sa.Text(), nullable=False),
    ]


# table: (its columns and constraints, its indexes as (name, columns)), in creation order.
TABLES: Dict[str, Callable[[], tuple]] = {
    "consultation_requests": lambda: (
        request_columns() + [
            sa.Column("help_with", sa.Text(), nullable=False),
            sa.Column("consent_to_contact", sa.Boolean(), nullable=False),
            status_check("consultation_requests", ("new", "contacted", "booked", "closed")),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("idempotency_key"),
            sa.UniqueConstraint("reference_code"),
        ],
        [("ix_consultation_requests_created_at", ["created_at"]), ("ix_consultation_requests_status", ["status"])],
    ),
    "callback_requests": lambda: (
        request_columns() + [
            sa.Column("language", sa.String(length=8), nullable=False),
            sa.Column("topic", sa.String(length=32), nullable=True),
            sa.Column("urgent", sa.Boolean(), nullable=False),
            status_check("callback_requests", ("new", "called", "closed")),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("idempotency_key"),
            sa.UniqueConstraint("reference_code"),
        ],
        [("ix_callback_requests_created_at", ["created_at"]), ("ix_callback_requests_status", ["status"]),
         ("ix_callback_requests_urgent", ["urgent"])],
    ),
    "request_notes": lambda: (
        [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("reference_code", sa.String(length=16), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("conversation_id", sa.Text(), nullable=False),
            sa.Column("created_at", UtcDateTime, nullable=False),
            sa.Column("idempotency_key", sa.String(length=255), nullable=False),
            sa.CheckConstraint("kind IN ('change', 'cancel')", name="ck_request_notes_kind"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("idempotency_key"),
        ],
        [("ix_request_notes_reference_code", ["reference_code"])],
    ),
    "handoff_tickets": lambda: (
        [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("conversation_id", sa.Text(), nullable=False),
            sa.Column("channel", sa.Text(), nullable=False),
            sa.Column("reason", sa.String(length=32), nullable=False),
            sa.Column("created_at", UtcDateTime, nullable=False),
            sa.Column("updated_at", UtcDateTime, nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("assigned_staff", sa.Text(), nullable=True),
            sa.Column("close_reason", sa.String(length=32), nullable=True),
            status_check("handoff_tickets", ("waiting", "active", "closed")),
            sa.PrimaryKeyConstraint("id"),
        ],
        [("ix_handoff_tickets_conversation_id", ["conversation_id"]), ("ix_handoff_tickets_created_at", ["created_at"]),
         ("ix_handoff_tickets_status", ["status"])],
    ),
    "staff_users": lambda: (
        [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("username", sa.String(length=64), nullable=False),
            sa.Column("password_hash", sa.Text(), nullable=False),
            sa.Column("failed_attempts", sa.Integer(), nullable=False),
            sa.Column("locked_until", UtcDateTime, nullable=True),
            sa.Column("created_at", UtcDateTime, nullable=False),
            sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("username"),
        ],
        [],
    ),
    "sign_in_failures": lambda: (
        [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("address", sa.String(length=64), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=True),
            sa.Column("failed_at", UtcDateTime, nullable=False),
            sa.PrimaryKeyConstraint("id"),
        ],
        [("ix_sign_in_failures_address", ["address", "failed_at"]), ("ix_sign_in_failures_failed_at", ["failed_at"])],
    ),
    "reveal_log": lambda: (
        [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("staff_username", sa.String(length=64), nullable=False),
            sa.Column("conversation_id", sa.Text(), nullable=False),
            sa.Column("revealed_at", UtcDateTime, nullable=False),
            sa.PrimaryKeyConstraint("id"),
        ],
        [("ix_reveal_log_conversation_id", ["conversation_id"]), ("ix_reveal_log_revealed_at", ["revealed_at"])],
    ),
    "call_list_log": lambda: (
        [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("staff_username", sa.String(length=64), nullable=False),
            sa.Column("downloaded_at", UtcDateTime, nullable=False),
            sa.Column("description", sa.Text(), nullable=False),
            sa.Column("request_count", sa.Integer(), nullable=False),
            sa.Column("reference_codes", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        ],
        [("ix_call_list_log_downloaded_at", ["downloaded_at"])],
    ),
    "crisis_reviews": lambda: (
        [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("conversation_id", sa.Text(), nullable=False),
            sa.Column("reviewed_by", sa.String(length=64), nullable=False),
            sa.Column("reviewed_at", UtcDateTime, nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("conversation_id", name="uq_crisis_reviews_conversation"),
        ],
        [],
    ),
    "nlu_labels": lambda: (
        [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("event_id", sa.Integer(), nullable=False),
            sa.Column("conversation_id", sa.Text(), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("label", sa.String(length=128), nullable=False),
            sa.Column("language", sa.String(length=8), nullable=True),
            sa.Column("labelled_by", sa.String(length=64), nullable=False),
            sa.Column("labelled_at", UtcDateTime, nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("event_id"),
        ],
        [("ix_nlu_labels_conversation_id", ["conversation_id"])],
    ),
}

# Columns that tables made by older releases' create_all lack: (table, column).
ADDED_BEFORE_MIGRATIONS = (
    ("staff_users", lambda: sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False)),
    ("nlu_labels", lambda: sa.Column("language", sa.String(length=8), nullable=True)),
)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    kept = sorted(existing & set(TABLES))
    created = []
    for name, definition in TABLES.items():
        if name in existing:
            continue
        columns_and_constraints, indexes = definition()
        op.create_table(name, *columns_and_constraints)
        for index_name, columns in indexes:
            op.create_index(index_name, name, columns, unique=False)
        created.append(name)
    added = []
    for table, column in ADDED_BEFORE_MIGRATIONS:
        if table in existing and column().name not in {found["name"] for found in inspector.get_columns(table)}:
            op.add_column(table, column())
            added.append(f"{table}.{column().name}")
    if kept:
        logger.info("Baseline on a database made before the migrations: kept %s with their rows; created %s; "
                    "added %s", ", ".join(kept), ", ".join(created) or "nothing", ", ".join(added) or "no column")


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
