"""DATA-3: patient_id is count()+1, read before the insert: concurrent creates get the same number."""

import asyncio

from sqlalchemy import func, select

from reference.db import Patient
from reference.patient_ids import format_patient_id

# The gap between the count and the insert that a real request has anyway (validation, I/O).
GAP_SECONDS = 0.02


class CountPatientIds:
    async def next_id(self, db, user_id, now) -> str:
        month = now.strftime("%Y%m")
        async with db.read() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Patient)
                .where(Patient.user_id == user_id, Patient.patient_id.like(f"PT{month}%"))
            )
        await asyncio.sleep(GAP_SECONDS)
        return format_patient_id(month, int(count) + 1)


def apply(components) -> None:
    components.patient_ids = CountPatientIds()
