"""The scrubber, tested on real events: the ones sentry-sdk builds from real requests."""

import json
import os

from stackapp.scrubbing import FILTERED, scrub

SECRET_HEADERS = {
    "Authorization": "Bearer sk-live-abcdef123456",
    "Cookie": "session=s3cr3t-session-id; theme=dark",
    "X-Api-Key": "key-0987654321",
}


def test_secrets_in_a_real_request_never_reach_sentry(client, recorded):
    client.get("/error?password=hunter2&q=shoes&api_key=k-111", headers=SECRET_HEADERS)
    [event] = recorded.events
    sent = json.dumps(event)
    for secret in ("sk-live-abcdef123456", "s3cr3t-session-id", "key-0987654321", "hunter2", "k-111"):
        assert secret not in sent, f"{secret} reached Sentry"
    assert "q=shoes" in event["request"]["query_string"], "harmless data must survive"
    assert event["exception"]["values"][-1]["type"] == "ValueError"


def test_secrets_in_frame_locals_and_breadcrumbs_are_masked(recorded):
    import logging

    import sentry_sdk

    logging.getLogger("stackapp").info("login with token=abc.def.ghi for alice")

    def handler(password, db_url):
        raise RuntimeError("boom")

    # Made at run time: a literal would also appear in the frame's source lines, which are not locals.
    password, pg_password = os.urandom(8).hex(), os.urandom(8).hex()
    try:
        handler(password, f"postgres://app@db/app?password={pg_password}")
    except RuntimeError as error:
        sentry_sdk.capture_exception(error)
    [event] = recorded.events
    frame = event["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "handler"
    assert frame["vars"]["password"] == FILTERED
    assert pg_password not in frame["vars"]["db_url"]
    assert frame["vars"]["db_url"].startswith("'postgres://app@db/app?password=")
    assert password not in json.dumps(event) and pg_password not in json.dumps(event)
    crumbs = json.dumps(event["breadcrumbs"])
    assert "login with token=" in crumbs and "abc.def.ghi" not in crumbs


def test_scrub_masks_by_key_and_inside_strings_and_keeps_the_rest():
    event = {
        "request": {"headers": [["Authorization", "Basic dXNlcjpwYXNz"], ["Accept", "text/html"]]},
        "extra": {"client_secret": "xyz", "nested": {"refresh_token": "r-1", "count": 3}},
        "message": "retry with Bearer abc123 and password: hunter2",
    }
    clean = scrub(event)
    assert clean["request"]["headers"] == [["Authorization", FILTERED], ["Accept", "text/html"]]
    assert clean["extra"] == {"client_secret": FILTERED, "nested": {"refresh_token": FILTERED, "count": 3}}
    assert "abc123" not in clean["message"] and "hunter2" not in clean["message"]
    assert event["extra"]["client_secret"] == "xyz", "the original event is not modified"
