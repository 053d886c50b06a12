"""Patients CRUD, scoped to the caller (DATA-1..4).

`/pro-feature/` is declared before `/{id}` so it is not taken for an id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from starlette.responses import JSONResponse

from reference.db import Patient, User, utcnow
from reference.guards import current_user, require_plan, require_role
from reference.logs import get_logger
from reference.patient_scope import PatientScope
from reference.schemas import PatientCreate, PatientUpdate, patient_out

router = APIRouter(prefix="/api/patients")
log = get_logger("heallog.patients")
Reader = Annotated[User, Depends(current_user)]
Doctor = Annotated[User, Depends(require_role("doctor"))]
MAX_SKIP = 1_000_000
MAX_LIMIT = 1000


@router.get("/pro-feature/", dependencies=[Depends(require_plan("pro"))])
async def pro_feature() -> dict[str, Any]:
    return {"success": True, "message": "Pro feature unlocked"}


@router.post("/", status_code=201)
async def create_patient(body: PatientCreate, user: Doctor, request: Request) -> JSONResponse:
    services = request.app.state.services
    now = utcnow()
    patient_id = await services.patient_ids.next_id(services.db, user.id, now)
    patient = Patient(patient_id=patient_id, user_id=user.id, created_at=now, updated_at=now, **body.model_dump())
    async with services.db.write() as session:
        session.add(patient)
    await services.list_cache.invalidate(user.id)
    log.info("patient created", user_id=user.id, patient=patient.id)
    return JSONResponse(patient_out(patient), status_code=201)


@dataclass(frozen=True)
class Page:
    skip: int
    limit: int


def page(
    skip: Annotated[int, Query(ge=0, le=MAX_SKIP)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page:
    """Paging of a listing, bounded: far out-of-range integers never reach SQLite (which overflows at 2**63)."""
    return Page(skip, limit)


@router.get("/")
async def list_patients(
    user: Reader,
    request: Request,
    paging: Annotated[Page, Depends(page)],
    search: Annotated[str | None, Query(max_length=200)] = None,
    group: Annotated[str | None, Query(max_length=100)] = None,
) -> Any:
    services = request.app.state.services
    skip, limit = paging.skip, paging.limit
    query = {"search": search, "group": group, "skip": skip, "limit": limit}
    key, cached = await services.list_cache.get(user.id, query)
    if cached is not None:
        return cached
    statement = select(Patient).where(Patient.user_id == user.id)
    if search:
        statement = statement.where(services.search.condition([Patient.name, Patient.phone, Patient.email], search))
    if group:
        statement = statement.where(Patient.group == group)
    statement = statement.order_by(Patient.created_at, Patient.id).offset(skip).limit(limit)
    async with services.db.read() as session:
        items = [patient_out(p) for p in (await session.execute(statement)).scalars()]
    await services.list_cache.put(key, items)
    return items


def _scope(request: Request) -> PatientScope:
    return request.app.state.components.patient_scope


@router.get("/{id}")
async def get_patient(id: str, user: Reader, request: Request) -> dict[str, Any]:
    async with request.app.state.services.db.read() as session:
        return patient_out(await _scope(request).readable(session, user, id))


@router.put("/{id}")
async def update_patient(id: str, body: PatientUpdate, user: Doctor, request: Request) -> dict[str, Any]:
    services = request.app.state.services
    async with services.db.write() as session:
        patient = await _scope(request).writable(session, user, id)
        for name, value in body.model_dump(exclude_unset=True).items():
            setattr(patient, name, value)
        patient.updated_at = utcnow()
    await services.list_cache.invalidate(user.id)
    return patient_out(patient)


@router.delete("/{id}")
async def delete_patient(id: str, user: Doctor, request: Request) -> dict[str, Any]:
    services = request.app.state.services
    async with services.db.write() as session:
        await session.delete(await _scope(request).writable(session, user, id))
    await services.list_cache.invalidate(user.id)
    return {"success": True, "message": "Patient deleted"}
