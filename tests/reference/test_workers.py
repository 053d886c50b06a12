"""`serve --workers N`: several server processes on one port, one Redis, one SQLite file.

The shared-state tests pin each request to a worker: every client below holds
one keep-alive connection, and the server side of that connection is found
in /proc (which worker process holds the accepted socket). A write through
one worker and a read through another then show that the state lives in
Redis or SQLite and not in a process: the patient-id counter, the list
cache, lockout counters, rate-limit windows and revocations.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.reference.helpers import assert_envelope, error_code, login, new_account, register, unique_email
from tests.reference.server import ServerProcess, base_env, child_pids, free_port, is_alive

WORKERS = 2
#: Connections opened to find connections served by each worker (the kernel picks the worker).
CONNECTIONS = 16
#: The register limit of the shared server: a burst of twice as many must see exactly this many pass.
REGISTER_LIMIT = 8
STOP_SECONDS = 15.0


class WorkersServer(ServerProcess):
    """`python -m reference serve --workers 2`."""

    def spawn(self) -> None:
        self.port = free_port()
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "reference",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                    "--workers",
                    str(WORKERS),
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def workers(self) -> list[int]:
        """The server processes (children running multiprocessing's spawn entry point)."""
        pids = []
        for pid in child_pids(self.process.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                pids.append(pid)
        return pids

    def wait_workers(self, timeout: float = 60.0) -> list[int]:
        """Every worker is up once each one has accepted a connection; until then /health may be one of them."""
        deadline = time.monotonic() + timeout
        while len(self.workers()) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.workers()


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[dict[str, WorkersServer]]:
    """Three 2-worker servers booted in parallel: shared state, SIGTERM, SIGKILL."""
    root = tmp_path_factory.mktemp("workers")
    env = {
        "shared": base_env(RATE_LIMIT_LOGIN="10000/60", RATE_LIMIT_REGISTER=f"{REGISTER_LIMIT}/60"),
        "term": base_env(),
        "kill": base_env(),
    }
    started = {name: WorkersServer(root / name, settings) for name, settings in env.items()}
    try:
        for server in started.values():
            server.spawn()
        for server in started.values():
            server.wait_ready()
            server.wait_workers()
            server.children = child_pids(server.process.pid)
        yield started
    finally:
        for server in started.values():
            server.stop()
            for pid in server.survivors:
                os.kill(pid, signal.SIGKILL)


def server_socket_owner(server: WorkersServer, client_port: int) -> int | None:
    """The worker pid holding the server side of the loopback connection from ``client_port``."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        if (
            int(local.split(":")[1], 16) == server.port
            and int(remote.split(":")[1], 16) == client_port
            and state == "01"
        ):
            inode = fields[9]
    if inode is None:
        return None
    for pid in server.workers():
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if f"socket:[{inode}]" in links:
            return pid
    return None


def connections_by_worker(server: WorkersServer, source: str) -> tuple[dict[int, httpx.Client], list[httpx.Client]]:
    """One client per worker, each on a keep-alive connection from ``source`` that this worker accepted."""
    clients = [
        httpx.Client(base_url=server.base_url, timeout=30, transport=httpx.HTTPTransport(local_address=source))
        for _ in range(CONNECTIONS)
    ]
    owners: dict[int, httpx.Client] = {}
    for client in clients:
        response = client.get("/health")
        assert response.status_code == 200
        _host, port = response.extensions["network_stream"].get_extra_info("client_addr")
        owner = server_socket_owner(server, port)
        if owner is not None:
            owners.setdefault(owner, client)
    return owners, clients


@pytest.fixture(scope="module")
def by_worker(servers) -> Iterator[dict[int, httpx.Client]]:
    owners, clients = connections_by_worker(servers["shared"], "127.0.0.1")
    try:
        assert len(owners) == WORKERS, f"{CONNECTIONS} connections were all served by {list(owners)}"
        yield owners
    finally:
        for client in clients:
            client.close()


def test_every_worker_is_a_server_process_on_the_same_port(servers, by_worker):
    server = servers["shared"]
    assert sorted(by_worker) == sorted(server.workers())
    for client in by_worker.values():
        assert client.get("/health").json() == {"status": "healthy"}


def test_a_write_through_one_worker_is_read_through_the_other(by_worker):
    first, second = by_worker.values()
    account = new_account(first, "workers")
    listed = second.get("/api/patients/", headers=account.auth)  # fills the list cache on the second worker
    assert listed.status_code == 200 and listed.json() == []
    created = first.post("/api/patients/", json={"name": "Shared Patient"}, headers=account.auth)
    assert created.status_code == 201
    relisted = second.get("/api/patients/", headers=account.auth)
    assert [p["id"] for p in relisted.json()] == [created.json()["id"]], "the list cache is shared and invalidated"


def test_concurrent_creates_on_both_workers_get_distinct_patient_ids(by_worker):
    clients = list(by_worker.values())
    account = new_account(clients[0], "ids")

    def create(n: int) -> httpx.Response:
        return clients[n % len(clients)].post("/api/patients/", json={"name": f"Patient {n}"}, headers=account.auth)

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        responses = list(pool.map(create, range(12)))
    assert [r.status_code for r in responses] == [201] * 12
    ids = [r.json()["patient_id"] for r in responses]
    assert len(set(ids)) == 12, ids


def test_lockout_is_counted_across_workers(by_worker):
    clients = list(by_worker.values())
    email = unique_email("lock")

    def attempt(n: int) -> httpx.Response:
        return login(clients[n % len(clients)], email, "Wrong-Passw0rd!")

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        codes = [error_code(r) for r in pool.map(attempt, range(10))]
    assert codes.count("INVALID_CREDENTIALS") <= 5, codes
    assert set(codes) <= {"INVALID_CREDENTIALS", "ACCOUNT_LOCKED"}, codes
    for client in clients:  # locked for everyone, whichever worker answers
        assert_envelope(login(client, email, "Wrong-Passw0rd!"), 429, "ACCOUNT_LOCKED")


def test_a_rate_limit_window_is_shared_by_the_workers(servers):
    # From a source address of its own: the limit is per client IP, and the other tests register from 127.0.0.1.
    owners, opened = connections_by_worker(servers["shared"], "127.0.0.5")
    try:
        assert len(owners) == WORKERS
        clients = list(owners.values())
        for _attempt in range(2):  # a burst that straddles a window boundary proves nothing: once more
            window = int(time.time() // 60)
            burst = range(2 * REGISTER_LIMIT)
            statuses = [register(clients[n % len(clients)], unique_email("rate")).status_code for n in burst]
            if int(time.time() // 60) == window:
                break
    finally:
        for client in opened:
            client.close()
    assert statuses.count(201) == REGISTER_LIMIT and statuses.count(429) == REGISTER_LIMIT, statuses


def test_a_logout_on_one_worker_is_seen_by_the_other(by_worker):
    first, second = by_worker.values()
    account = new_account(first, "revoke")
    assert second.get("/api/users/me", headers=account.auth).status_code == 200
    assert first.post("/api/auth/logout", headers=account.auth).status_code == 200
    assert_envelope(second.get("/api/users/me", headers=account.auth), 401, "TOKEN_REVOKED")


def test_sigterm_stops_every_worker_and_the_embedded_redis(servers):
    server = servers["term"]
    assert len(server.workers()) == WORKERS and len(server.children) > WORKERS  # + redis-server
    assert server.stop(signal.SIGTERM) == 0
    assert server.survivors == [], "a child outlived SIGTERM"


def test_sigkill_of_the_parent_leaves_no_orphan(servers):
    server = servers["kill"]
    children = child_pids(server.process.pid)
    assert len(children) > WORKERS
    server.process.kill()
    server.process.wait(timeout=STOP_SECONDS)
    deadline = time.monotonic() + STOP_SECONDS
    while any(is_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in children if is_alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == [], "a worker or the embedded redis outlived its parent"
