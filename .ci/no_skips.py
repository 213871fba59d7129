"""Fail (exit 1) when a JUnit report lists any skipped test, naming each one.

Usage: python .ci/no_skips.py artifacts/junit.xml. In CI every service the tests need is
present, so a skip means a test silently did not run.
"""

import sys
import xml.etree.ElementTree as ET

report = ET.parse(sys.argv[1]).getroot()  # noqa: S314 - our own pytest report
cases = list(report.iter("testcase"))
skipped = [case for case in cases if case.find("skipped") is not None]
for case in skipped:
    reason = case.find("skipped").get("message", "")
    print(f"SKIPPED {case.get('classname')}::{case.get('name')}: {reason}")
if not cases:
    print("the report lists no tests")
    sys.exit(1)
if skipped:
    print(f"{len(skipped)} of {len(cases)} tests were skipped; in CI every test must run.")
    sys.exit(1)
print(f"{len(cases)} tests, none skipped.")
