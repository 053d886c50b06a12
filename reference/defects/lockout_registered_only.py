"""LOCK-1: only failed logins of registered accounts are counted; an email without an account is never locked.

Every account the probes lock is locked as before, so the probes that lock a
registered account pass; an unknown email is answered INVALID_CREDENTIALS for
ever, which also tells an attacker which emails have accounts (after N failures
only those answer ACCOUNT_LOCKED).
"""

from reference.lockout import LoginFailures


class RegisteredOnly(LoginFailures):
    async def record(self, lockout, account: str, *, registered: bool) -> int:
        if not registered:
            return 0
        return await lockout.record_failure(account)


def apply(components) -> None:
    components.login_failures = RegisteredOnly()
