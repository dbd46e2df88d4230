"""Schemathesis against the API's own OpenAPI document: no 5xx, and every response matches its schema."""

from __future__ import annotations

import asyncio
from collections import Counter

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import make_settings
from tests.test_api import serve

EXAMPLES = 25  # per operation: about 700 requests, well under a minute on a laptop


def fuzz(spec: dict, base: str, token: str) -> Counter:
    """Generate requests for every operation and check each response; returns status counts (raises on a failure)."""
    schema = schemathesis.openapi.from_dict(spec)
    statuses: Counter = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                             phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @hypothesis.given(operation.as_strategy())
        def check(case):
            response = case.call(base_url=base, headers={"Authorization": f"Bearer {token}"})
            statuses[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        check()
    return statuses


def test_every_operation_answers_within_its_schema_and_never_with_a_server_error(tmp_path):
    settings = make_settings(tmp_path)
    seen: list[Counter] = []

    async def scenario(client, daemon):
        status, spec = await client.call("GET", "/openapi.json", role=None)
        assert status == 200
        # schemathesis is synchronous: it runs in a thread while the daemon's loop serves it.
        seen.append(await asyncio.to_thread(fuzz, spec, client.base, client.tokens["manager"]))

    serve(settings, tmp_path, scenario)
    statuses = seen[0]
    print(f"schemathesis: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
    assert not [s for s in statuses if s >= 500]
    assert statuses[200]  # not only refusals: real work was done through the API
    assert not statuses[400]  # what the document calls valid, the server's validator accepts
