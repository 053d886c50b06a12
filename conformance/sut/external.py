"""The external target: a SUT someone else runs, with the capabilities its options provide.

Each option enables one capability; without it the base class raises
:class:`~conformance.outcomes.NotRun` naming the option:

    --restart-cmd CMD      restart()       run CMD, then wait for health
    --sut-log-file PATH    log_mark/lines  a file the SUT writes (line offsets)
    --sut-log-cmd CMD      log_mark/lines  a command printing the SUT's log
    --peer-url URL         peer_url()      a second instance on the same stores
    --accounts FILE        privileged_account()  pre-provisioned credentials
    --seed-cmd CMD         privileged_account()  creates one ({email} {plan} {role}; password on stdin)
    --otp-cmd CMD          otp_code()      prints the code for {email}
    --fixed-otp CODE       otp_code()      the SUT pins every code
    --jwt-secret SECRET    jwt_secret      lets the harness sign tokens
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from conformance.outcomes import Inconclusive, NotRun
from conformance.sut import health
from conformance.sut.base import PrivilegedAccount, Target
from conformance.sut.errors import TargetError
from conformance.sut.logs import LogCommand, LogFile
from conformance.sut.otp import CommandOtp, FixedOtp
from conformance.sut.privileged import load_accounts_file, matching, new_credentials, render_seed_command, run_seed
from conformance.sut.process import render_command, run_bounded
from conformance.wire.target_watch import unwatched

if TYPE_CHECKING:
    from conformance.profile import Profile
    from conformance.sut import TargetSettings

RESTART_CMD_TIMEOUT = 300.0
#: What an external --seed-cmd may use (there is no data dir or port of ours to give it).
SEED_PLACEHOLDERS = ("email", "plan", "role")
#: The plugin's names for the log options (pytest owns --log-file).
LOG_OPTIONS = "--sut-log-file or --sut-log-cmd"
POLL_INTERVAL = 0.2


class ExternalTarget(Target):
    def __init__(self, settings: TargetSettings, profile: Profile) -> None:
        super().__init__(
            base_url=settings.base_url.rstrip("/"), profile=profile, mode="external", jwt_secret=settings.jwt_secret
        )
        self.settings = settings
        self.startup_timeout = settings.startup_timeout
        length = profile.accounts.otp_length
        self._otp = (
            FixedOtp(settings.fixed_otp)
            if settings.fixed_otp
            else (CommandOtp(settings.otp_cmd, length) if settings.otp_cmd else None)
        )
        self._log = (
            LogFile(settings.log_file)
            if settings.log_file
            else (LogCommand(settings.log_cmd) if settings.log_cmd else None)
        )
        self._accounts = (
            load_accounts_file(
                settings.accounts_file,
                default_plan=profile.accounts.default_plan,
                default_role=profile.accounts.default_role,
            )
            if settings.accounts_file
            else []
        )
        if settings.restart_cmd:
            render_command(settings.restart_cmd, {}, option="--restart-cmd")
        if settings.seed_cmd:
            render_seed_command(settings.seed_cmd, dict.fromkeys(SEED_PLACEHOLDERS, ""))
        self._seeded: dict[tuple[str | None, str | None], PrivilegedAccount] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Never the signing secret: reprs end up in failure reports."""
        return f"<{type(self).__name__} {self.base_url} {self.mode}>"

    @classmethod
    def open(cls, settings: TargetSettings, profile: Profile) -> ExternalTarget:
        """Check the options, then the SUT's health (``--health-timeout``, 5 s), then the peer's."""
        target = cls(settings, profile)
        health.preflight(target.base_url, profile, budget=settings.health_timeout, what="--base-url")
        if settings.peer_url:
            health.preflight(settings.peer_url.rstrip("/"), profile, budget=settings.health_timeout, what="--peer-url")
        return target

    def require(self, capability: str) -> None:
        given = {"restart": self.settings.restart_cmd, "peer": self.settings.peer_url, "logs": self._log is not None}
        if not given.get(capability):
            super().require(capability)

    # -- accounts -------------------------------------------------------
    def otp_code(self, email: str, *, timeout: float = 10.0) -> str:
        if self._otp is None:
            return super().otp_code(email, timeout=timeout)
        return self._otp.code(email, timeout)

    def privileged_account(self, *, plan: str | None = None, role: str | None = None) -> PrivilegedAccount:
        found = matching(self._accounts, plan, role)
        if found is not None:
            return found
        if not self.settings.seed_cmd:
            wanted = " and ".join(filter(None, (f"plan {plan}" if plan else "", f"role {role}" if role else "")))
            reason = f"no account with {wanted or 'any plan'}" + (" in --accounts" if self._accounts else "")
            options = "--accounts or --seed-cmd"
            if self.profile.authorization == "claims":  # the account factory can then mint with the secret
                options = "--accounts, --seed-cmd or --jwt-secret"
            raise NotRun(reason, option=options)
        with self._lock:
            if (plan, role) not in self._seeded:
                email, password = new_credentials("-".join(filter(None, (plan, role))) or "user")
                plan_, role_ = plan or self.profile.accounts.default_plan, role or self.profile.accounts.default_role
                run_seed(self.settings.seed_cmd, {"email": email, "plan": plan_, "role": role_}, password)
                self._seeded[(plan, role)] = PrivilegedAccount(email, password, plan_, role_)
            return self._seeded[(plan, role)]

    # -- logs -----------------------------------------------------------
    def log_mark(self) -> int:
        if self._log is None:
            raise NotRun("no access to the SUT's logs", option=LOG_OPTIONS)
        return self._log.mark()

    def log_lines(self, since: int = 0, *, settle: float = 0.3) -> list[str]:
        if self._log is None:
            raise NotRun("no access to the SUT's logs", option=LOG_OPTIONS)
        return self._log.lines(since, settle=settle)

    # -- process control --------------------------------------------------
    @unwatched
    def restart(self) -> None:
        """Run ``--restart-cmd``, wait until the health operation answers again, and confirm it restarted.

        A command that fails or times out, a SUT that does not come back, and a
        restart that evidently did not happen (a connection opened before it is
        still served by the same process afterwards) leave the requirement that
        needed the restart *inconclusive*: none of them is the SUT's verdict.
        """
        if not self.settings.restart_cmd:
            return super().restart()
        command = render_command(self.settings.restart_cmd, {}, option="--restart-cmd")
        witness = health.KeptConnection.open(self.base_url, self.profile)
        try:
            try:
                run_bounded(command, timeout=RESTART_CMD_TIMEOUT, check=True, what="--restart-cmd", leave_running=True)
            except TargetError as exc:
                raise Inconclusive(f"the SUT could not be restarted: {exc}") from None
            try:
                self._wait_healthy()
            except TargetError as exc:
                raise Inconclusive(str(exc)) from None
            if witness is not None and witness.still_served():
                raise Inconclusive(
                    "the restart could not be confirmed: a connection opened before --restart-cmd was still served "
                    "afterwards, so the process that answered it did not stop (if a proxy in front of the SUT keeps "
                    "client connections, point --base-url at the instance itself)"
                )
        finally:
            if witness is not None:
                witness.close()

    def _wait_healthy(self) -> None:
        url = health.health_url(self.base_url, self.profile)
        method = health.health_method(self.profile)
        deadline = time.monotonic() + self.startup_timeout
        with health.health_client(2.0) as client:
            while (reason := health.problem(client, method, url)) is not None:
                if time.monotonic() >= deadline:
                    raise TargetError(
                        f"after --restart-cmd, {url} was not healthy within {self.startup_timeout:g} s ({reason})"
                    )
                time.sleep(POLL_INTERVAL)

    def peer_url(self) -> str:
        if not self.settings.peer_url:
            return super().peer_url()
        return self.settings.peer_url.rstrip("/")
