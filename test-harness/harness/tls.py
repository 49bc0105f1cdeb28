"""TLS for the tests: a certificate authority made on the spot, certificates it issues, and
an Envoy that terminates TLS in front of an origin (an HTTPS origin for the proxy)."""

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .programs import Envoy

# Debian's (and the Envoy image's) bundle of the system's trusted CAs.
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Authority:
    """A CA: its certificate (PEM file) and key."""

    name: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_file: Path

    @classmethod
    def create(cls, directory: Path, name: str) -> "Authority":
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        cert_file = directory / f"{name}.pem"
        cert_file.write_bytes(_pem(cert))
        return cls(name, cert, key, cert_file)

    def issue(self, directory: Path, dns_name: str) -> tuple[Path, Path]:
        """A server certificate for `dns_name`: (certificate file, key file)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )
        stem = f"{dns_name}-by-{self.name}"
        cert_file, key_file = directory / f"{stem}.pem", directory / f"{stem}.key"
        cert_file.write_bytes(_pem(cert))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_file, key_file

    def bundle_with_system(self, directory: Path) -> Path:
        """The system's trusted CAs plus this one, in one file (as a user adds a private CA)."""
        bundle = directory / f"system-and-{self.name}.pem"
        system = SYSTEM_CA_BUNDLE.read_bytes() if SYSTEM_CA_BUNDLE.exists() else b""
        bundle.write_bytes(system + b"\n" + _pem(self.cert))
        return bundle


def tls_front(cert: Path, key: Path, backend_port: int) -> Envoy:
    """An Envoy terminating TLS with this certificate in front of 127.0.0.1:backend_port,
    passing requests on byte for byte (the backend checks their signatures). Its counters
    tell whether anything got past the handshake: front_requests()."""
    config = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [{
                "name": "tls_front",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [{
                    "transport_socket": {
                        "name": "envoy.transport_sockets.tls",
                        "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                            "common_tls_context": {"tls_certificates": [{
                                "certificate_chain": {"filename": str(cert)},
                                "private_key": {"filename": str(key)},
                            }]},
                        },
                    },
                    "filters": [{
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                            "stat_prefix": "front",
                            "normalize_path": False,
                            "merge_slashes": False,
                            "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
                            "request_timeout": "0s",
                            "route_config": {"virtual_hosts": [{
                                "name": "all", "domains": ["*"],
                                "routes": [{"match": {"prefix": "/"},
                                            "route": {"cluster": "backend", "timeout": "0s"}}],
                            }]},
                            "http_filters": [{
                                "name": "envoy.filters.http.router",
                                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
                            }],
                        },
                    }],
                }],
            }],
            "clusters": [{
                "name": "backend",
                "type": "STATIC",
                "connect_timeout": "5s",
                "load_assignment": {"cluster_name": "backend", "endpoints": [{"lb_endpoints": [{"endpoint": {
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": backend_port}}}}]}]},
            }],
        },
    }
    return TlsFront(config)


class TlsFront(Envoy):
    name = "tls-front"

    def front_requests(self) -> int:
        """HTTP requests that got through TLS to this front."""
        return self.counter("http.front.downstream_rq_total")

    def backend_requests(self) -> int:
        return self.counter("cluster.backend.upstream_rq_total")
