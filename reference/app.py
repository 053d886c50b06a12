"""Assembling the application: routers, error handlers and the middleware order, written once here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware import Middleware

from reference.components import Components
from reference.middleware.debug_decodes import DebugDecodesMiddleware
from reference.routes import auth, debug, health, patients, users
from reference.services import Services


def build_middleware(app: FastAPI, components: Components, services: Services) -> list[Middleware]:
    """Outermost first: headers -> request id -> decode count -> error layer -> CORS -> size -> auth -> access log."""
    settings = services.settings
    renderer = components.renderer
    stack = [
        Middleware(components.security_headers),
        Middleware(components.request_id),
    ]
    if settings.debug_jwt_decodes:
        stack.append(Middleware(DebugDecodesMiddleware))
    stack += [
        Middleware(components.error_layer, renderer=renderer),
        Middleware(components.cors, allowed_origins=settings.origins),
        Middleware(components.body_limit, max_body_bytes=settings.max_body_bytes, renderer=renderer),
        Middleware(components.auth, services=lambda: app.state.services),
        Middleware(components.access_log),
    ]
    return stack


def create_app(components: Components, services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await services.db.create_schema()
        yield
        await services.close()

    app = FastAPI(title="HealLog reference", version="1.0.0", lifespan=lifespan)
    app.state.services = services
    app.state.components = components
    app.user_middleware = build_middleware(app, components, services)
    app.dependency_overrides.update(components.dependency_overrides)
    components.install_error_handlers(app, components.renderer)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(patients.router)
    if not services.settings.is_production:
        app.include_router(debug.router)
    return app
