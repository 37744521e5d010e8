"""core.db.prepared_values sends values of the exact type a column takes as they are, and
prepares everything else through its field: the result is what Django's preparation gives."""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.utils import timezone

from core.db import prepared_values
from delivery import lifecycle
from ingest.models import Submission, SubmissionStatus

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 3, 9, 30, 0, 123456, tzinfo=UTC)


def djangos(instance, skip: str = "") -> list:
    return plain(
        field.get_db_prep_save(field.pre_save(instance, add=True), connection)
        for field in type(instance)._meta.concrete_fields
        if field.attname != skip
    )


def plain(values) -> list:
    """Comparable: a JSON adapter (psycopg's Jsonb compares by identity) as what it wraps."""
    return [("json", v.obj) if hasattr(v, "obj") else v for v in values]


def submission(**fields) -> Submission:
    values = {
        "tenant_id": "t_acme", "submission_id": "s-1", "source": "wordpress",
        "form_id": "contact", "submitted_at": NOW, "received_at": NOW, "ip": "203.0.113.5",
        "payload": {"name": "Jane", "n": 1}, "payload_bytes": 42, "payload_sha256": "ab" * 32,
        "status": SubmissionStatus.ACCEPTED,
        **fields,
    }  # fmt: skip
    return Submission(**values)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    # auto_now fields take timezone.now() at each pre_save: the same on both sides.
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def test_a_submission_is_prepared_as_django_prepares_it():
    row = submission(ip=None, payload_object=None)
    assert plain(prepared_values(row, connection)) == djangos(row)


def test_a_new_delivery_is_prepared_as_django_prepares_it():
    row = lifecycle.new(tenant_id="t_acme", submission=submission(), destination_id=uuid.uuid4(),
                        pull=False, now=NOW, ordering_key="k1")  # fmt: skip
    mine = plain(prepared_values(row, connection, skip="submission_id"))
    assert mine == djangos(row, skip="submission_id")
    assert NOW in mine and row.id in mine  # sent as they are


def test_what_is_not_of_the_exact_type_goes_through_its_field():
    naive = datetime(2026, 12, 3, 9, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # Django warns of a naive time
        row = submission(received_at=naive, payload_bytes=True, source=SubmissionStatus.SPAM)
        mine, theirs = plain(prepared_values(row, connection)), djangos(row)
    assert mine == theirs
    names = [f.attname for f in Submission._meta.concrete_fields]
    received = mine[names.index("received_at")]
    # Made aware by the field on PostgreSQL (SQLite's backend sends text), as Django does.
    assert received != naive
