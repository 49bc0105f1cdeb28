"""S3 clients: boto3 for the SDK's view, botocore's signers for hand-made requests, and a raw
HTTP/1.1 sender that puts the request target on the wire exactly as given."""

import base64
import datetime
import hashlib
import http.client
import json
import os
import socket
import subprocess
import time
import urllib.parse
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from unittest import mock

import boto3
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from .envoy_config import CLIENT_KEY, CLIENT_SECRET
from .paths import js_client_script

REGION = "us-east-1"


def s3_client(endpoint: str, key: str = CLIENT_KEY, secret: str = CLIENT_SECRET, region: str = REGION,
              session_token: str | None = None, **config):
    """A boto3 S3 client as users configure one for an S3-compatible endpoint: SigV4,
    path-style, unless `config` says otherwise (`signature_version="s3"`, `s3=…`); with
    `session_token`, as temporary credentials sign."""
    settings = {
        "signature_version": "s3v4",
        "s3": {"addressing_style": "path"},
        "retries": {"max_attempts": 1, "mode": "standard"},
        **config,
    }
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=session_token,
        region_name=region,
        config=Config(**settings),
    )


def raw_listing(client):
    """`client` listing as S3 clients that ask for no encoding do: without `encoding-type=url`
    and with the keys not decoded. boto3 asks for it and decodes what it gets, and s3s-fs
    0.14.1 answers it with the keys not encoded (`URL_ENCODED_LISTING`), so `a+b` would list
    as `a b`: a listing that says what the origin holds must not ask."""
    import botocore.handlers as handlers

    events = client.meta.events
    for op in ("ListObjects", "ListObjectsV2", "ListObjectVersions"):
        events.unregister(f"before-parameter-build.s3.{op}", handlers.set_list_objects_encoding_type_url)
    events.unregister("after-call.s3.ListObjects", handlers.decode_list_object)
    events.unregister("after-call.s3.ListObjectsV2", handlers.decode_list_object_v2)
    events.unregister("after-call.s3.ListObjectVersions", handlers.decode_list_object_versions)
    return client


def quote_key(key: str) -> str:
    """A key as the SDKs put it in a path."""
    return urllib.parse.quote(key, safe="/~")


@dataclass
class RawRequest:
    method: str
    target: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def with_header(self, name: str, value: str) -> "RawRequest":
        headers = [(n, v) for n, v in self.headers if n.lower() != name.lower()]
        return replace(self, headers=headers + [(name, value)])


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    # The header names as written on the wire, in their case (HTTP/1 only).
    names: list[str] = field(default_factory=list)


def xml_texts(body: bytes, tag: str) -> list[str]:
    """The texts of an S3 XML answer's elements named `tag`, whatever their namespace."""
    return [e.text for e in ET.fromstring(body).iter() if e.tag.rsplit("}", 1)[-1] == tag]


def listed_in_pages(page, prefix: str) -> list[str]:
    """The keys and common prefixes under `prefix` of a ListObjectsV2 delimited by `/`, read in
    pages of two: `page(params)` sends one page's request with these parameters and returns its
    XML answer."""
    listed, token = [], None
    for _ in range(100):
        params = {"list-type": "2", "prefix": prefix, "delimiter": "/", "max-keys": "2"}
        if token:
            params["continuation-token"] = token
        body = page(params)
        listed += xml_texts(body, "Key") + [p for p in xml_texts(body, "Prefix") if p != prefix]
        token = next(iter(xml_texts(body, "NextContinuationToken")), None)
        if not token:
            return listed
    raise AssertionError(f"more than 100 pages under {prefix!r}")


def send(authority: str, request: RawRequest, port: int | None = None, source: str | None = None,
         chunked: bool = False) -> Response:
    """Sends the request to 127.0.0.1 with `Host: authority`, the target untouched; from the
    loopback address `source` (127.0.0.2, say: a load balancer) if given. `chunked` frames the
    body in one HTTP/1.1 chunk and no `Content-Length` (the request names the coding)."""
    if port is None:
        port = int(authority.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                      source_address=(source, 0) if source else None)
    try:
        conn.putrequest(request.method, request.target, skip_host=True, skip_accept_encoding=True)
        if request.header("host") is None:
            conn.putheader("Host", authority)
        for name, value in request.headers:
            conn.putheader(name, value)
        if (request.body or request.method in ("PUT", "POST")) and not chunked:
            if request.header("content-length") is None:
                conn.putheader("Content-Length", str(len(request.body)))
        conn.endheaders(request.body or None, encode_chunked=chunked)
        r = conn.getresponse()
        headers = r.getheaders()
        return Response(r.status, {k.lower(): v for k, v in headers}, r.read(), [k for k, _ in headers])
    finally:
        conn.close()


def send_h2(authority: str, method: str, path: bytes, port: int, headers: list[tuple[bytes, bytes]] = (),
            body: bytes = b"", end_stream: bool = True, ca: str | None = None, frame: int | None = None,
            trailers: list[tuple[bytes, bytes]] | None = None, end_late: float = 0) -> Response:
    """One request over HTTP/2 with prior knowledge (h2c), through the `h2` library with its
    outbound checks off: the path's bytes go as given (HTTP/1 clients percent-encode what
    HTTP/2 carries raw); a body goes in DATA frames, with no `content-length` unless given.
    `end_stream=False` leaves the request open after its head and body, as a client still
    sending does, for the answer to end the stream. With `ca`, over TLS trusting it, h2
    negotiated by ALPN (as browsers, Go and curl reach a listener that offers it); `frame` cuts
    the body into DATA frames of at most that many bytes, each sent as soon as the peer's flow
    control allows (so the filter sees the body in pieces that fall anywhere); `trailers` end
    the stream with a HEADERS frame after the body; `end_late` seconds after the body (or the
    head, with none), an empty DATA frame ends it (a client whose stream's end comes late)."""
    import socket

    import h2.config
    import h2.connection
    import h2.events

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, validate_outbound_headers=False))
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if ca:
        import ssl

        context = ssl.create_default_context(cafile=ca)
        context.set_alpn_protocols(["h2"])
        sock = context.wrap_socket(sock, server_hostname=authority.rsplit(":", 1)[0])
        if sock.selected_alpn_protocol() != "h2":
            raise ConnectionError(f"ALPN chose {sock.selected_alpn_protocol()!r}, not h2")
    try:
        conn.initiate_connection()
        scheme = b"https" if ca else b"http"
        pseudo = [(b":method", method.encode()), (b":scheme", scheme), (b":authority", authority.encode()), (b":path", path)]
        ends_with_head = end_stream and not body and not trailers and not end_late
        conn.send_headers(1, pseudo + list(headers), end_stream=ends_with_head)
        # 16384: the largest DATA frame a peer must take.
        size = min(frame or 16384, 16384)
        pending = [body[i:i + size] for i in range(0, len(body), size)]
        status, response_headers, body = None, {}, b""
        ended = ends_with_head

        def send_what_the_window_allows() -> None:
            """The frames the window allows, in one write with the head (a body that fits
            arrives with it, as most clients send it)."""
            nonlocal ended
            while pending and conn.local_flow_control_window(1) >= len(pending[0]):
                piece = pending.pop(0)
                conn.send_data(1, piece, end_stream=end_stream and not pending and not trailers and not end_late)
            if not pending and not ended:
                if trailers:
                    conn.send_headers(1, list(trailers), end_stream=True)
                elif end_stream and end_late:
                    sock.sendall(conn.data_to_send())
                    time.sleep(end_late)
                    conn.send_data(1, b"", end_stream=True)
                ended = True
            sock.sendall(conn.data_to_send())

        send_what_the_window_allows()
        while True:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("the connection closed before the response ended")
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    response_headers = {n.decode().lower(): v.decode() for n, v in event.headers}
                    status = int(response_headers.pop(":status"))
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamReset):
                    raise ConnectionError(f"stream reset: {event.error_code}")
                elif isinstance(event, h2.events.StreamEnded):
                    return Response(status, response_headers, body)
            sock.sendall(conn.data_to_send())
            send_what_the_window_allows()
    finally:
        sock.close()


@dataclass
class H3Exchange:
    """What one HTTP/3 connection brought back: the answers, in the order of the requests,
    and whether the server took the requests sent before the handshake (0-RTT)."""
    responses: list[Response]
    early_data_accepted: bool


def send_h3(port: int, ca: str, authority: str, requests: list[RawRequest], *,
            session_ticket=None, tickets: list | None = None, timeout: float = 15) -> H3Exchange:
    """Requests over one HTTP/3 (QUIC) connection to 127.0.0.1:`port`, through aioquic, each
    its own stream, sent at once. With `session_ticket` (one a former connection put in
    `tickets`) the connection resumes that session and the requests go in TLS early data,
    before the handshake completes, as browsers send them on a connection they resume."""
    import asyncio

    from aioquic.asyncio.client import connect
    from aioquic.asyncio.protocol import QuicConnectionProtocol
    from aioquic.h3.connection import H3_ALPN, H3Connection
    from aioquic.h3.events import DataReceived, HeadersReceived
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.events import ConnectionTerminated, StreamReset

    class Client(QuicConnectionProtocol):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.h3 = H3Connection(self._quic)
            self.answers: dict[int, list] = {}
            self.ended: dict[int, asyncio.Future] = {}

        def fail(self, streams, why: str):
            for stream in streams:
                if not self.ended[stream].done():
                    self.ended[stream].set_exception(ConnectionError(why))

        def quic_event_received(self, event):
            if isinstance(event, StreamReset) and event.stream_id in self.ended:
                self.fail([event.stream_id], f"stream {event.stream_id} reset: {event.error_code}")
            elif isinstance(event, ConnectionTerminated):
                self.fail(list(self.ended), f"connection closed: {event.error_code} {event.reason_phrase}")
            for h3_event in self.h3.handle_event(event):
                answer = self.answers.get(h3_event.stream_id)
                if answer is None:
                    continue
                if isinstance(h3_event, HeadersReceived) and answer[0] is None:
                    headers = {n.decode(): v.decode() for n, v in h3_event.headers}
                    answer[0], answer[1] = int(headers.pop(":status")), headers
                elif isinstance(h3_event, DataReceived):
                    answer[2] += h3_event.data
                if h3_event.stream_ended and not self.ended[h3_event.stream_id].done():
                    self.ended[h3_event.stream_id].set_result(None)

    async def run() -> H3Exchange:
        configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN,
                                          server_name=authority.rsplit(":", 1)[0])
        configuration.load_verify_locations(ca)
        configuration.session_ticket = session_ticket
        configuration.idle_timeout = timeout
        async with connect("127.0.0.1", port, configuration=configuration, create_protocol=Client,
                           session_ticket_handler=(tickets.append if tickets is not None else None),
                           wait_connected=session_ticket is None) as client:
            streams = []
            for request in requests:
                stream = client._quic.get_next_available_stream_id()
                client.answers[stream] = [None, {}, b""]
                client.ended[stream] = asyncio.get_running_loop().create_future()
                head = [(b":method", request.method.encode()), (b":scheme", b"https"),
                        (b":authority", authority.encode()), (b":path", request.target.encode())]
                head += [(n.lower().encode(), v.encode()) for n, v in request.headers if n.lower() != "host"]
                client.h3.send_headers(stream, head, end_stream=not request.body)
                if request.body:
                    client.h3.send_data(stream, request.body, end_stream=True)
                streams.append(stream)
            client.transmit()
            await asyncio.gather(*(client.ended[s] for s in streams))
            # A session's ticket comes after the handshake; wait for it a moment.
            if tickets is not None and not tickets:
                for _ in range(50):
                    await asyncio.sleep(0.01)
                    if tickets:
                        break
            return H3Exchange([Response(*client.answers[s]) for s in streams],
                              bool(client._quic.tls.early_data_accepted))

    return asyncio.run(asyncio.wait_for(run(), timeout))


@contextmanager
def clock(when: datetime.datetime | None):
    """botocore's signers read the time through one function; pin it."""
    if when is None:
        yield
        return
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
        yield


def sign_header(
    authority: str,
    method: str,
    target: str,
    headers: dict | None = None,
    body: bytes = b"",
    key: str = CLIENT_KEY,
    secret: str = CLIENT_SECRET,
    region: str = REGION,
    when: datetime.datetime | None = None,
    payload_hash: str | None = None,
) -> RawRequest:
    """A request signed by botocore with an Authorization header, for `authority`.
    `payload_hash` replaces the body's SHA-256 (UNSIGNED-PAYLOAD, a STREAMING-* mode)."""
    req = AWSRequest(method=method, url=f"http://{authority}{target}", data=body, headers=headers or {})
    signer = botocore.auth.S3SigV4Auth(Credentials(key, secret), "s3", region)
    if payload_hash is not None:
        signer.payload = lambda request: payload_hash
    with clock(when):
        signer.add_auth(req)
    prepared = req.prepare()
    return RawRequest(method, target_of(prepared.url), list(prepared.headers.items()), body)


def presign(
    authority: str,
    method: str,
    target: str,
    headers: dict | None = None,
    expires: int = 300,
    key: str = CLIENT_KEY,
    secret: str = CLIENT_SECRET,
    region: str = REGION,
    when: datetime.datetime | None = None,
) -> RawRequest:
    """A presigned URL made by botocore for `authority`; `headers` are signed and sent."""
    req = AWSRequest(method=method, url=f"http://{authority}{target}", headers=headers or {})
    with clock(when):
        botocore.auth.S3SigV4QueryAuth(Credentials(key, secret), "s3", region, expires=expires).add_auth(req)
    prepared = req.prepare()
    return RawRequest(method, target_of(prepared.url), list((headers or {}).items()))


def target_of(url: str) -> str:
    """The request target of a URL: its path and query as they go on the wire."""
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def content_md5(body: bytes) -> str:
    """The Content-MD5 value of `body`: base64 of its MD5."""
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def js_client(script: str, scenario: str, endpoint: str, bucket: str, *args: str, env: dict | None = None) -> dict:
    """Runs a scenario of a JavaScript test client (`test-harness/js-client/SCRIPT`) in a Node
    process of its own, signing with the client key pair: what it printed, parsed."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": CLIENT_KEY, "AWS_SECRET_ACCESS_KEY": CLIENT_SECRET,
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
           # The SDKs warn that Node 20 support ends, v2 that it is in maintenance.
           "NODE_NO_WARNINGS": "1", "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1", **(env or {})}
    done = subprocess.run(["node", js_client_script(script), scenario, endpoint, bucket, *args],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{scenario}:\n{done.stderr}"
    return json.loads(done.stdout)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the peer closes `sock` within `seconds` (whatever it sends before)."""
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if sock.recv(65536) == b"":
                return True
    except socket.timeout:
        return False
    except OSError:
        return True
    return False
