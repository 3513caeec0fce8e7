"""Lighthouse mobile performance of the sign-in page and the pick page, the app served by gunicorn.

Run from the repository root:  .venv/bin/python benchmarks/lighthouse.py  [--runs 3] [--keep-reports DIR]

It builds a fresh SQLite database with the real migrations, seeds the medium dataset of benchmarks/web.py
(50 slots, 20 invitees) plus one invitee who has not opened their link yet, serves the app with
`gunicorn -w 2` on loopback (the helpers of benchmarks/web.py), and runs npm `lighthouse` (pinned below,
installed on first use into benchmarks/.node, git-ignored) with Debian's Chromium (CHROME_PATH, default
/usr/bin/chromium), headless, on Lighthouse's default mobile preset (Moto G Power screen, simulated slow 4G
and a 4x slower CPU), performance category only, on three pages:

- the sign-in page;
- the pick page on a first visit (the page detects the browser's time zone; Chromium runs with
  TZ=Europe/London, the calendar's zone, so the page must not load itself a second time);
- the pick page of an invitee who already answered (the zone they chose, no detection).

Each page is measured `--runs` times (default 3) and the median score is reported, with that run's
metrics and the opportunities Lighthouse still lists. The last line gives every score against the target
(>= 95); the exit status is 1 when a page misses it. Needs node and npm (Debian's `nodejs`, `npm`) and
`apt-get install -y chromium`. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web import DATASETS, ROOT, SECRET_KEY, app_env, fresh_database, gunicorn, http_request

LIGHTHOUSE_VERSION = "12.8.2"  # the newest that runs on Debian's Node 20 (13.x needs Node 22)
NODE_DIR = ROOT / "benchmarks" / ".node"
LIGHTHOUSE = NODE_DIR / "node_modules" / ".bin" / "lighthouse"
TARGET = 95
BROWSER_ZONE = "Europe/London"  # the seeded calendar's zone (tests/seeding.py)
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
METRICS = {"first-contentful-paint": "FCP", "largest-contentful-paint": "LCP", "total-blocking-time": "TBT",
           "cumulative-layout-shift": "CLS", "speed-index": "SI"}


@dataclass
class Page:
    label: str
    path: str


@dataclass
class Run:
    score: int
    metrics: dict[str, str]
    opportunities: list[str]
    documents: int  # HTML documents the page loaded (2 would be a second load)
    transfer_kib: float


def install_lighthouse() -> Path:
    """npm `lighthouse` at the pinned version, in benchmarks/.node (installed once)."""
    if LIGHTHOUSE.exists():
        return LIGHTHOUSE
    if shutil.which("npm") is None:
        raise SystemExit("npm is not installed: apt-get install -y npm")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    print(f"# installing lighthouse@{LIGHTHOUSE_VERSION} into {NODE_DIR.relative_to(ROOT)}", flush=True)
    subprocess.run(["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--loglevel=error",
                    f"lighthouse@{LIGHTHOUSE_VERSION}"], check=True)
    return LIGHTHOUSE


def seed_pages(database_url: str) -> list[Page]:
    """Migrate, seed the medium dataset and one invitee who never opened their link; the pages to measure."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from flask_migrate import upgrade
    from seeding import seed_owner_calendar

    from oneonone import create_app
    from oneonone.db_types import utcnow
    from oneonone.extensions import db
    from oneonone.scheduling.links import new_link
    from oneonone.scheduling.models import Invitee

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY,
                      "OUTBOX_DELIVERY": "off", "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        seeded = seed_owner_calendar("medium", **DATASETS["medium"])
        nonce, token, token_hash = new_link()
        db.session.add(Invitee(calendar_id=seeded.calendar_id, contact_id=seeded.uninvited_contact_ids[0],
                               token_hash=token_hash, link_nonce=nonce, link_issued_at=utcnow()))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return [Page("sign-in page", "/accounts/signin"),
            Page("pick page, first visit", f"/pick/{token}"),
            Page("pick page, answered", f"/pick/{seeded.pick_token}")]


def lighthouse(binary: Path, url: str, report: Path) -> Run:
    """One Lighthouse run (mobile preset, performance only) of `url`; its score and findings."""
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    env = {**os.environ, "CHROME_PATH": chrome, "TZ": BROWSER_ZONE}
    command = [str(binary), url, "--quiet", "--only-categories=performance", "--output=json",
               f"--output-path={report}", f"--chrome-flags={' '.join(CHROME_FLAGS)}"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not report.exists():
        raise RuntimeError(f"lighthouse failed on {url}:\n{done.stderr[-3000:]}")
    result = json.loads(report.read_text())
    if result.get("runtimeError"):
        raise RuntimeError(f"lighthouse could not load {url}: {result['runtimeError']}")
    audits = result["audits"]
    metrics = {short: audits[name]["displayValue"] for name, short in METRICS.items()}
    opportunities = []
    for audit in audits.values():
        details = audit.get("details") or {}
        savings = details.get("overallSavingsMs") or 0
        savings_bytes = details.get("overallSavingsBytes") or 0
        if details.get("type") == "opportunity" and (audit.get("score") or 0) < 1 and (savings or savings_bytes):
            opportunities.append(f"{audit['title']}: {savings:.0f} ms, {savings_bytes / 1024:.1f} KiB")
    requests = (audits.get("network-requests", {}).get("details") or {}).get("items", [])
    documents = sum(1 for item in requests if item.get("resourceType") == "Document")
    transfer = sum(item.get("transferSize") or 0 for item in requests) / 1024
    score = round(result["categories"]["performance"]["score"] * 100)
    return Run(score, metrics, opportunities, documents, transfer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page; the median counts")
    parser.add_argument("--keep-reports", type=Path, help="folder to keep Lighthouse's JSON reports in")
    args = parser.parse_args(argv)
    binary = install_lighthouse()
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# Lighthouse {version}, mobile preset, {args.runs} run(s) a page, Chromium "
          f"{os.environ.get('CHROME_PATH', '/usr/bin/chromium')}, TZ={BROWSER_ZONE}", flush=True)
    scores: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="oneonone-lighthouse-") as tmp:
        workdir = Path(tmp)
        reports = args.keep_reports or workdir
        reports.mkdir(parents=True, exist_ok=True)
        with fresh_database("sqlite", workdir, "") as url:
            pages = seed_pages(url)
            with gunicorn("app", "wsgi:app", app_env(url), workdir, "/accounts/signin") as server:
                base = f"http://127.0.0.1:{server.port}"
                for page in pages:
                    if (status := http_request(server.port, "GET", page.path).status) != 200:
                        raise RuntimeError(f"{page.label} ({page.path}) answered {status}")
                    runs = [lighthouse(binary, base + page.path,
                                       reports / f"{page.label.replace(' ', '-').replace(',', '')}-{n}.json")
                            for n in range(args.runs)]
                    median = statistics.median_low([run.score for run in runs])
                    run = next(run for run in runs if run.score == median)
                    scores[page.label] = median
                    print(f"\n## {page.label}: performance {median} (runs: "
                          f"{', '.join(str(r.score) for r in runs)})", flush=True)
                    print("  " + ", ".join(f"{name} {value}" for name, value in run.metrics.items())
                          + f"; {run.documents} HTML document(s), {run.transfer_kib:.1f} KiB transferred")
                    for line in run.opportunities or ["no opportunities left"]:
                        print(f"  - {line}")
    misses = [label for label, score in scores.items() if score < TARGET]
    summary = ", ".join(f"{label} {score}" for label, score in scores.items())
    print(f"\nlighthouse mobile performance: {summary} (target >= {TARGET}): "
          + (f"MISS ({', '.join(misses)})" if misses else "ok"))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
