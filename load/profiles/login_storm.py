"""login_storm: failed logins spread over many throwaway accounts.

Deliberately the lockout path: every attempt but one per real account uses a
wrong password, on a small pool of emails that the users hit concurrently
(unknown emails created for this run, and the run's own provisioned
accounts), so the failure counter of each one is raced. Per email the ledger
checks the lockout invariant (LOCK-2: at most N attempts answered
INVALID_CREDENTIALS, none 5xx); once a real account has had N failures, its
right password must get 429 ACCOUNT_LOCKED with Retry-After (LOCK-1).

Rate limits are respected, not fought: a 429 RATE_LIMIT_EXCEEDED from the
per-IP limit is an expected answer (checked for Retry-After, RATE-1) and does
not count as a failed attempt. The embedded SUT runs with high limits so that
the storm reaches the lockout counter (see load.runner.load_sut_env).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from locust import constant, task

from conformance.checks import limits, lockout
from conformance.exchange import Exchange
from load.common import RUN, ApiUser

#: Emails under attack at any time: small, so several users race on each one.
POOL_SIZE = 4
#: Wrong-password attempts per email beyond the threshold before it is retired.
EXTRA_ATTEMPTS = 3


@dataclass
class AttackedEmail:
    email: str
    account: dict[str, Any] | None = None  # a real account of this run (LOCK-1 can be checked)
    attempts: list[Exchange] = field(default_factory=list)
    reported: bool = False
    right_password_tried: bool = False


class Ledger:
    """The emails under attack and every answer they got (shared by the users of this process)."""

    def __init__(self) -> None:
        self.pool: list[AttackedEmail] = []
        self.serial = 0
        self.real: list[dict[str, Any]] | None = None

    def pick(self) -> AttackedEmail:
        if self.real is None:
            # Each email is attacked from one load process only: a ledger sees every answer its email got.
            self.real = RUN.share(RUN.accounts)
        while len(self.pool) < POOL_SIZE:
            self.pool.append(self._fresh())
        return random.choice(self.pool)

    def retire(self, target: AttackedEmail) -> None:
        if target in self.pool:
            self.pool.remove(target)

    def _fresh(self) -> AttackedEmail:
        if self.real:
            account = self.real.pop()
            return AttackedEmail(account["email"], account)
        self.serial += 1
        run = RUN.data.get("run_id", "run")
        domain = RUN.data.get("email_domain", "example.com")
        return AttackedEmail(f"hlc-storm-{run}-{RUN.slot[0]}-{self.serial}@{domain}")


LEDGER = Ledger()


class LoginStormUser(ApiUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        super().on_start()
        self.threshold = self.profile.limits.lockout_threshold
        self.path = self.profile.operation("login").path

    @task
    def wrong_password(self) -> None:
        target = LEDGER.pick()
        name = f"{self.path} [wrong password]"
        with self.call(
            "login", name=name, expect=(401, 429), **self.credentials(target.email, "Wrong-Passw0rd!")
        ) as resp:
            if resp.exchange is None:
                return
            self.judge_refusal(resp.exchange, f"POST {name}")
            target.attempts.append(resp.exchange)
        if not target.reported and not self.verify(
            f"POST {name}", lockout.at_most_n_invalid_credentials, target.attempts, self.threshold
        ):
            target.reported = True
        if len(target.attempts) >= self.threshold + EXTRA_ATTEMPTS:
            LEDGER.retire(target)
            if target.account is not None and not target.right_password_tried:
                target.right_password_tried = True
                self.right_password_while_locked(target)

    def right_password_while_locked(self, target: AttackedEmail) -> None:
        """After N failures the right password is refused too: 429 ACCOUNT_LOCKED (LOCK-1)."""
        kinds = [lockout.answer_kind(e) for e in target.attempts]
        if kinds.count(lockout.FAILED) + kinds.count(lockout.LOCK) < self.threshold:
            return  # mostly rate-limited: the account may not be locked, no verdict
        name = f"{self.path} [locked, right password]"
        with self.call(
            "login", name=name, expect=(429,), **self.credentials(target.email, target.account["password"])
        ) as resp:
            if resp.exchange is not None:
                self.verify(f"POST {name}", lockout.account_locked, resp.exchange)

    def judge_refusal(self, exchange: Exchange, label: str) -> None:
        """A 429 must say which limit answered and when to retry."""
        kind = lockout.answer_kind(exchange)
        if kind == lockout.LIMITED:
            self.verify(label, limits.rate_limited, exchange, "RATE-1")
        elif kind == lockout.LOCK:
            self.verify(label, lockout.account_locked, exchange)
