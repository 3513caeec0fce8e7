"""Real processes for the load and fault tests: gunicorn, a private PostgreSQL, an SMTP sink, the
flask CLI, and a small HTTP client that behaves like a browser (cookie jar, CSRF token)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
from mailsink import MailServer, free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HTTP_TIMEOUT = 60.0  # 100 requests queued on 3 sync workers of a busy 2-core machine take a while
CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
VALUE = re.compile(r'\bvalue="([^"]+)"')
OUR_500_PAGE = "Something went wrong on our side"


SmtpSink = MailServer  # the suite's real SMTP sink (tests/mailsink.py)


class HangingSmtp:
    """A TCP server on loopback that accepts every connection and never says a word: an SMTP server
    that hangs. stop() closes the listener and every accepted connection, so a real SmtpSink can be
    started on the same port afterwards."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.accepted = 0
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> HangingSmtp:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        listener.settimeout(0.1)
        self._listener = listener
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._connections.append(connection)  # held open, never written to
            self.accepted += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.close()
        self._connections = []


def message_text(message) -> str:
    """The text/plain body of a message the SMTP sink received (transfer encoding undone)."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True) or b""
            return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return ""


def app_env(database_url: str, mail_port: int) -> dict[str, str]:
    """The environment of a gunicorn or flask process of the app under test."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TEST_", "PYTEST_"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY="load-test-secret-key", APP_ENV="development",
               SESSION_COOKIE_SECURE="0", RATELIMIT_ENABLED="0", MAIL_SERVER="127.0.0.1",
               MAIL_PORT=str(mail_port), OUTBOX_DELIVERY="thread", PYTHONUNBUFFERED="1",
               OWNER_DAILY_EMAIL_LIMIT="1000000")  # one owner here sends more than a day's quota on purpose
    return env


def _tool(name: str) -> str:
    """A command installed in this virtualenv (gunicorn, flask)."""
    path = BIN / name
    if not path.exists():
        raise RuntimeError(f"{name} is not installed next to {sys.executable}")
    return str(path)


# ---- gunicorn -----------------------------------------------------------------------------------

def _children(pid: int) -> set[int]:
    children = set()
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(stat) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.add(int(stat.split("/")[2]))
    return children


class Gunicorn:
    """`gunicorn -w N wsgi:app` on a free loopback port; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 3) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "PUBLIC_URL": self.url}
        self.log_path = log_path
        self.workers = workers
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 45.0) -> Gunicorn:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        command = [_tool("gunicorn"), "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
                   # The app is imported once and forked, so workers start in a second, not in three.
                   # A forked worker then takes seconds to tear its copy of the interpreter down; nothing
                   # is in flight by then, so the master need not wait for it.
                   "--preload", "--no-control-socket", "--timeout", "30", "--graceful-timeout", "1",
                   "--access-logfile", "-", "--logger-class", "oneonone.gunicorn_logging.MaskingLogger",
                   "wsgi:app"]
        self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/accounts/signin", timeout=2) as response:
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {timeout:g}s:\n{self.log()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def worker_pids(self) -> set[int]:
        return _children(self.pid) if self.alive() else set()

    def log(self, tail: int | None = 8000) -> str:
        """gunicorn's output (its last `tail` characters; None for all of it)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text if tail is None else text[-tail:]

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)  # our own session: master and workers
                    self.process.wait(timeout=15)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


# ---- the flask CLI ------------------------------------------------------------------------------

@dataclass
class CliRun:
    args: tuple[str, ...]
    returncode: int
    output: str
    seconds: float


class FlaskCommands:
    """`flask --app wsgi <args>` processes started together, in the background, then waited for."""

    def __init__(self, env: dict[str, str], commands: list[tuple[str, ...]], workdir: Path) -> None:
        self.started = []
        for args in commands:
            out = tempfile.TemporaryFile(dir=workdir)  # noqa: SIM115 - closed in wait()
            process = subprocess.Popen([_tool("flask"), "--app", "wsgi", *args], cwd=REPO, env=env,
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            self.started.append((args, process, out, time.monotonic()))

    def wait(self, timeout: float = 90.0) -> list[CliRun]:
        runs = []
        for args, process, out, began in self.started:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            out.seek(0)
            runs.append(CliRun(args, process.returncode, out.read().decode(errors="replace"),
                               time.monotonic() - began))
            out.close()
        self.started = []
        return runs


def run_flask_concurrently(env: dict[str, str], commands: list[tuple[str, ...]],
                           workdir: Path) -> list[CliRun]:
    """Start `flask --app wsgi <args>` once per command, all at the same moment; wait for every one."""
    return FlaskCommands(env, commands, workdir).wait()


# ---- a private PostgreSQL server ----------------------------------------------------------------

def postgres_bindir() -> Path | None:
    """The PostgreSQL server binaries (initdb, pg_ctl), newest version first."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(re.search(r"/(\d+)/bin/", p).group(1)), reverse=True)
    candidates += [p for p in [shutil.which("pg_ctl")] if p]
    for path in candidates:
        bindir = Path(path).parent
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    return None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on its own port, which a test may stop and start at will."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="oneonone-pg-"))
        self.data = self.root / "data"
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.user = pwd.getpwnam("postgres")
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self.running = False

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        as_user = {}
        if self.user is not None:
            as_user = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        with open(self.root / "commands.log", "ab") as out:
            result = subprocess.run([str(self.bindir / args[0]), *args[1:]], cwd=self.root,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    timeout=timeout, check=False, env={**os.environ, "LC_ALL": "C"},
                                    **as_user)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{self.log()}")

    def log(self) -> str:
        text = ""
        for name in ("commands.log", "postgres.log"):
            with contextlib.suppress(OSError):
                text += (self.root / name).read_text(errors="replace")[-4000:]
        return text

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C", "--no-sync")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "postgres.log"), "-w", "-t", "60",
                  "-o", options, "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def cleanup(self) -> None:
        if self.running:
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# ---- HTTP like a browser ------------------------------------------------------------------------

@contextlib.contextmanager
def browser(cookies: dict[str, str] | None = None) -> Iterator[requests.Session]:
    """A fresh cookie jar (one visitor); closed afterwards so no socket is left open."""
    with requests.Session() as session:
        for name, value in (cookies or {}).items():
            session.cookies.set(name, value, domain="127.0.0.1", path="/")
        yield session


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    field = CSRF_INPUT.search(html)
    value = VALUE.search(field.group(0)) if field else None
    assert value, "no csrf_token field on the page"
    return value.group(1)


def sign_in(session: requests.Session, base_url: str, email_address: str, password: str) -> None:
    """Sign in through the real form (GET for the CSRF token, then POST)."""
    page = session.get(f"{base_url}/accounts/signin", timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, page.status_code
    response = session.post(f"{base_url}/accounts/signin", timeout=HTTP_TIMEOUT, allow_redirects=False,
                            data={"email": email_address, "password": password,
                                  "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302, (response.status_code, response.text[:2000])


@dataclass
class Outcome:
    """One HTTP request as a client saw it."""

    label: str
    started: float
    seconds: float
    status: int | None = None
    error: str | None = None
    body: str = ""
    location: str = ""
    extra: dict = field(default_factory=dict)


def timed(label: str, call: Callable[[], requests.Response], **extra) -> Outcome:
    """Run one request; a timeout or a refused connection is recorded, not raised."""
    began = time.monotonic()
    try:
        response = call()
    except requests.RequestException as error:
        return Outcome(label, began, time.monotonic() - began, error=f"{type(error).__name__}: {error}",
                       extra=extra)
    return Outcome(label, began, time.monotonic() - began, response.status_code, body=response.text,
                   location=response.headers.get("Location", ""), extra=extra)


def run_together(count: int, work: Callable[[int, threading.Barrier], object],
                 timeout: float = 120.0) -> list:
    """Run work(i, barrier) in `count` threads that meet at the barrier first; returns results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = work(i, barrier)
        except BaseException as error:
            failures.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    if failures:
        raise failures[0]
    return results


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values lie (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def summary(outcomes: list[Outcome]) -> str:
    """A one-line count and latency summary for the test's report."""
    statuses = Counter(o.status if o.status is not None else "error" for o in outcomes)
    seconds = [o.seconds for o in outcomes]
    return (f"{len(outcomes)} requests, statuses {dict(statuses)}, "
            f"p50 {percentile(seconds, 0.5) * 1000:.0f} ms, p95 {percentile(seconds, 0.95) * 1000:.0f} ms, "
            f"max {max(seconds, default=0) * 1000:.0f} ms")
