"""Seeded random requests of legitimate clients, each sent through the proxy and straight to
the origin: the proxy must take what the origin takes, refuse what it refuses, and do what it
does (`harness/random_requests.py` makes them, `harness/differential.py` compares them). And
respellings of a signed request's path and query (`harness/respellings.py`): each the proxy
forwards must act on the object that was signed, no other.

RANDOM_DIFFERENTIAL_SEED picks another seed, RANDOM_DIFFERENTIAL_CASES another number of
random requests (for every origin), RANDOM_DIFFERENTIAL_ONLY=3,17 replays those cases."""

import itertools
import os
import random
import uuid

import pytest

from harness.clients import RawRequest, presign, quote_key, raw_listing, send, sign_header
from harness.differential import Side, differences, populate, run, stored
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET
from harness.random_requests import ORIGINS, make_case, not_canonical
from harness.respellings import DOT_FAMILIES, FAMILIES, respellings

SEED = int(os.environ.get("RANDOM_DIFFERENTIAL_SEED", "20261201"))
# About 30 s in all here with the respellings below (a minute on a loaded machine).
CASES = {"s3s-fs": 100, "garage": 50, "ceph": 50, "minio": 50}


def case_numbers(kind: str) -> list[int]:
    only = os.environ.get("RANDOM_DIFFERENTIAL_ONLY")
    if only:
        return [int(n) for n in only.split(",")]
    return list(range(int(os.environ.get("RANDOM_DIFFERENTIAL_CASES", CASES[kind]))))


def fresh_bucket(admin) -> str:
    """A bucket per side and case: what one request did (or an origin quirk left behind) is
    not met by the next. The names have the length `Origin.max_key_bytes` counts on."""
    name = f"rd-{uuid.uuid4().hex[:12]}"
    admin.create_bucket(Bucket=name)
    return name


def replay(n: int, kind: str) -> str:
    return (f"  replay: RANDOM_DIFFERENTIAL_SEED={SEED} RANDOM_DIFFERENTIAL_ONLY={n} .tools/venv/bin/python "
            f"-m pytest test-harness/test_random_differential.py -k 'random_requests and {kind}'")


@pytest.mark.every_origin
def test_random_requests_do_through_the_proxy_what_they_do_at_the_origin(proxy, origin, origin_s3):
    admin = raw_listing(origin_s3)
    failures, counts = [], {}
    for n in case_numbers(origin.kind):
        try:
            kind, failure = differential_case(n, proxy, origin, admin)
        except Exception as e:  # the harness or an origin failed: still a case to replay
            kind, failure = "error", f"seed {SEED} case {n}: {type(e).__name__}: {e}"
        counts[kind] = counts.get(kind, 0) + 1
        if failure:
            failures.append(failure + "\n" + replay(n, origin.kind))
    print(f"\n{origin.kind}, seed {SEED}: {sum(counts.values())} cases: {sorted(counts.items())}")
    assert not failures, f"{len(failures)} of {sum(counts.values())} cases differ:\n" + "\n".join(failures)


def differential_case(n: int, proxy, origin, admin) -> tuple[str, str | None]:
    """Case `n` sent straight to the origin and through the proxy: its kind, and how the two
    differ (None when they do not)."""
    traits = ORIGINS[origin.kind]
    # the same request, made for each side's bucket
    bucket = fresh_bucket(admin)
    case = make_case(SEED, n, bucket, traits)
    populate(admin, bucket, case)
    sigver = case.sigver
    if sigver != "s3v4" and case.bucket_level and traits.sigv2_bucket_as_sent:
        # boto3's own SigV2 bucket-level requests are refused by s3s-fs (see
        # `Origin.sigv2_bucket_as_sent`): what the origin does with the call, signed with
        # SigV4, is what the proxy must do with it.
        sigver = "s3v4"
    direct = run(Side("origin", origin.authority, origin.access_key, origin.secret_key, origin.region), case, sigver)
    stored_direct = stored(admin, bucket, case)

    bucket = fresh_bucket(admin)
    case = make_case(SEED, n, bucket, traits)
    populate(admin, bucket, case)
    before = proxy.origin_requests()
    proxied = run(Side("proxy", proxy.authority, CLIENT_KEY, CLIENT_SECRET, "us-east-1"), case, case.sigver)
    forwarded = proxy.origin_requests() > before
    stored_proxied = stored(admin, bucket, case)

    why = not_canonical(proxied.sent, case.headers) if case.kind == "raw" else None
    if why:
        # Signed over bytes that are not SigV4's canonical form: S3 and Garage refuse it, and
        # so must the proxy, itself. s3s-fs 0.14.1 checks the path and query as sent, and takes
        # some. (A HEAD answer has no body to name the error.)
        found = []
        code = None if case.method == "HEAD" else "SignatureDoesNotMatch"
        if (proxied.status, proxied.code) != (403, code) or forwarded:
            found.append(f"{why}: the proxy must refuse it itself, 403 {code}")
        if direct.ok and origin.kind != "s3s-fs":
            found.append(f"{why}: {origin.kind} took it")
        kind = f"not canonical, refused ({why})"
    else:
        found = differences(direct, proxied, stored_direct, stored_proxied)
        kind = case.tag
    if not found:
        return kind, None
    return kind, (
        f"seed {SEED} case {n} ({case.tag}, key {case.key!r}): {'; '.join(found)}\n"
        f"  origin: {direct.status} {direct.code} {direct.says[:200]!r} {direct.sent[:300]}\n"
        f"  proxy:  {proxied.status} {proxied.code} {proxied.says[:200]!r} {proxied.sent[:300]}"
        + (f"\n  stored at the origin: {stored_direct}\n  stored through the proxy: {stored_proxied}"
           if stored_direct != stored_proxied else ""))


def sizes(admin, bucket: str) -> dict[str, int]:
    """Every key in the bucket with its size: each write of the test below has a length of its
    own, so the sizes say which object each write reached (and s3s-fs lists no ETags)."""
    listed = admin.list_objects_v2(Bucket=bucket)
    assert not listed["IsTruncated"]
    return {o["Key"]: o["Size"] for o in listed.get("Contents", [])}


@pytest.mark.every_origin
@pytest.mark.parametrize("signing", ["presigned", "header"])
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_respellings_of_a_signed_request_act_on_its_key_or_are_refused(proxy, origin, origin_s3, method, signing):
    admin = raw_listing(origin_s3)
    bucket = fresh_bucket(admin)
    families = FAMILIES + ([] if ORIGINS[origin.kind].keys_as_files else DOT_FAMILIES)
    for key in (k for family in families for k in family):
        admin.put_object(Bucket=bucket, Key=key, Body=f"body of {key}".encode())
    rng = random.Random(f"{SEED}:respellings:{method}:{signing}")
    failures, forwarded_kinds, refused = [], {}, 0
    held = sizes(admin, bucket)  # changed only by what is forwarded
    writes = itertools.count(1)
    # the first key of each family is signed; its siblings are what a respelling might reach
    for key in (family[0] for family in families):
        target = f"/{bucket}/{quote_key(key)}"
        url = presign(proxy.authority, method, target).target if signing == "presigned" else target
        for what, respelt in [("as signed", url)] + respellings(url, rng):
            body = b"new" * (100 + next(writes)) if method == "PUT" else b""
            if signing == "presigned":
                request = RawRequest(method, respelt, body=body)
            else:
                # signed for the target as the client wrote it, sent respelt
                request = RawRequest(method, respelt, sign_header(proxy.authority, method, target, body=body).headers,
                                     body)
            before = proxy.origin_requests()
            r = send(proxy.authority, request)
            if proxy.origin_requests() == before:
                if what == "as signed":
                    failures.append(f"{key!r}: the request as signed was refused: {r.status} {r.body[:200]!r}")
                    break
                refused += 1
                continue
            forwarded_kinds[what] = forwarded_kinds.get(what, 0) + 1
            if method == "GET":
                did = (r.status, r.body)
                expected = (200, f"body of {key}".encode())
            else:
                now = sizes(admin, bucket)
                did = (r.status, {k: v for k, v in now.items() if held.get(k) != v})
                expected = (200, {key: len(body)})
                held = now
            if did != expected:
                failures.append(f"{key!r}, {what}: forwarded, and did {did!r:.300}, not {expected!r:.200}\n"
                                f"  {method} {respelt}")
                if what == "as signed":
                    break  # the respellings of a request that does not work say nothing more
    print(f"\n{origin.kind} {method} {signing}: {refused} respellings refused, forwarded: {forwarded_kinds}")
    assert not failures, (f"seed {SEED}, {method} {signing}: {len(failures)} respellings forwarded act "
                          "otherwise than the request as signed:\n" + "\n".join(failures))
