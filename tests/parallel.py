"""Real parallel transactions for race tests (PostgreSQL: SQLite serialises every writer on
the whole file, which would prove nothing)."""

import threading

import pytest
from django.db import connection, connections


@pytest.fixture(autouse=True)
def postgres_only():
    """Import into a race-test module (`from tests.parallel import postgres_only`)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real parallel transactions")


def run_in_parallel(*calls):
    """Start every call at the same instant in its own thread (own DB connection).

    Returns each call's result or the exception it raised, in order.
    """
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # collected and asserted on by the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
