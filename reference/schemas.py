"""Request bodies (validated: unknown fields ignored, objects where strings belong refused) and response shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, EmailStr, Field, StringConstraints, field_validator

from reference.db import Patient, User
from reference.passwords import strength_problem


def _no_surrogates(value: str) -> str:
    """SQLite and Redis cannot store lone surrogates; refuse them as invalid input (422, not 500)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Text contains invalid characters") from None
    if "\x00" in value:
        raise ValueError("Text contains invalid characters")
    return value


Text = Annotated[str, AfterValidator(_no_surrogates)]
Name = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]
FullName = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Phone = Annotated[Text, StringConstraints(strip_whitespace=True, max_length=30, pattern=r"^\+?[0-9 ()\-]{4,30}$")]
Email = Annotated[EmailStr, AfterValidator(_no_surrogates)]
OTPCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class StrictStrings(BaseModel):
    """Strict mode for strings: `{"$ne": null}` or a number where text belongs is a 422."""

    model_config = {"str_strict": True}


def _strong(password: str) -> str:
    problem = strength_problem(password)
    if problem:
        raise ValueError(problem)
    return _no_surrogates(password)


Password = Annotated[str, AfterValidator(_strong)]


class RegisterRequest(StrictStrings):
    email: Email
    password: Password
    full_name: FullName
    phone: Phone | None = None


class VerifyOTPRequest(StrictStrings):
    email: Email
    otp_code: OTPCode


class RefreshRequest(StrictStrings):
    refresh_token: Annotated[Text, StringConstraints(min_length=1, max_length=4096)]


class LogoutRequest(StrictStrings):
    refresh_token: Annotated[Text, StringConstraints(max_length=4096)] | None = None


class UpdateMeRequest(StrictStrings):
    full_name: FullName | None = None
    phone: Phone | None = None


class ChangePasswordRequest(StrictStrings):
    current_password: Annotated[Text, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


class PatientFields(StrictStrings):
    phone: Phone | None = None
    email: Email | None = None
    group: Annotated[Text, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    year_of_birth: Annotated[int, Field(ge=1900, le=2100, strict=True)] | None = None
    gender: Annotated[Text, StringConstraints(max_length=20)] | None = None
    address: Annotated[Text, StringConstraints(max_length=500)] | None = None
    notes: Annotated[Text, StringConstraints(max_length=5000)] | None = None


class PatientCreate(PatientFields):
    name: Name


class PatientUpdate(PatientFields):
    name: Name | None = None

    @field_validator("name")
    @classmethod
    def name_not_null(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("name cannot be null")
        return value


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def user_out(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "phone": user.phone,
        "plan": user.plan,
        "role": user.role,
        "is_verified": user.is_verified,
        "created_at": iso(user.created_at),
    }


def patient_out(patient: Patient) -> dict[str, Any]:
    return {
        "id": patient.id,
        "patient_id": patient.patient_id,
        "user_id": patient.user_id,
        "name": patient.name,
        "phone": patient.phone,
        "email": patient.email,
        "group": patient.group,
        "year_of_birth": patient.year_of_birth,
        "gender": patient.gender,
        "address": patient.address,
        "notes": patient.notes,
        "created_at": iso(patient.created_at),
        "updated_at": iso(patient.updated_at),
    }
