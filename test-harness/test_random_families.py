"""The random differential (`test_random_differential.py`) for request families beyond single
SigV4 requests (`harness/random_families.py`): SigV2 header and presigned with sub-resources,
aws-chunked and checksummed uploads, multipart uploads, copies, multi-object deletes, browser
POST forms. Each case is played straight at the origin and through the proxy, on a bucket of
its own each: every step must be taken or refused alike (status class, S3 error code, what
it says), and the origin left holding the same objects (bytes, type, metadata).

The proxy re-signs SigV2 as SigV2 for an origin that takes it (s3s-fs, `origin_signature_version:
same`) and as SigV4 for one that does not (Garage, `v4`), where the direct side signs the same
request with SigV4.

RANDOM_DIFFERENTIAL_SEED picks another seed, RANDOM_FAMILIES_CASES another number of cases
(for every origin), RANDOM_FAMILIES=sigv2,chunked only those families, RANDOM_DIFFERENTIAL_ONLY
=3,17 replays those cases, RANDOM_FAMILIES_ORIGIN_SIGNATURE_VERSION=v4 upgrades SigV2 for
s3s-fs too, RANDOM_FAMILIES_VERBOSE=1 prints each case's answers (origin / proxy)."""

import hashlib
import os
import time
from dataclasses import replace

import pytest
from botocore.exceptions import ClientError

from harness.clients import raw_listing, s3_client
from harness.differential import populate, stored
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET
from harness.more_families import MORE_DRAW
from harness.random_families import DRAW, Context, make_plan, play
from harness.random_requests import ORIGINS
from test_random_differential import SEED, fresh_bucket

# About 37 s for both here, starting the origins and Envoys included.
CASES = {"s3s-fs": 80, "garage": 60, "ceph": 60, "minio": 60}
MORE_CASES = {"s3s-fs": 60, "garage": 50, "ceph": 50, "minio": 50}


def closing(client):
    """`client`, closing its connection after each call. botocore's empty PutObject or
    UploadPart (`Expect: 100-continue`, answered at once without a 100) straight to s3s-fs
    0.14.1 leaves the keep-alive connection out of step, and the next call on it waits out
    the 60 s read timeout; through Envoy it does not."""

    def close(request, **_):
        request.headers["Connection"] = "close"

    client.meta.events.register("before-send.s3", close)
    return client


def case_numbers(kind: str, cases: dict) -> list[int]:
    only = os.environ.get("RANDOM_DIFFERENTIAL_ONLY")
    if only:
        return [int(n) for n in only.split(",")]
    return list(range(int(os.environ.get("RANDOM_FAMILIES_CASES", cases[kind]))))


def families() -> list[str] | None:
    chosen = os.environ.get("RANDOM_FAMILIES")
    return chosen.split(",") if chosen else None


@pytest.fixture
def sigv2_proxy(origin, proxy, make_proxy):
    """The proxy as configured for this origin's SigV2: passed on (`same`) where it takes it,
    unless RANDOM_FAMILIES_ORIGIN_SIGNATURE_VERSION=v4 says to upgrade it there too."""
    if ORIGINS[origin.kind].sigv2 and os.environ.get("RANDOM_FAMILIES_ORIGIN_SIGNATURE_VERSION", "same") == "same":
        return proxy
    return make_proxy(origin_signature_version="v4")


@pytest.mark.every_origin
def test_random_families_do_through_the_proxy_what_they_do_at_the_origin(sigv2_proxy, origin):
    run_cases(sigv2_proxy, origin, DRAW, CASES, "not more")


@pytest.mark.every_origin
def test_more_random_families_do_through_the_proxy_what_they_do_at_the_origin(sigv2_proxy, origin):
    """`more_families`: a list of its own, so that the cases above stay the cases they were."""
    run_cases(sigv2_proxy, origin, MORE_DRAW, MORE_CASES, "more")


def run_cases(proxy, origin, draw: dict, cases: dict, selector: str) -> None:
    chosen = [f for f in families() or draw if f in draw]
    if not chosen:
        pytest.skip(f"RANDOM_FAMILIES names none of {sorted(draw)}")
    # reads what is stored without checking it against a checksum stored with it: s3s-fs keeps
    # a wrong one it was sent in a trailer (docs/testing.md), on both sides alike
    admin = raw_listing(s3_client(origin.endpoint, origin.access_key, origin.secret_key, origin.region,
                                  response_checksum_validation="when_required"))
    traits = ORIGINS[origin.kind]
    direct = dict(authority=origin.authority, access_key=origin.access_key, secret=origin.secret_key,
                  region=origin.region, sigv2=traits.sigv2,
                  client=closing(s3_client(origin.endpoint, origin.access_key, origin.secret_key, origin.region)),
                  client_v2=closing(s3_client(origin.endpoint, origin.access_key, origin.secret_key, origin.region,
                                              signature_version="s3")) if traits.sigv2 else None)
    proxied = dict(authority=proxy.authority, access_key=CLIENT_KEY, secret=CLIENT_SECRET, region="us-east-1",
                   sigv2=True, client=s3_client(proxy.endpoint),
                   client_v2=s3_client(proxy.endpoint, signature_version="s3"))
    failures, counts, steps = [], {}, 0
    hits_before = cache_hits(proxy)
    slowest, answers = [], {}  # answers: how many cases' last step each side took
    for n in case_numbers(origin.kind, cases):
        plan = make_plan(SEED, n, traits, chosen, draw)
        started = time.monotonic()
        try:
            found, taken = differential(plan, admin, direct, proxied, traits)
            answers[taken] = answers.get(taken, 0) + 1
        except Exception as e:  # the harness or an origin failed: still a case to replay
            found = [f"{type(e).__name__}: {e}"]
        slowest.append((round(time.monotonic() - started, 2), n, plan.tag))
        counts[plan.family] = counts.get(plan.family, 0) + 1
        steps += len(plan.steps)
        if found:
            failures.append(f"seed {SEED} case {n} ({plan.tag}, key {plan.key!r}): " + "\n  ".join(found) + "\n"
                            f"  replay: RANDOM_DIFFERENTIAL_SEED={SEED} RANDOM_DIFFERENTIAL_ONLY={n} "
                            f"RANDOM_FAMILIES={','.join(chosen)} .tools/venv/bin/python -m pytest "
                            f"test-harness/test_random_families.py -k '{selector} and {origin.kind}'")
    print(f"\n{origin.kind}, seed {SEED}: {sum(counts.values())} cases, {steps} requests: {sorted(counts.items())}, "
          f"{len(failures)} differ; last step taken (origin, proxy): {answers}; slowest: {sorted(slowest)[-3:]}; "
          f"answered from the proxy's presigned cache: {cache_hits(proxy) - hits_before}")
    assert not failures, f"{len(failures)} of {sum(counts.values())} cases differ:\n" + "\n".join(failures)


def cache_hits(proxy) -> int:
    """Requests the proxy answered from its memory of verified presigned URLs (presigned_cache.rs)."""
    return proxy.prometheus().get('s3_resign_presigned_cache_lookups_total{result="hit"}', 0)


def differential(plan, admin, direct: dict, proxied: dict, traits) -> tuple[list[str], tuple[bool, bool]]:
    """How the plan played through the proxy differs from the plan played straight at the
    origin, and whether each side took its last step."""
    found, outcomes = _differential(plan, admin, direct, proxied, traits)
    if os.environ.get("RANDOM_FAMILIES_VERBOSE"):
        print(f"{plan.n} {plan.tag}: " + "; ".join(f"{name} {d.status} {d.code} / {p.status} {p.code}"
                                                   for (name, _), d, p in zip(plan.steps, *outcomes)))
    return found, (outcomes[0][-1].ok, outcomes[1][-1].ok)


def _differential(plan, admin, direct: dict, proxied: dict, traits):
    outcomes, held, before = [], [], []
    for side in (direct, proxied):
        bucket = fresh_bucket(admin)
        populate(admin, bucket, plan)
        ctx = Context(bucket=bucket, **side)
        if plan.refused_by_design:  # what the bucket held before the step refused
            outcomes.append(play(plan, ctx, plan.steps[:-1]))
            before.append(holding(admin, bucket, plan))
            outcomes[-1] += play(plan, ctx, plan.steps[-1:])
        else:
            outcomes.append(play(plan, ctx))
        held.append(holding(admin, bucket, plan))
    found = []
    if plan.refused_by_design:
        why, status, code = plan.refused_by_design
        p = outcomes[1][-1]
        if (p.status, p.code) != (status, code) or held[1] != before[1]:
            found.append(f"{why}: the proxy must refuse it itself, {status} {code}; it answered {p.status} {p.code}")
        # the steps before it compare as any
        compared, results, held = replace(plan, steps=plan.steps[:-1]), [o[:-1] for o in outcomes], before
    else:
        compared, results = plan, outcomes
    for (name, _), d, p in zip(compared.steps, *results):
        why = step_difference(d, p, traits, compared)
        if why:
            found.append(f"{name}: {why}: origin {d.status} {d.code} {d.says[:120]!r}, "
                         f"proxy {p.status} {p.code} {p.says[:120]!r}  [{p.sent[:200]}]")
    if held[0] != held[1] and not (traits.writes_before_digest and any(r.code == "BadDigest" for r in results[0])
                                   and written_by_refused_upload(*held, compared)):
        found.append(f"another effect on the stored objects:\n    origin: {held[0]}\n    proxy:  {held[1]}")
    return found, outcomes


def written_by_refused_upload(direct_held, proxied_held, plan) -> bool:
    """Whether the two buckets differ only by what the origin wrote of a body it then refused
    (`Origin.writes_before_digest`), which the proxy refused before the origin saw it: an
    object's bytes, or its ETag where the origin names the file otherwise than the key."""
    written = {_digest(d) for d in plan.sent.values()} | {f'"{hashlib.md5(d).hexdigest()}"' for d in plan.sent.values()}
    (listing_d, bodies_d), (listing_p, bodies_p) = direct_held, proxied_held
    if len(listing_d) != len(listing_p) or bodies_d.keys() != bodies_p.keys():
        return False
    pairs = zip(listing_d + sorted(bodies_d.items()), listing_p + sorted(bodies_p.items()))
    return all(a == b or (a[0] == b[0] and len(a) == len(b) == 2 and a[1] in written) for a, b in pairs)


def step_difference(d, p, traits, plan) -> str | None:
    if not d.ok and not p.ok and len(plan.broken) > 1 and d.status and p.status and d.status < 500 > p.status:
        return None  # refused for one of several faults: which is named first is the origin's choice
    if plan.family == "post_form" and not d.ok and not p.ok:
        # S3's answers from the proxy, the origin's own from the origin (`Origin.policy_refusal`,
        # `Origin.length_refusal`)
        if (d.status, d.code) == traits.policy_refusal and (p.status, p.code) == (403, "AccessDenied"):
            return None
        if (d.status, d.code) == (400, traits.length_refusal) and p.code in ("EntityTooLarge", "EntityTooSmall"):
            return None
    if "signature" in plan.broken and (d.status, d.code, p.status, p.code) == (
            403, traits.signature_refusal, 403, "SignatureDoesNotMatch"):
        return None  # `Origin.signature_refusal`
    if "signed header missing" in plan.broken and (d.status, d.code) == traits.missing_signed_header_refusal and (
            p.status, p.code) == (403, "SignatureDoesNotMatch"):
        return None  # `Origin.missing_signed_header_refusal`
    if "expired" in plan.broken and (d.status, d.code) == traits.expiry_refusal and (p.status, p.code) == (
            403, "AccessDenied"):
        return None  # `Origin.expiry_refusal`
    if (d.status, d.code, p.status, p.code) == (400, traits.checksum_refusal, 400, "BadDigest"):
        return None  # `Origin.checksum_refusal`
    if traits.resets_early_refusals and d.status and 400 <= d.status < 500 and (
            p.status, p.code) == (503, "ServiceUnavailable"):
        return None  # the origin's answer lost to its reset (`Origin.resets_early_refusals`), Envoy's 503
    if d.status is None:
        return None if p.status in (502, 503) else "the origin closed the connection, the proxy answered"
    if d.ok != p.ok:
        return "the proxy refused what the origin takes" if d.ok else "the proxy passed what the origin refuses"
    if d.status != p.status:
        return "another status"
    if not d.ok and d.code != p.code:
        return "another error code"
    if d.ok and d.says != p.says:
        return "another answer"
    return None


def holding(admin, bucket: str, plan) -> list:
    """`differential.stored` (keys, ETags, type and metadata of the case's keys) and the bytes
    of the case's keys."""
    bodies = {}
    for k in (plan.key, plan.key2):
        try:
            bodies[k] = _digest(admin.get_object(Bucket=bucket, Key=k)["Body"].read())
        except ClientError as e:
            bodies[k] = e.response["Error"]["Code"]
    return stored(admin, bucket, plan), bodies


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
