"""auth_read: authenticated reads across the user, pro and role guard classes.

The profile behind the standard's "one JWT decode per request" claim: every
request carries a bearer token, so every response is checked for
``X-Debug-JWT-Decodes: 1`` (AUTH-1) besides the envelope and headers. The pro
and role classes are read with the pro and admin accounts when the run could
provision them, else with an ordinary account, whose 403 PRO_REQUIRED /
FORBIDDEN is then the expected answer: the guard still runs, and decodes.

No think time: the users read as fast as the SUT answers, so requests per
second and latency measure the cost of authentication itself.
"""

from __future__ import annotations

from locust import constant, task

from conformance.checks import envelope
from load.common import ApiUser


class AuthReadUser(ApiUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        super().on_start()
        account = self.account()
        self.token = account["sessions"][0]["access_token"]
        self.patients = account["patients"]
        self.pro = self.privileged("pro")
        self.admin = self.privileged("admin")

    @task(4)
    def me(self) -> None:
        with self.call("me", token=self.token):
            pass

    @task(2)
    def list_patients(self) -> None:
        with self.call("list_patients", token=self.token):
            pass

    @task(2)
    def get_patient(self) -> None:
        if not self.patients:
            return
        with self.call("get_patient", token=self.token, path_params={"id": self.patients[0]}):
            pass

    @task(1)
    def pro_feature(self) -> None:
        self.guarded_read("pro_feature", self.pro, "PRO_REQUIRED")

    @task(1)
    def list_users(self) -> None:
        self.guarded_read("list_users", self.admin, "FORBIDDEN")

    def guarded_read(self, operation: str, privileged: dict | None, refusal: str) -> None:
        """Read as the privileged account (200), or as an ordinary one (403 with ``refusal``)."""
        if privileged is not None:
            with self.call(operation, token=privileged["sessions"][0]["access_token"]):
                return
        with self.call(operation, token=self.token, expect=(403,)) as resp:
            if resp.status_code == 403:
                self.verify(
                    self.label(operation),
                    envelope.status_matches_code,
                    resp.exchange,
                    self.profile,
                    expected_code=refusal,
                )
