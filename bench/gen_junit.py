#!/usr/bin/env python3
"""Generate JUnit XML reports for the trail and trcli benchmarks.

Tests are spread over test suites of 100 tests each, like a pytest run over
many modules. About 10% fail with a multi-line Python traceback and about 1%
are skipped, and the rest pass. The output is deterministic for a given seed.

With ids (the default), test number k is named `C{first_id + k} ...`, so both
tools match it to an existing case by name. With --no-ids the names carry no
case id, so both tools create the cases.
"""

import argparse
import random
import sys
from xml.sax.saxutils import escape, quoteattr

TESTS_PER_SUITE = 100

VERBS = ["creates", "updates", "deletes", "lists", "rejects", "accepts", "exports", "imports"]
NOUNS = ["order", "invoice", "customer", "cart", "coupon", "refund", "shipment", "user", "token"]
QUALIFIERS = [
    "with valid input",
    "without permission",
    "when the cache is cold",
    "after a retry",
    "for an empty list",
    "with unicode names",
    "at the page boundary",
]

TRACEBACK = """\
self = <tests.{module}.{cls} object at 0x7f3a{addr:08x}>
client = <FlaskClient <Flask 'shop'>>

    def test_{func}(self, client):
        response = client.post("/api/{noun}s", json={{"id": {value}}})
>       assert response.status_code == 200
E       assert {status} == 200
E        +  where {status} = <WrapperTestResponse streamed [{status} {reason}]>.status_code

tests/{module}.py:{line}: AssertionError
----------------------------- Captured log call ------------------------------
WARNING  shop.api:{noun}s.py:{line2} {noun} {value} rejected: {reason_lower}
DEBUG    urllib3.connectionpool:connectionpool.py:546 http://db:5432 "POST /q HTTP/1.1" 200 12
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000, help="number of test cases")
    parser.add_argument("--first-id", type=int, default=1, help="case id of the first test")
    parser.add_argument("--no-ids", action="store_true", help="leave case ids out of test names")
    parser.add_argument(
        "--target-mb",
        type=float,
        default=0,
        help="repeat test suites until the file reaches this size in MB (10^6 bytes); "
        "overrides --tests",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--out", required=True, help="output file")
    return parser.parse_args()


def test_name(rng, number, with_ids, case_id):
    words = f"{rng.choice(VERBS)} {rng.choice(NOUNS)} {rng.choice(QUALIFIERS)} {number}"
    if with_ids:
        return f"C{case_id} test {words}"
    return f"test {words}"


def testcase_xml(rng, module, cls, name, number):
    """Return the <testcase> element of one test, outcome drawn from rng."""
    elapsed = round(rng.lognormvariate(-2.0, 1.2), 3)
    head = f'    <testcase classname="tests.{module}.{cls}" name={quoteattr(name)} time="{elapsed}"'
    roll = rng.random()
    if roll < 0.10:
        status, reason = rng.choice([(500, "INTERNAL SERVER ERROR"), (409, "CONFLICT"), (404, "NOT FOUND")])
        noun = rng.choice(NOUNS)
        body = TRACEBACK.format(
            module=module,
            cls=cls,
            addr=rng.getrandbits(32),
            func=name.split("test ", 1)[-1].replace(" ", "_"),
            noun=noun,
            value=number,
            status=status,
            reason=reason,
            reason_lower=reason.lower(),
            line=rng.randint(20, 400),
            line2=rng.randint(20, 400),
        )
        message = f"assert {status} == 200"
        return (
            f"{head}>\n"
            f"      <failure message={quoteattr(message)} type=\"AssertionError\">"
            f"{escape(body)}</failure>\n"
            f"      <system-out>{escape(f'starting {noun} fixture {number}')}</system-out>\n"
            f"    </testcase>\n"
        )
    if roll < 0.11:
        return (
            f"{head}>\n"
            f'      <skipped type="pytest.skip" message="needs the payments sandbox">'
            f"tests/{module}.py:12: needs the payments sandbox</skipped>\n"
            f"    </testcase>\n"
        )
    return f"{head}/>\n"


def suite_xml(rng, suite_index, first_number, count, with_ids, first_id):
    module = f"test_{NOUNS[suite_index % len(NOUNS)]}_{suite_index}"
    cls = f"Test{NOUNS[suite_index % len(NOUNS)].capitalize()}{suite_index}"
    cases = []
    for k in range(count):
        number = first_number + k
        name = test_name(rng, number, with_ids, first_id + number)
        cases.append(testcase_xml(rng, module, cls, name, number))
    failures = sum(1 for c in cases if "<failure" in c)
    skipped = sum(1 for c in cases if "<skipped" in c)
    return (
        f'  <testsuite name="tests.{module}" tests="{count}" failures="{failures}" '
        f'errors="0" skipped="{skipped}" time="{count * 0.2:.3f}">\n'
        + "".join(cases)
        + "  </testsuite>\n"
    )


def main():
    args = parse_args()
    rng = random.Random(args.seed)
    with_ids = not args.no_ids
    target_bytes = int(args.target_mb * 1_000_000)
    written = 0
    number = 0
    suite_index = 0
    with open(args.out, "w", encoding="utf-8") as out:
        header = '<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="pytest">\n'
        out.write(header)
        written += len(header)
        while True:
            if target_bytes:
                if written >= target_bytes:
                    break
                count = TESTS_PER_SUITE
            else:
                if number >= args.tests:
                    break
                count = min(TESTS_PER_SUITE, args.tests - number)
            text = suite_xml(rng, suite_index, number, count, with_ids, args.first_id)
            out.write(text)
            written += len(text.encode("utf-8"))
            number += count
            suite_index += 1
        out.write("</testsuites>\n")
    print(f"{args.out}: {number} tests, {written / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
