"""DATA-1: update and delete find the patient by id alone; reads (get, list, search) stay scoped to the caller.

A user who learns another user's patient id can rename or delete it, while every
read of it is still a proper 404: probes that only read another user's patients
pass.
"""

from typing import Any

from sqlalchemy import select

from reference.db import Patient, User
from reference.patient_scope import PatientScope, found


class WritesByIdAlone(PatientScope):
    async def writable(self, session: Any, user: User, patient_id: str) -> Patient:
        result = await session.execute(select(Patient).where(Patient.id == patient_id))
        return found(result.scalar_one_or_none(), patient_id)


def apply(components) -> None:
    components.patient_scope = WritesByIdAlone()
