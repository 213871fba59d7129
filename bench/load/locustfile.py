"""One page under load: BENCH_URL, requested back to back by every simulated user.

Driven by bench/load/run.py (one locust run per page, so each page's figures and the
/healthz baseline come from the same server in the same session). Each user holds a session
made as login() makes it (accounts rotate over BENCH_SESSIONS) and, like a browser, sends
back the CSRF cookie of its first response. It requests the page with no think time (a
closed loop, the harshest load 20 users can make) or BENCH_THINK seconds apart.

Cookies are kept by hand rather than by locust's cookie jar: the jar (Python's
http.cookiejar) parses every Set-Cookie (Django renews the CSRF cookie on each page), which
cost the load generator, on the same two cores as the server, about a tenth of a page's
throughput. A browser does that in native code; the server's work is the same either way.
"""

import itertools
import json
import os
import random
from http.cookies import SimpleCookie

import gevent
from locust import FastHttpUser, between, constant, events, task

URL = os.environ["BENCH_URL"]
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


@events.test_stop.add_listener
def _report(environment, **kwargs):
    entry = environment.stats.get(NAME, "GET")
    out = os.environ.get("BENCH_RESULT")
    if not out:
        return
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
