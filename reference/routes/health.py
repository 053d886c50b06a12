"""Readiness: answers without touching any store, so it stays 200 while Redis is down."""

from fastapi import APIRouter

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "healthy"}
