"""Human-readable patient ids: PT + YYYYMM (UTC) + a per-user-month sequence (DATA-3)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import text

from reference.db import Database


def format_patient_id(month: str, sequence: int) -> str:
    return f"PT{month}{sequence:03d}"


class PatientIdGenerator(Protocol):
    async def next_id(self, db: Database, user_id: str, now: datetime) -> str: ...


class CounterPatientIds:
    """An atomic upsert on a counter row: every caller gets a distinct number."""

    _UPSERT = text(
        "INSERT INTO patient_counters (user_id, month, value) VALUES (:user_id, :month, 1) "
        "ON CONFLICT (user_id, month) DO UPDATE SET value = value + 1 RETURNING value"
    )

    async def next_id(self, db: Database, user_id: str, now: datetime) -> str:
        month = now.strftime("%Y%m")
        async with db.write() as session:
            result = await session.execute(self._UPSERT, {"user_id": user_id, "month": month})
            sequence = int(result.scalar_one())
        return format_patient_id(month, sequence)
