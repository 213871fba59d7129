"""Load for bench/load/run.py: one page at a time (PageUser), or the mix (LearnerUser,
MentorUser, HealthUser).

One page under load: BENCH_URL, requested back to back by every simulated user.

Driven by bench/load/run.py (one locust run per page, so each page's figures and the
/healthz baseline come from the same server in the same session). Each user holds a session
made as login() makes it (accounts rotate over BENCH_SESSIONS) and, like a browser, sends
back the CSRF cookie of its first response. It requests the page with no think time (a
closed loop, the harshest load 20 users can make) or BENCH_THINK seconds apart.

The mix (`run.py --mix`): BENCH_MIX holds one entry per account (made by probe.py
`mix`): its session and the pages it works with. Learners read their home, the lab page of
the lab they are on and their cohort's schedule; mentors their home, their queue and the
review page of one of their cohort's submissions. Each waits BENCH_THINK seconds between
requests, and BENCH_WRITE_SHARE of the requests are comments, posted as the page's form
posts them (the learner's thread form; the mentor's "Post message" on the review page),
which change what the cached pages of that learner and mentor show. One HealthUser asks
for /healthz once a second: what a request that does no work waits in the same run.

Cookies are kept by hand rather than by locust's cookie jar: the jar (Python's
http.cookiejar) parses every Set-Cookie (Django renews the CSRF cookie on each page), which
cost the load generator, on the same two cores as the server, about a tenth of a page's
throughput. A browser does that in native code; the server's work is the same either way.
"""

import collections
import itertools
import json
import os
import random
import time
from http.cookies import SimpleCookie
from urllib.parse import quote_plus

import gevent
from locust import FastHttpUser, between, constant, events, task

URL = os.environ.get("BENCH_URL", "/")
NAME = os.environ.get("BENCH_NAME", URL)
# Session ids made by probe.py as login() would: signing in (PBKDF2) is not what is measured.
SESSIONS = json.loads(os.environ.get("BENCH_SESSIONS", "[]"))
COOKIE_NAME = os.environ.get("BENCH_COOKIE", "sessionid")
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "0"))  # 0: bounded by time only
# "a,b": each user waits a..b seconds between requests (people reading the page);
# unset: no wait at all (a closed loop that measures throughput).
THINK = os.environ.get("BENCH_THINK", "")
_next_session = itertools.count()


class PageUser(FastHttpUser):
    wait_time = between(*map(float, THINK.split(","))) if THINK else constant(0)

    def on_start(self):
        self.client.client.cookiejar = None  # see the module docstring
        self.headers = {}
        if SESSIONS:
            session = SESSIONS[next(_next_session) % len(SESSIONS)]
            self.headers = {"Cookie": f"{COOKIE_NAME}={session}"}
            first = self.client.get(URL, name="first visit", headers=self.headers)
            cookies = SimpleCookie(first.headers.get("Set-Cookie", ""))
            if "csrftoken" in cookies:
                self.headers["Cookie"] += f"; csrftoken={cookies['csrftoken'].value}"
        if THINK:
            # People do not all click at the same instant: start each user somewhere in its
            # first think time, or the 20 simultaneous first requests (8 % of a 20-second
            # run) queue behind each other and become the p95.
            gevent.sleep(random.uniform(0, float(THINK.split(",")[-1])))

    @task
    def page(self):
        with self.client.get(
            URL, name=NAME, headers=self.headers, catch_response=True, allow_redirects=False
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
        if MAX_REQUESTS and self.environment.stats.get(NAME, "GET").num_requests >= MAX_REQUESTS:
            self.environment.runner.quit()


# --- the mix ------------------------------------------------------------------------------

MIX = json.loads(os.environ.get("BENCH_MIX", "{}"))
WRITE_SHARE = float(os.environ.get("BENCH_WRITE_SHARE", "0.05"))
MIX_THINK = [float(x) for x in (THINK or "0.5,1.5").split(",")]
_next_account = {"learner": itertools.count(), "mentor": itertools.count()}


class _MixUser(FastHttpUser):
    abstract = True
    role = ""
    pages: tuple = ()
    wait_time = between(*MIX_THINK)

    def on_start(self):
        self.client.client.cookiejar = None  # see the module docstring
        accounts = MIX[self.role]
        self.account = accounts[next(_next_account[self.role]) % len(accounts)]
        self.headers = {"Cookie": f"{COOKIE_NAME}={self.account['session']}"}
        first = self.client.get(self.account["home"], name="first visit", headers=self.headers)
        cookies = SimpleCookie(first.headers.get("Set-Cookie", ""))
        self.csrf = cookies["csrftoken"].value if "csrftoken" in cookies else ""
        if self.csrf:
            self.headers["Cookie"] += f"; csrftoken={self.csrf}"
        gevent.sleep(random.uniform(0, MIX_THINK[1]))  # users do not all start at once

    @task
    def act(self):
        if random.random() < WRITE_SHARE:
            self.comment()
        else:
            page = random.choice(self.pages)
            self.get(f"{self.role} {page}", self.account[page])

    def get(self, name: str, url: str):
        with self.client.get(
            url, name=name, headers=self.headers, catch_response=True, allow_redirects=False
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")

    def post(self, name: str, url: str, data: dict):
        headers = dict(
            self.headers,
            Referer=f"{self.host}{url}",
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )
        body = "&".join(f"{k}={quote_plus(v)}" for k, v in data.items())
        with self.client.post(
            url, name=name, data=body, headers=headers, catch_response=True, allow_redirects=False
        ) as response:
            # A form post answers with a redirect to the page (the browser then reads it,
            # which the next request of this user does in its own right).
            if response.status_code != 302:
                response.failure(f"status {response.status_code}")


class LearnerUser(_MixUser):
    role = "learner"
    pages = ("home", "lab", "schedule")
    weight = int(os.environ.get("BENCH_LEARNER_WEIGHT", "3"))

    def comment(self):
        body = f"Question {random.randrange(1 << 30)}: is the benchmark section what you meant?"
        self.post(
            "comment (learner)",
            self.account["comment_url"],
            {"csrfmiddlewaretoken": self.csrf, "body": body},
        )


class MentorUser(_MixUser):
    role = "mentor"
    pages = ("home", "queue", "review")
    weight = int(os.environ.get("BENCH_MENTOR_WEIGHT", "1"))

    def comment(self):
        body = f"Note {random.randrange(1 << 30)}: please add the measurements for the big input."
        self.post(
            "comment (mentor)",
            self.account["review"],
            {"csrfmiddlewaretoken": self.csrf, "message": body, "action": "message"},
        )


class HealthUser(FastHttpUser):
    """/healthz once a second: the floor a request waits in the same run."""

    fixed_count = 1
    wait_time = constant(1)

    @task
    def healthz(self):
        self.client.get("/healthz", name="healthz")


# Response times (ms) of the mix by the wall-clock second each ended in: a p95 over the
# whole run cannot tell a server that got slower from one that stalled for two seconds.
_by_second: dict[int, list[float]] = collections.defaultdict(list)


@events.request.add_listener
def _record_second(name, response_time, **kwargs):
    if MIX and name != "first visit":
        _by_second[int(time.time())].append(response_time)


def _slowest_seconds(count: int = 5) -> dict:
    """The seconds whose slowest response was slowest, and how many seconds had one over
    150 ms (the mix's goal): a few such seconds in a row is a stall."""
    seconds = []
    for second, times in _by_second.items():
        times.sort()
        seconds.append(
            {
                "at": time.strftime("%H:%M:%S", time.gmtime(second)),
                "requests": len(times),
                "p50_ms": round(times[len(times) // 2]),
                "max_ms": round(times[-1]),
            }
        )
    seconds.sort(key=lambda s: s["max_ms"], reverse=True)
    return {
        "seconds": len(seconds),
        "over_150_ms": sum(1 for s in seconds if s["max_ms"] > 150),
        "slowest": seconds[:count],
    }


def _mix_report(environment, out: str) -> None:
    stats = environment.stats
    result = {
        "pages": {},
        "errors": [str(e.error) for e in stats.errors.values()][:10],
        "by_second": _slowest_seconds(),
    }
    for (name, method), entry in sorted(stats.entries.items()):
        if name == "first visit" or not entry.num_requests:
            continue
        duration = max(entry.last_request_timestamp - entry.start_time, 1e-9)
        result["pages"][name] = {
            "method": method,
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": entry.num_requests / duration,
            "p50_ms": entry.get_response_time_percentile(0.5),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "max_ms": entry.max_response_time,
        }
    total = stats.total
    if total.num_requests:
        duration = max(total.last_request_timestamp - total.start_time, 1e-9)
        result["total"] = {
            "requests": total.num_requests,
            "failures": total.num_failures,
            "rps": total.num_requests / duration,
            "p50_ms": total.get_response_time_percentile(0.5),
            "p95_ms": total.get_response_time_percentile(0.95),
        }
    with open(out, "w") as fh:
        json.dump(result, fh)


@events.test_stop.add_listener
def _report(environment, **kwargs):
    out = os.environ.get("BENCH_RESULT")
    if not out:
        return
    if MIX:
        _mix_report(environment, out)
        return
    entry = environment.stats.get(NAME, "GET")
    duration = (
        max(entry.last_request_timestamp - entry.start_time, 1e-9) if entry.num_requests else 0
    )
    result = {
        "name": NAME,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": entry.num_requests / duration if duration else 0.0,
        "p50_ms": entry.get_response_time_percentile(0.5) if entry.num_requests else None,
        "p95_ms": entry.get_response_time_percentile(0.95) if entry.num_requests else None,
        "max_ms": entry.max_response_time if entry.num_requests else None,
        "errors": [str(e.error) for e in environment.stats.errors.values()][:5],
    }
    with open(out, "w") as fh:
        json.dump(result, fh)
