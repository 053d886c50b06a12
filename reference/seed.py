"""`python -m reference seed-user`: a verified account, e.g. with plan pro or role admin, for the harness."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from sqlalchemy import select

from reference.config import Settings, resolve_database_url
from reference.db import Database, User
from reference.passwords import hash_password, strength_problem


class SeedError(Exception):
    pass


async def seed_user(database_url: str, *, email: str, password: str, full_name: str, plan: str, role: str) -> str:
    """Create or update the account (idempotent: re-seeding resets password, plan and role)."""
    problem = strength_problem(password)
    if problem:
        raise SeedError(problem)
    db = Database(database_url)
    try:
        await db.create_schema()
        async with db.write() as session:
            user = (await session.execute(select(User).where(User.email == email.lower()))).scalar_one_or_none()
            if user is None:
                user = User(email=email.lower(), full_name=full_name)
                session.add(user)
            user.password_hash = hash_password(password)
            user.plan, user.role, user.is_verified = plan, role, True
            await session.flush()
            return user.id
    finally:
        await db.close()


def run(args) -> int:
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else args.password
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = resolve_database_url(Settings(), data_dir)
    try:
        user_id = asyncio.run(
            seed_user(
                url,
                email=args.email,
                password=password,
                full_name=args.full_name,
                plan=args.plan,
                role=args.role,
            )
        )
    except SeedError as exc:
        print(json.dumps({"event": "seed failed", "level": "error", "error": str(exc)}))
        return 2
    print(json.dumps({"event": "user seeded", "level": "info", "id": user_id, "plan": args.plan, "role": args.role}))
    return 0
