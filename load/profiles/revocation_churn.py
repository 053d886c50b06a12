"""revocation_churn: login, use, logout, reuse, which must be refused as revoked.

Each iteration writes a revocation to the shared store and reads it back on
the next request, so the profile loads the revocation path (REV-1, REV-2)
while checking it: the logged-out access token must get 401 TOKEN_REVOKED,
the logged-out refresh token must be refused by ``refresh``, and the
account's provisioned session, never logged out, must keep working.

Logins are what this profile repeats; against a SUT with a per-IP login rate
limit they would be refused (counted as failures): raise the limit for the
run (the embedded SUT gets a high one, see load.runner.load_sut_env).
"""

from __future__ import annotations

from locust import constant, task

from conformance.checks import revocation
from load.common import ApiUser


class RevocationChurnUser(ApiUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        super().on_start()
        self.me_path = self.profile.operation("me").path
        self.refresh_path = self.profile.operation("refresh").path

    @task
    def churn(self) -> None:
        account = self.account()
        with self.call("login", **self.credentials(account["email"], account["password"])) as resp:
            tokens = resp.exchange.response.json if resp.exchange is not None and resp.status_code == 200 else None
        if not isinstance(tokens, dict) or "access_token" not in tokens:
            return
        access, refresh = tokens["access_token"], tokens["refresh_token"]
        with self.call("me", token=access):
            pass
        with self.call("logout", token=access, json={"refresh_token": refresh}) as resp:
            if resp.status_code != 200:
                return
        name = f"{self.me_path} [revoked]"
        with self.call("me", token=access, expect=(401,), name=name) as resp:
            if resp.exchange is not None:
                self.verify(f"GET {name}", revocation.token_rejected_as_revoked, resp.exchange)
        name = f"{self.refresh_path} [revoked]"
        with self.call("refresh", json={"refresh_token": refresh}, expect=(401,), name=name) as resp:
            if resp.exchange is not None:
                self.verify(
                    f"POST {name}", revocation.refresh_refused, resp.exchange, what="a logged-out refresh token"
                )
        name = f"{self.me_path} [other session]"
        with self.call("me", token=account["sessions"][0]["access_token"], name=name) as resp:
            if resp.exchange is not None:
                self.verify(f"GET {name}", revocation.token_still_accepted, resp.exchange)
