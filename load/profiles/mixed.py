"""mixed: a realistic weighting of the contract's operations, with think time.

Mostly reads of one's own user and patients, some writes (create, update,
delete of patients the user created during the run, profile updates), token
refresh with rotation, an occasional login, health checks, a missing patient
(404 NOT_FOUND with its context, ENV-4) and a plan-guarded feature that
ordinary accounts are refused (403 PRO_REQUIRED). Each user has a session of
its own (provisioned per user), since refresh rotates its tokens.
"""

from __future__ import annotations

import random
import uuid

from locust import between, task

from conformance.checks import envelope
from load.common import RUN, ApiUser


class MixedUser(ApiUser):
    wait_time = between(0.05, 0.3)

    def on_start(self) -> None:
        super().on_start()
        accounts = RUN.accounts
        self.me_account = self.account()
        sessions = self.me_account["sessions"]
        session = sessions[(self.index // max(1, len(accounts))) % len(sessions)]
        self.access, self.refresh_token = session["access_token"], session["refresh_token"]
        self.provisioned = list(self.me_account["patients"])
        self.created: list[str] = []
        self.pro = self.privileged("pro")

    @task(2)
    def health(self) -> None:
        with self.call("health"):
            pass

    @task(10)
    def me(self) -> None:
        with self.call("me", token=self.access):
            pass

    @task(8)
    def list_patients(self) -> None:
        op = self.profile.operation("list_patients")
        path = op.path + ("?search=Load" if random.random() < 0.3 else "")
        with self.rest(op.method, path, token=self.access, name=op.path):
            pass

    @task(5)
    def get_patient(self) -> None:
        ids = self.provisioned + self.created
        if ids:
            with self.call("get_patient", token=self.access, path_params={"id": random.choice(ids)}):
                pass

    @task(1)
    def get_missing_patient(self) -> None:
        name = self.profile.operation("get_patient").path + " [missing]"
        with self.call(
            "get_patient", token=self.access, path_params={"id": uuid.uuid4().hex}, expect=(404,), name=name
        ) as resp:
            if resp.exchange is not None:
                self.verify(f"GET {name}", envelope.not_found_has_context, resp.exchange)

    @task(2)
    def create_patient(self) -> None:
        body = {"name": f"Load Patient {uuid.uuid4().hex[:6]}", "group": "load"}
        with self.call("create_patient", token=self.access, json=body, expect=(201,)) as resp:
            created = resp.exchange.response.json if resp.exchange is not None else None
            if resp.status_code == 201 and isinstance(created, dict) and "id" in created:
                self.created.append(created["id"])

    @task(1)
    def update_patient(self) -> None:
        if self.created:
            patient = random.choice(self.created)
            with self.call("update_patient", token=self.access, path_params={"id": patient}, json={"group": "updated"}):
                pass

    @task(1)
    def delete_patient(self) -> None:
        if self.created:
            with self.call("delete_patient", token=self.access, path_params={"id": self.created.pop()}):
                pass

    @task(1)
    def update_me(self) -> None:
        with self.call("update_me", token=self.access, json={"full_name": "Load Tester"}):
            pass

    @task(1)
    def refresh(self) -> None:
        with self.call("refresh", json={"refresh_token": self.refresh_token}) as resp:
            tokens = resp.exchange.response.json if resp.exchange is not None else None
            if resp.status_code == 200 and isinstance(tokens, dict) and "access_token" in tokens:
                self.access = tokens["access_token"]
                self.refresh_token = tokens.get("refresh_token", self.refresh_token)

    @task(1)
    def login(self) -> None:
        with self.call("login", **self.credentials(self.me_account["email"], self.me_account["password"])):
            pass

    @task(1)
    def pro_feature(self) -> None:
        if self.pro is not None and random.random() < 0.5:
            with self.call("pro_feature", token=self.pro["sessions"][0]["access_token"]):
                return
        with self.call("pro_feature", token=self.access, expect=(403,)) as resp:
            if resp.exchange is not None:
                self.verify(
                    self.label("pro_feature"),
                    envelope.status_matches_code,
                    resp.exchange,
                    self.profile,
                    expected_code="PRO_REQUIRED",
                )
