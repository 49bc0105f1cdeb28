"""What operators see: the filter's Prometheus counters after known traffic, and its log
lines (one per rejection; the canonical request at debug level; never a secret)."""

import http.client
import json
import re
import select
import socket
import time

import pytest
from botocore.exceptions import ClientError

import yaml

from harness import Envoy, filter_config_json, render
from harness.paths import ROOT
from harness.programs import free_port
from harness.clients import RawRequest, closed_within, presign, s3_client, send, send_h2, sign_header
from harness.chunked import chunked_put
from harness.envoy_config import CLIENT_SECRET, ORIGIN_SECRET, UPSTREAM_FILTER_YAML


def test_counters_after_known_traffic(make_proxy, bucket):
    envoy = make_proxy()
    ok = s3_client(envoy.endpoint)
    ok.put_object(Bucket=bucket, Key="a", Body=b"1")
    ok.put_object(Bucket=bucket, Key="b", Body=b"2")
    url = presign(envoy.authority, "GET", f"/{bucket}/a")
    assert send(envoy.authority, url).status == 200
    for _ in range(3):
        with pytest.raises(ClientError):
            s3_client(envoy.endpoint, secret="wrong").get_object(Bucket=bucket, Key="a")
    with pytest.raises(ClientError):
        s3_client(envoy.endpoint, key="NOBODY").get_object(Bucket=bucket, Key="a")
    assert send(envoy.authority, RawRequest("GET", f"/{bucket}/a")).status == 403

    got = envoy.prometheus()
    assert got['s3_resign_requests_total{kind="header_v4"}'] == 2
    assert got['s3_resign_requests_total{kind="presigned_v4"}'] == 1
    assert got['s3_resign_requests_total{kind="anonymous"}'] == 0
    assert got['s3_resign_requests_total{kind="chunked_v4"}'] == 0
    assert got['s3_resign_rejections_total{code="SignatureDoesNotMatch"}'] == 3
    assert got['s3_resign_rejections_total{code="InvalidAccessKeyId"}'] == 1
    assert got['s3_resign_rejections_total{code="AccessDenied"}'] == 1
    assert got['s3_resign_rejections_total{code="NotImplemented"}'] == 0
    # One configuration load per VM: Envoy's main thread, its base VM and the one worker.
    assert got['s3_resign_config_reloads_total{result="ok"}'] >= 2
    assert got['s3_resign_config_reloads_total{result="invalid"}'] == 0
    # A series for every code of the README's table of errors, at zero or more.
    codes = {m.group(1) for k in got if (m := re.match(r's3_resign_rejections_total\{code="(\w+)"\}', k))}
    errors = README.read_text().split("### Errors the filter answers", 1)[1].split("\n### ", 1)[0]
    cells = re.findall(r"^\| ([^|]+) \| \d{3} \|", errors, re.M)
    assert codes == {code for cell in cells for code in re.findall(r"`(\w+)`", cell)}
    assert len(codes) == 28


README = ROOT / "README.md"
VM_MEMORY = "wasmcustom.s3_resign_vm_memory_bytes"
HELD = "wasmcustom.s3_resign_chunk_memory_held_bytes"


def serve_on_every_worker(envoy: Envoy, workers: int) -> None:
    """Requests on new connections until each worker has taken one (the kernel spreads
    connections over the workers' sockets as it likes): the VMs report on their streams."""
    for _ in range(300):
        stats = envoy.admin_get("/stats?filter=^listener[.].*[.]worker_[0-9]+[.]downstream_cx_total$").decode()
        served = {int(m[1]) for m in re.finditer(r"worker_(\d+)\.downstream_cx_total: ([1-9])", stats)}
        if served >= set(range(workers)):
            return
        send(envoy.authority, RawRequest("GET", "/"))
    pytest.fail(f"{workers} workers did not all take a connection")


def test_the_memory_gauges_add_up_over_the_workers(origin, bucket):
    """Found by a day-two walk-through (2026-12-01): every worker's VM set the shared gauges to
    its own value, so with two workers they showed whichever reported last. Each VM now adds
    its change: the gauges are the sums, and held bytes return to 0 when uploads end."""
    held = HELD
    sums = {}
    for workers in (1, 3):
        config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=filter_config_json(origin))
        with Envoy(config, concurrency=workers) as envoy:
            upload = chunked_put(envoy.authority, f"/{bucket}/gauged", bytes(300_000), chunk_size=128 * 1024)
            assert send(envoy.authority, upload).status == 200
            serve_on_every_worker(envoy, workers)
            sums[workers] = envoy.counter(VM_MEMORY)
            assert envoy.counter(held) == 0
    # Each VM is over 1 MiB; two more workers add two more VMs.
    assert sums[3] >= sums[1] + 2 * 1024 * 1024, sums


class ListenerUpdates:
    """The public listener served over LDS from a file, as a control plane pushes it: the
    Envoy configuration (`config`) and `publish(filter_json)`, one listener update."""

    def __init__(self, origin, tmp_path):
        self.config = render(origin_host="127.0.0.1", origin_port=origin.port,
                             filter_config=filter_config_json(origin), listen_port=free_port())
        self.listener = self.config["static_resources"].pop("listeners")[0]
        self.listener["@type"] = "type.googleapis.com/envoy.config.listener.v3.Listener"
        (self.wasm,) = [f["typed_config"]["config"] for f in self.listener["filter_chains"][0]["filters"][0]
                        ["typed_config"]["http_filters"] if f["name"] == "envoy.filters.http.wasm"]
        self.dir = tmp_path
        self.publish(filter_config_json(origin))
        self.config["dynamic_resources"] = {
            "lds_config": {"resource_api_version": "V3", "path_config_source": {"path": str(tmp_path / "lds.yaml")}}}
        self.config["node"] = {"id": "s3-resign-test", "cluster": "s3-resign-test"}

    def publish(self, filter_json: str) -> None:
        self.wasm["configuration"]["value"] = filter_json
        staged = self.dir / "lds.staged"
        staged.write_text(yaml.safe_dump({"resources": [self.listener]}))
        # Envoy watches the file by its name: a rename is one complete update.
        staged.rename(self.dir / "lds.yaml")


def wait_for_counter(envoy: Envoy, name: str, at_least: int) -> None:
    deadline = time.monotonic() + 10
    while envoy.counter(name) < at_least:
        assert time.monotonic() < deadline, f"{name} stays below {at_least}"
        time.sleep(0.05)


def test_listener_updates_leave_the_memory_gauge_as_it_was(origin, bucket, tmp_path):
    """A red team on state (2026-12-02): every listener update (LDS) added about 1.2 MB to the
    VM memory gauge for good. Envoy configures a VM on its main thread for each update and
    ends it without deleting its root context, whose report from `on_configure` stayed in the
    sum. Only VMs that serve streams report now; the workers' VMs take the new configuration
    and are counted once."""
    lds = ListenerUpdates(origin, tmp_path)
    with Envoy(lds.config, concurrency=2) as envoy:
        url = presign(envoy.authority, "GET", f"/{bucket}/absent")
        serve_on_every_worker(envoy, 2)
        before = envoy.counter(VM_MEMORY)
        updates = envoy.counter("listener_manager.lds.update_success")
        for i in range(1, 6):
            lds.publish(filter_config_json(origin, presigned_cache_entries=4096 + i))
            wait_for_counter(envoy, "listener_manager.lds.update_success", updates + i)
            assert send(envoy.authority, url).status == 404
        serve_on_every_worker(envoy, 2)
        after = envoy.counter(VM_MEMORY)
    # Five updates added 6 MB before; the workers' new gateways take a few pages at most.
    assert after - before < 1024 * 1024, (before, after)


def test_listener_updates_count_a_load_per_vm_and_a_refused_one_once(origin, bucket, tmp_path):
    """What the alert on refused configurations reads (README, *Metrics*; a metrics audit,
    2026-12-02): a listener update counts one load in every VM that loads it, each worker's
    and the main thread's, and one that Envoy refuses counts once as `invalid` (the main
    thread refuses it, no worker sees it) while the previous configuration serves on."""
    ok, invalid = ('wasmcustom.result=.=ok;.;s3_resign_config_reloads_total',
                   'wasmcustom.result=.=invalid;.;s3_resign_config_reloads_total')
    lds = ListenerUpdates(origin, tmp_path)
    workers = 2
    with Envoy(lds.config, concurrency=workers) as envoy:
        url = presign(envoy.authority, "GET", f"/{bucket}/absent")
        before, updates = envoy.counter(ok), envoy.counter("listener_manager.lds.update_success")
        lds.publish(filter_config_json(origin, presigned_cache_entries=100))
        wait_for_counter(envoy, "listener_manager.lds.update_success", updates + 1)
        # Each worker's VM, and at least one on the main thread (two on Envoy 1.40).
        wait_for_counter(envoy, ok, before + workers + 1)
        assert envoy.counter(invalid) == 0
        loads = envoy.counter(ok)
        lds.publish(json.dumps({"origin_authority": origin.authority, "credentials": []}))
        wait_for_counter(envoy, "listener_manager.lds.update_rejected", 1)
        assert envoy.counter(invalid) == 1
        assert envoy.counter(ok) == loads
        assert send(envoy.authority, url).status == 404


class ImmediateDrainEnvoy(Envoy):
    """Envoy run as README advises when a key has leaked and it is not restarted:
    `--drain-strategy immediate` and a short drain time."""

    drain_seconds = 6

    def _spawn(self, args, env=None):
        super()._spawn(args + ["--drain-strategy", "immediate", "--drain-time-s", str(self.drain_seconds)], env)


class OldConnection:
    """A connection opened before an update, its client deaf to being told to go: it sends
    each request as if nothing had been said, until Envoy closes the connection. `told`: Envoy
    has said to go (HTTP/1's `connection: close`, HTTP/2's GOAWAY)."""

    def __init__(self, port: int, authority: str):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.authority = authority
        self.told = False

    def status(self, target: str) -> int | None:
        """The status of one more GET of `target`; None once Envoy has closed or reset the
        connection (an answer slower than the timeout fails the test rather than pass for one)."""
        try:
            return self._status(target)
        except socket.timeout:
            raise AssertionError("no answer within 10 s") from None
        except (OSError, http.client.HTTPException, ConnectionError):
            return None

    def __enter__(self):
        return self

    def __exit__(self, *_) -> None:
        self.sock.close()


class OldHttp1Connection(OldConnection):
    """Deaf to `connection: close`."""

    def _status(self, target: str) -> int:
        self.sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {self.authority}\r\n\r\n".encode())
        answer = http.client.HTTPResponse(self.sock)
        answer.begin()
        answer.read()
        self.told = self.told or (answer.getheader("connection") or "").lower() == "close"
        return answer.status


class OldHttp2Connection(OldConnection):
    """Deaf to GOAWAY: a new stream for every request (h2c, prior knowledge)."""

    def __init__(self, port: int, authority: str):
        import h2.config
        import h2.connection
        import hyperframe.frame

        super().__init__(port, authority)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        # The h2 library would refuse new streams once told to go: leave it unaware.
        self.conn._frame_dispatch_table[hyperframe.frame.GoAwayFrame] = self._goaway
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())

    def _goaway(self, frame) -> tuple[list, list]:
        self.told = True
        return [], []

    def _status(self, target: str) -> int:
        import h2.events

        stream = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream, [(":method", "GET"), (":scheme", "http"), (":authority", self.authority),
                                        (":path", target)], end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        status = None
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            for event in self.conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.StreamReset) and event.stream_id == stream:
                    raise ConnectionError(f"stream reset: {event.error_code}")
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
                    self.sock.sendall(self.conn.data_to_send())
                    return status
            self.sock.sendall(self.conn.data_to_send())


@pytest.mark.parametrize("old_connection", [OldHttp1Connection, OldHttp2Connection], ids=["http1", "http2"])
def test_a_removed_key_stops_on_connections_opened_before_the_update(origin, origin_s3, bucket, tmp_path,
                                                                       old_connection):
    """README *Changing keys*: under `--drain-strategy immediate`, a connection opened before an
    update that removed its key is told to close with its next answer after the update
    (HTTP/1's `connection: close`, HTTP/2's GOAWAY), and is closed about 2 s later: the
    connection manager's `drain_timeout` (1 s in the shipped configurations) and Envoy's delayed
    close (1 s). A client deaf to being told is served until then: 6 s and about 200 requests
    with Envoy's default `drain_timeout`, 5 s (RT105, 2026-12-06). But the client chooses when
    it sends that next request (RV109): a connection kept open and idle serves the removed key
    until the drain time ends, when Envoy closes every connection of the old configuration."""
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"K")
    lds = ListenerUpdates(origin, tmp_path)
    with ImmediateDrainEnvoy(lds.config) as envoy:
        url = presign(envoy.authority, "GET", f"/{bucket}/k", expires=600)
        with (old_connection(envoy.port, envoy.authority) as busy,
              old_connection(envoy.port, envoy.authority) as waiting):
            assert busy.status(url.target) == waiting.status(url.target) == 200
            revoked = json.loads(filter_config_json(origin))
            revoked["credentials"][0]["access_key_id"] = "OTHERKEY"
            updates = envoy.counter("listener_manager.lds.update_success")
            lds.publish(json.dumps(revoked))
            wait_for_counter(envoy, "listener_manager.lds.update_success", updates + 1)
            deadline = time.monotonic() + 10
            while send(envoy.authority, url).status != 403:
                assert time.monotonic() < deadline, "new connections still take the removed key"
            served, served_told, updated = 0, 0, time.monotonic()
            while time.monotonic() - updated < 10:
                told = busy.told
                if busy.status(url.target) != 200:
                    break
                served += 1
                served_told += told
            stopped = time.monotonic() - updated
            assert stopped < 4, f"{served} requests served on the old connection over {stopped:.1f} s after the update"
            # Told to go, it was served on: the client this bounds.
            assert busy.told and served_told > 0, (served, served_told)
            # Closed by Envoy as the drain time ends (a request sent after a fixed sleep had a
            # second's margin against a stalled machine, RV131).
            assert closed_within(waiting.sock, updated + envoy.drain_seconds + 5 - time.monotonic()), \
                "an old connection outlived the drain time"


def serves(envoy, bucket: str, domain: str) -> bool:
    """Whether the worker serves under the configuration that alone lists `domain`."""
    authority = f"{domain}:{envoy.port}"
    return send(authority, presign(authority, "GET", f"/{bucket}/absent")).status == 404


def test_a_replaced_configuration_gives_its_room_back(origin, bucket, tmp_path):
    """A red team (2026-12-05): Envoy keeps a configuration a listener update replaced until
    the listener's drain time has passed (600 s by default), connections or not, and its budget
    counted among the VM's by its limit for as long: every update shrank the room of every
    upload in the VM for ten minutes, the updates' shrinks adding up. The budgets of one plugin
    name share one room, and weigh once in other names' shares, by the largest limit among
    them. Nothing a client sends on a connection still under an old configuration changes that
    (a later red team kept a replaced configuration counted with unsigned requests on such
    connections), and one rolled back to, which Envoy serves again without configuring it
    anew, has the room its name does not hold (the red teams after that)."""
    mib = 1024 * 1024
    other = {"access_key_id": "OTHERKEY", "secret_access_key": "other-secret",
             "origin_access_key_id": origin.access_key, "origin_secret_access_key": origin.secret_key}

    def config(i: int) -> str:
        # Two keys: one may hold half of the budget, 128 MiB.
        base = json.loads(filter_config_json(origin))
        base.update(chunk_memory_budget_bytes=256 * mib, max_chunk_size_bytes=64 * mib,
                    credentials=base["credentials"] + [other],
                    public_domains=base["public_domains"] + [f"update{i}.test"])
        return json.dumps(base)

    def served_by(envoy, i: int) -> bool:
        return serves(envoy, bucket, f"update{i}.test")

    def unsigned_get(conn) -> int:
        conn.request("GET", "/", headers={"Host": "localhost"})
        response = conn.getresponse()
        response.read()
        return response.status

    lds = ListenerUpdates(origin, tmp_path)
    with Envoy(lds.config) as envoy:
        old_connections = []
        for i in range(1, 5):
            conn = http.client.HTTPConnection("127.0.0.1", envoy.port, timeout=10)
            assert unsigned_get(conn) == 403
            old_connections.append(conn)
            lds.publish(config(i))
            deadline = time.monotonic() + 10
            while not served_by(envoy, i):
                assert time.monotonic() < deadline, f"configuration {i} never served"
                time.sleep(0.05)
        # Streams on connections opened under the replaced configurations, as the red team sent.
        assert [unsigned_get(conn) for conn in old_connections] == [403] * 4
        # Four budgets of 256 MiB counted by their limits scaled a key's share to 32 MiB, and
        # one counted beside the newest, to 64 MiB: short of one chunk and its CRLF.
        upload = chunked_put(envoy.authority, f"/{bucket}/big", bytes(64 * mib), chunk_size=64 * mib)
        assert send(envoy.authority, upload).status == 200
        # Rolled back to the first, still draining: Envoy serves it again without configuring
        # it anew (the next red team), and it shares the room with the ones of its name.
        lds.publish(config(1))
        deadline = time.monotonic() + 10
        while not served_by(envoy, 1) or served_by(envoy, 4):
            assert time.monotonic() < deadline, "the first configuration never served again"
            time.sleep(0.05)
        upload = chunked_put(envoy.authority, f"/{bucket}/big", bytes(64 * mib), chunk_size=64 * mib)
        assert send(envoy.authority, upload).status == 200
        assert envoy.prometheus().get('s3_resign_rejections_total{code="SlowDown"}') == 0
        assert envoy.counter(HELD) == 0
        for conn in old_connections:
            conn.close()


@pytest.mark.parametrize("replaced_mib", [8, 64])
def test_forms_waiting_under_a_replaced_configuration_share_the_listeners_eighth(
        origin, bucket, tmp_path, replaced_mib):
    """A red team (2026-12-05): after a listener update, browser forms with no signature, each
    on a connection opened before it, waited in the replaced configuration's eighth of the
    budget while new ones waited in the new one's, and a listener with an 8 MiB budget refused
    a 6.5 MiB chunk it stored before. The forms of a name's configurations wait in one room,
    an eighth of the listener's: a new configuration's forms take back a replaced one's. And
    the smallest eighth among them (the next red team: after an update from a 256 MiB budget,
    forms under the replaced configuration held its eighth, 32 MiB, and the 8 MiB listener
    refused every upload)."""
    mib = 1024 * 1024

    def config(domain: str, budget_mib: int = 8) -> str:
        base = json.loads(filter_config_json(origin))
        base.update(chunk_memory_budget_bytes=budget_mib * mib, max_chunk_size_bytes=8 * mib,
                    public_domains=base["public_domains"] + [domain])
        return json.dumps(base)

    def send_forms(envoy, socks, domain: str) -> None:
        # Each waits with about 53 KiB of the share: 18 fill the eighth.
        head = (f"POST /{bucket} HTTP/1.1\r\nHost: {domain}:{envoy.port}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n"
                f"X-Pad: {'a' * 40 * 1024}\r\n\r\n")
        for sock in socks:
            sock.sendall(head.encode())
        time.sleep(0.5)

    def connections(envoy, n: int) -> list:
        return [socket.create_connection(("127.0.0.1", envoy.port), timeout=10) for _ in range(n)]

    lds = ListenerUpdates(origin, tmp_path)
    lds.publish(config("before.test", replaced_mib))
    with Envoy(lds.config, concurrency=1) as envoy:
        old = connections(envoy, 30)
        # Each connection serves a request under the configuration it was opened under.
        for sock in old:
            authority = f"before.test:{envoy.port}"
            signed = presign(authority, "GET", f"/{bucket}/absent")
            sock.sendall(f"GET {signed.target} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 404")
        lds.publish(config("after.test"))
        deadline = time.monotonic() + 10
        while not serves(envoy, bucket, "after.test"):
            assert time.monotonic() < deadline, "the update never served"
            time.sleep(0.05)
        waiting = [True] * 60

        def until_waiting(socks, n: int) -> None:
            """Reads the 503s of forms taken back until `n` of `socks` wait (or 5 s pass)."""
            deadline = time.monotonic() + 5
            while sum(waiting[:len(socks)]) > n and time.monotonic() < deadline:
                for ready in select.select([s for s, w in zip(socks, waiting) if w], [], [], 0.1)[0]:
                    assert ready.recv(65536).startswith(b"HTTP/1.1 503 ")
                    waiting[socks.index(ready)] = False

        send_forms(envoy, old, "before.test")
        # The old forms that made room took back older ones, which count against their
        # network's allowance until their streams end: let them end (a loaded machine ends
        # them later than the forms' half second, and the first new form found none left).
        until_waiting(old, 18)
        assert sum(waiting[:30]) == 18, waiting[:30]
        new = connections(envoy, 30)
        send_forms(envoy, new, "after.test")
        try:
            # One eighth for both configurations' forms, not one each: the first new ones took
            # back old ones (a network takes back 64 KiB at most while those streams last),
            # which the replaced configuration's tick answered.
            assert envoy.counter(HELD) <= mib
            until_waiting(old + new, 18)
            # New forms get in, and the room holds 18 forms in all. Not necessarily the first
            # new ones: the forms they took back count against the network's allowance until
            # Envoy ends those streams, after their 503s were read, and on a loaded machine the
            # first four new forms once found none left and were refused.
            assert any(waiting[30:]) and sum(waiting) == 18, waiting
            chunk = int(6.5 * mib)
            upload = chunked_put(envoy.authority, f"/{bucket}/big", bytes(chunk), chunk_size=chunk)
            assert send(envoy.authority, upload).status == 200
        finally:
            for sock in old + new:
                sock.close()


def test_a_request_answered_before_its_stream_ended_is_counted(make_proxy, origin_s3, bucket):
    """A request counts once all of it has gone on, or when its stream ends: an HTTP/2 GET
    whose head does not end the stream (an empty DATA frame would) was answered by the origin
    first (a review, 2026-12-01: it went uncounted). Where the filter may hold heads
    (`allow_on_headers_stop_iteration`) such a head waits for the stream's end; here it may
    not, and the origin answers first."""
    envoy = make_proxy(allow_on_headers_stop_iteration=False)
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"object")
    signed = presign(envoy.authority, "GET", f"/{bucket}/k")
    r = send_h2(envoy.authority, "GET", signed.target.encode(), envoy.port, end_stream=False)
    assert (r.status, r.body) == (200, b"object")
    deadline = time.monotonic() + 5
    while envoy.prometheus()['s3_resign_requests_total{kind="presigned_v4"}'] != 1:
        assert time.monotonic() < deadline, envoy.prometheus()
        time.sleep(0.05)


def test_a_held_head_its_client_abandons_is_not_counted(make_proxy, origin_s3, bucket):
    """A head that says nothing of its body waits in the filter for the body's first byte or
    end; its client gone before either, nothing of it went on: not counted as forwarded (a
    review counted 300 such heads, 2026-12-06), nor sent to the origin."""
    import h2.config
    import h2.connection

    envoy = make_proxy()
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"object")
    signed = presign(envoy.authority, "DELETE", f"/{bucket}/k")
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    with socket.create_connection(("127.0.0.1", envoy.port), timeout=10) as sock:
        conn.initiate_connection()
        conn.send_headers(1, [(":method", "DELETE"), (":scheme", "http"), (":authority", envoy.authority),
                              (":path", signed.target)], end_stream=False)
        sock.sendall(conn.data_to_send())
        time.sleep(0.5)
    deadline = time.monotonic() + 5
    while envoy.counter("http.s3_public.downstream_cx_destroy") < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert envoy.origin_requests() == 0
    counted = {k: v for k, v in envoy.prometheus().items() if v and k.startswith("s3_resign_requests_total")}
    assert counted == {}, counted
    assert origin_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"object"


def test_a_request_a_filter_before_answers_is_counted_nowhere(origin, bucket):
    """A filter before s3-resign that answers (here Envoy's local rate limit, 429) leaves the
    request uncounted by s3-resign, neither forwarded nor refused, and its access log fields
    null: the filter never saw its head (a metrics audit, 2026-12-02)."""
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=None)
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"].insert(0, {"name": "envoy.filters.http.local_ratelimit", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        "stat_prefix": "limited",
        "token_bucket": {"max_tokens": 1, "tokens_per_fill": 1, "fill_interval": "3600s"},
        "filter_enabled": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}},
        "filter_enforced": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}}})
    env = {"S3_RESIGN_CLIENT_SECRET": CLIENT_SECRET, "S3_RESIGN_ORIGIN_SECRET": ORIGIN_SECRET}
    with Envoy(config, env=env) as envoy:
        a = envoy.authority
        assert send(a, sign_header(a, "GET", f"/{bucket}/absent")).status == 404
        assert send(a, sign_header(a, "GET", f"/{bucket}/absent")).status == 429
        assert send(a, sign_header(a, "GET", f"/{bucket}/absent", secret="wrong")).status == 429
        got = {k: v for k, v in envoy.prometheus().items() if v and k.startswith(("s3_resign_requests", "s3_resign_rejections"))}
        assert got == {'s3_resign_requests_total{kind="header_v4"}': 1}, got
        lines = access_log(envoy)
    assert [(line["status"], line["s3_auth_kind"], line["s3_error_code"]) for line in lines] == [
        (404, "header_v4", None), (429, None, None), (429, None, None)]


def test_anonymous_forwards_are_counted(make_proxy, bucket):
    envoy = make_proxy(anonymous="forward")
    send(envoy.authority, RawRequest("GET", f"/{bucket}/public"))
    assert envoy.prometheus()['s3_resign_requests_total{kind="anonymous"}'] == 1


def test_an_anonymous_form_counts_as_anonymous(make_proxy, bucket):
    """A browser form with no signature, forwarded as `anonymous: forward` allows, is an
    anonymous request, not a verified `post_policy` one (a mutation run found the form's own
    kinds unused, 2026-12-02)."""
    import requests

    envoy = make_proxy(anonymous="forward")
    form = requests.Request("POST", f"{envoy.endpoint}/{bucket}", data={"key": "public/a.txt"},
                            files={"file": ("a.txt", b"anonymous")}).prepare()
    send(envoy.authority, RawRequest("POST", f"/{bucket}", [(k, v) for k, v in form.headers.items()], form.body))
    deadline = time.monotonic() + 5
    while not (counted := {k: v for k, v in envoy.prometheus().items() if v and k.startswith("s3_resign_requests")}):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert counted == {'s3_resign_requests_total{kind="anonymous"}': 1}, counted


def test_rejection_log_lines(origin, bucket):
    config = render(
        origin_host="127.0.0.1",
        origin_port=origin.port,
        filter_config=filter_config_json(origin.authority, log_level="debug"),
    )
    with Envoy(config, log_level="debug") as envoy:
        bad = sign_header(envoy.authority, "PUT", f"/{bucket}/logged%20key", {"X-Amz-Meta-A": "1"}, b"x",
                          secret="wrong-secret")
        answer = send(envoy.authority, bad)
        assert answer.status == 403
        good = sign_header(envoy.authority, "GET", f"/{bucket}?list-type=2")
        assert send(envoy.authority, good).status == 200
        log = envoy.log_text()
    rejected = [line for line in log.splitlines() if "rejected PUT" in line]
    assert len(rejected) == 1
    assert "[info]" in rejected[0]
    assert f"rejected PUT /{bucket}/logged%20key (access key CLIENTKEY): SignatureDoesNotMatch" in rejected[0]
    # At debug level: what the filter signed, for comparison with the client's own, led by
    # the request id the answer carries (a walk-through could not tell whose it was).
    request_id = answer.headers["x-amz-request-id"]
    # Every further line is led by "  | ", so none a client wrote can pass for Envoy's own.
    assert f"request id {request_id}: canonical request:\n  | PUT\n  | /" + bucket + "/logged%20key\n" in log
    assert "\n  | x-amz-meta-a:1\n" in log
    assert "\n  | string to sign:\n  | AWS4-HMAC-SHA256\n" in log
    # Accepted requests are not logged per request at info.
    assert "rejected GET" not in log
    for secret in (CLIENT_SECRET, ORIGIN_SECRET, "wrong-secret"):
        assert secret not in log
    assert bad.header("Authorization").rsplit("=", 1)[1] not in log


def test_every_answer_and_its_log_line_carry_the_request_id(origin, bucket):
    """Refusals given once the head has gone on (a body that fails its digest, a body on a
    GET) carried no request id (a review, 2026-12-01): every answer now has Envoy's, in the
    body and in `x-amz-request-id`, and its log line says it, to be found in the access log."""
    import base64
    import hashlib
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=filter_config_json(origin.authority))
    md5 = base64.b64encode(hashlib.md5(b"signed").digest()).decode()
    with Envoy(config) as envoy:
        wrong = sign_header(envoy.authority, "GET", f"/{bucket}/k", secret="wrong-secret")
        get_with_body = sign_header(envoy.authority, "GET", f"/{bucket}/k", {}, b"hello")
        other_body = sign_header(envoy.authority, "PUT", f"/{bucket}/k", {"Content-MD5": md5}, b"signed",
                                 payload_hash="UNSIGNED-PAYLOAD")
        other_body = RawRequest(other_body.method, other_body.target, other_body.headers, b"other!")
        ids = []
        for request, code in [(wrong, b"SignatureDoesNotMatch"), (get_with_body, b"InvalidRequest"),
                              (other_body, b"BadDigest")]:
            r = send(envoy.authority, request)
            assert b"<Code>" + code + b"</Code>" in r.body, r.body
            request_id = r.headers.get("x-amz-request-id")
            assert request_id and f"<RequestId>{request_id}</RequestId>".encode() in r.body, (r.headers, r.body)
            ids.append(request_id)
        log = envoy.log_text()
    rejected = [line for line in log.splitlines() if "rejected " in line]
    assert len(rejected) == 3, rejected
    for line, request_id in zip(rejected, ids):
        assert line.endswith(f"; request id {request_id}"), line


def test_a_path_cannot_split_or_forge_a_log_line(origin, bucket):
    """Found by an attack run (2026-12-01): over HTTP/2 (the shipped listener takes h2c) a
    path reaches the filter with raw UTF-8, and the rejection line printed its line separators
    and bidi controls as sent: a viewer broke the line there, showing a forged one."""
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=filter_config_json(origin.authority))
    with Envoy(config) as envoy:
        path = f"/{bucket}/k\u2028[2026-12-01T00:00:00.000][1][info][wasm]forged\u202egpj.exe"
        r = send_h2(envoy.authority, "GET", path.encode(), envoy.port)
        assert r.status == 403 and b"AccessDenied" in r.body, r
        log = envoy.log_text()
    rejected = [line for line in log.splitlines() if "rejected GET" in line]
    assert len(rejected) == 1, rejected
    assert "/k\\u{2028}[2026-12-01T00:00:00.000][1][info][wasm]forged\\u{202e}gpj.exe" in rejected[0]
    assert "\u2028" not in rejected[0] and "\u202e" not in rejected[0]


def test_the_filter_log_level_holds_back_the_detail(origin, bucket):
    """Envoy lets debug lines through; the filter's own default level (info) does not emit them."""
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=filter_config_json(origin.authority))
    with Envoy(config, log_level="debug") as envoy:
        bad = sign_header(envoy.authority, "GET", f"/{bucket}/k", secret="wrong-secret")
        assert send(envoy.authority, bad).status == 403
        log = envoy.log_text()
    assert "SignatureDoesNotMatch" in log
    assert "canonical request" not in log


# -- the access log -----------------------------------------------------------------------------

def access_log(envoy) -> list[dict]:
    """The JSON access-log lines of a stopped Envoy (it flushes them on exit), in order."""
    envoy.stop()
    return [json.loads(line) for line in envoy.log_text().splitlines() if line.startswith("{")]


def known_traffic(envoy, bucket) -> list[RawRequest]:
    """One request of each outcome the access log tells apart; returns what was sent."""
    authority = envoy.authority
    sent = [
        sign_header(authority, "PUT", f"/{bucket}/logged", body=b"x"),
        presign(authority, "GET", f"/{bucket}/logged"),
        chunked_put(authority, f"/{bucket}/chunked", b"c" * 70_000),
        sign_header(authority, "GET", f"/{bucket}/logged", secret="wrong-secret"),
        sign_header(authority, "GET", f"/{bucket}/logged", key="NOBODY"),
        RawRequest("GET", f"/{bucket}/logged"),
        # A claimed key id with a line break in it (the credential is percent-decoded).
        presign(authority, "GET", f"/{bucket}/logged", key='EVIL\n{"forged":1}'),
    ]
    bad_chunk = chunked_put(authority, f"/{bucket}/tampered", b"t" * 70_000)
    at = bad_chunk.body.index(b"chunk-signature=") + len(b"chunk-signature=")
    body = bad_chunk.body[:at] + (b"0" if bad_chunk.body[at:at + 1] != b"0" else b"1") + bad_chunk.body[at + 1:]
    sent.append(RawRequest(bad_chunk.method, bad_chunk.target, bad_chunk.headers, body))
    # A body other than the one whose SHA-256 the head signed: refused once the head went on.
    other = sign_header(authority, "PUT", f"/{bucket}/digest", body=b"signed")
    sent.append(RawRequest(other.method, other.target, other.headers, b"other!"))
    statuses = [send(authority, request).status for request in sent]
    assert statuses == [200, 200, 200, 403, 403, 403, 403, 403, 400]
    return sent


def test_access_log_fields(origin, bucket, origin_s3):
    """envoy/envoy.yaml's access log after known traffic: auth kind, client key id and error
    code per request, from the filter's filter state; never a secret or a signature."""
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=None)
    env = {"S3_RESIGN_CLIENT_SECRET": CLIENT_SECRET, "S3_RESIGN_ORIGIN_SECRET": ORIGIN_SECRET}
    with Envoy(config, env=env) as envoy:
        sent = known_traffic(envoy, bucket)
        lines = access_log(envoy)
    got = [(line["status"], line["s3_auth_kind"], line["s3_access_key_id"], line["s3_error_code"]) for line in lines]
    assert got == [
        (200, "header_v4", "CLIENTKEY", None),
        (200, "presigned_v4", "CLIENTKEY", None),
        (200, "chunked_v4", "CLIENTKEY", None),
        (403, None, "CLIENTKEY", "SignatureDoesNotMatch"),
        (403, None, "NOBODY", "InvalidAccessKeyId"),
        (403, None, None, "AccessDenied"),
        (403, None, 'EVIL?{?forged?:1}', "InvalidAccessKeyId"),
        (403, "chunked_v4", "CLIENTKEY", "SignatureDoesNotMatch"),
        (400, "header_v4", "CLIENTKEY", "XAmzContentSHA256Mismatch"),
    ]
    assert [line["path"] for line in lines][:2] == [f"/{bucket}/logged"] * 2, "paths without their query"
    # The origin's time from Envoy's upstream timing (the router adds no x-envoy-upstream-service-time
    # to read it from); none where the filter answered.
    assert all(isinstance(line["upstream_ms"], int) and line["upstream"] for line in lines[:3]), lines[:3]
    assert all(line["upstream_ms"] is None and line["upstream"] is None for line in lines[3:7]), lines[3:7]
    assert all(line["method"] in ("GET", "PUT") and line["request_id"] for line in lines)
    text = "\n".join(json.dumps(line) for line in lines)
    for secret in (CLIENT_SECRET, ORIGIN_SECRET, "wrong-secret"):
        assert secret not in text
    for request in sent:
        for signature in re.findall(r"(?:Signature=|chunk-signature=)([0-9a-f]{64})",
                                    request.target + str(request.headers) + request.body.decode(errors="replace")):
            assert signature not in text
    assert "X-Amz-Signature" not in text and "Credential" not in text
    # The filter's own log line for the forged key id stays one line too.
    assert "(access key EVIL?{?forged?:1}): InvalidAccessKeyId" in envoy.log_text()


def test_a_form_refused_for_its_file_agrees_everywhere(origin, bucket):
    """A browser form whose head verified and whose file then failed (its Content-MD5 field,
    which the policy pins, does not match): one rejection counted, one log line with the
    answer's request id, and an access log line with the form's kind beside the error code,
    as for any request refused in its body (a metrics audit, 2026-12-02: the kind was null when
    the file was judged in the piece that completed the head, post_policy when in a later one)."""
    import base64
    import hashlib
    import requests
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=None)
    env = {"S3_RESIGN_CLIENT_SECRET": CLIENT_SECRET, "S3_RESIGN_ORIGIN_SECRET": ORIGIN_SECRET}
    md5 = base64.b64encode(hashlib.md5(b"approved").digest()).decode()
    with Envoy(config, env=env) as envoy:
        form = s3_client(envoy.endpoint).generate_presigned_post(
            Bucket=bucket, Key="form", Fields={"Content-MD5": md5}, Conditions=[{"Content-MD5": md5}])
        r = requests.post(form["url"].replace("localhost", "127.0.0.1"), data=form["fields"],
                          files={"file": ("f.txt", b"other", "text/plain")}, headers={"Host": envoy.authority},
                          timeout=30)
        assert r.status_code == 400 and "<Code>BadDigest</Code>" in r.text, r.text
        got = envoy.prometheus()
        assert got['s3_resign_rejections_total{code="BadDigest"}'] == 1
        assert got['s3_resign_requests_total{kind="post_policy"}'] == 0
        (line,) = access_log(envoy)
    request_id = r.headers["x-amz-request-id"]
    assert (line["status"], line["s3_auth_kind"], line["s3_access_key_id"], line["s3_error_code"], line["request_id"]) \
        == (400, "post_policy", "CLIENTKEY", "BadDigest", request_id)
    rejected = [text for text in envoy.log_text().splitlines() if "rejected " in text]
    assert len(rejected) == 1 and rejected[0].endswith(f"BadDigest: The Content-MD5 you specified did not match "
                                                       f"what we received.; request id {request_id}"), rejected


def test_access_log_fields_only_when_asked(origin, bucket):
    """Without "access_log_filter_state" the filter stores no filter state (Envoy spends about
    5,000 instructions on each): the same access log has the fields empty, and requests are
    served and refused as before."""
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=filter_config_json(origin))
    with Envoy(config) as envoy:
        assert send(envoy.authority, presign(envoy.authority, "GET", f"/{bucket}/none")).status == 404
        bad = sign_header(envoy.authority, "GET", f"/{bucket}/none", secret="wrong-secret")
        assert send(envoy.authority, bad).status == 403
        lines = access_log(envoy)
    assert [(line["status"], line["s3_auth_kind"], line["s3_access_key_id"], line["s3_error_code"])
            for line in lines] == [(404, None, None, None), (403, None, None, None)]


def test_access_log_and_counters_of_the_upstream_filter_example(origin, bucket):
    """The upstream (cluster) filter sets the same access-log fields, and counts where this Envoy
    keeps a cluster filter's counters: at the root, as a listener filter's, since Envoy 1.39;
    before, in the cluster's scope, so that Prometheus reads
    `envoy_cluster_wasmcustom_s3_resign_requests_total{envoy_cluster_name="s3_origin"}`
    (README.md, *Metrics*)."""
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=None,
                    reference=UPSTREAM_FILTER_YAML)
    env = {"S3_RESIGN_CLIENT_SECRET": CLIENT_SECRET, "S3_RESIGN_ORIGIN_SECRET": ORIGIN_SECRET}
    with Envoy(config, env=env) as envoy:
        assert send(envoy.authority, sign_header(envoy.authority, "PUT", f"/{bucket}/up", body=b"u")).status == 200
        assert send(envoy.authority, sign_header(envoy.authority, "GET", f"/{bucket}/up", secret="bad")).status == 403
        scope = envoy.upstream_vm_cluster("s3_origin")
        got = envoy.prometheus(scope)
        assert got['s3_resign_requests_total{kind="header_v4"}'] == 1, got
        assert got['s3_resign_rejections_total{code="SignatureDoesNotMatch"}'] == 1, got
        # Nowhere else: the other scope has none of the filter's series.
        assert envoy.prometheus(None if scope else "s3_origin") == {}
        lines = access_log(envoy)
    assert [(line["s3_auth_kind"], line["s3_access_key_id"], line["s3_error_code"]) for line in lines] == [
        ("header_v4", "CLIENTKEY", None),
        (None, "CLIENTKEY", "SignatureDoesNotMatch"),
    ]
