"""Which patients a request may touch (DATA-1): always the caller's own, by (id, user_id).

One component for the lookup by id, so that reads and writes share it; a defect
replaces it with a sibling that forgets the owner on writes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from reference.db import Patient, User
from reference.errors import NotFound


class PatientScope:
    async def readable(self, session: Any, user: User, patient_id: str) -> Patient:
        """The caller's patient ``patient_id`` for get_patient; NotFound for another user's."""
        return await self._owned(session, user, patient_id)

    async def writable(self, session: Any, user: User, patient_id: str) -> Patient:
        """The caller's patient ``patient_id`` for update_patient and delete_patient; NotFound for another user's."""
        return await self._owned(session, user, patient_id)

    async def _owned(self, session: Any, user: User, patient_id: str) -> Patient:
        result = await session.execute(select(Patient).where(Patient.id == patient_id, Patient.user_id == user.id))
        return found(result.scalar_one_or_none(), patient_id)


def found(patient: Patient | None, patient_id: str) -> Patient:
    if patient is None:
        raise NotFound("patient", patient_id)
    return patient
