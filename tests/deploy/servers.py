"""What a task definition reaches on AWS, run here: PostgreSQL that requires TLS (RDS with
rds.force_ssl), Redis with TLS and a password (ElastiCache with transit encryption and AUTH),
each on loopback with a certificate from a CA of the rehearsal's own, which the tasks' processes
trust as they trust Amazon's (SSL_CERT_FILE)."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.stack import stop, wait_until
from tests.faults.stack import free_port

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class Certificates:
    ca: Path
    cert: Path
    key: Path


def make_certificates(folder: Path) -> Certificates:
    """A CA, and a certificate for 127.0.0.1 and localhost signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "formbridge rehearsal CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths.key.chmod(0o600)
    return paths


class TlsPostgres:
    """A PostgreSQL cluster of its own that accepts only TLS connections, with the role and
    the empty database the task definitions name."""

    def __init__(self, folder: Path, certificates: Certificates) -> None:
        self.folder, self.certificates, self.port = folder, certificates, free_port()
        self.process: subprocess.Popen | None = None

    def _as_postgres(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True, capture_output=True, text=True, **kwargs,
        )  # fmt: skip

    def start(self, *, user: str, password: str, database: str) -> TlsPostgres:
        self.folder.mkdir(parents=True)
        data = self.folder / "data"
        for name in ("cert", "key"):
            source = getattr(self.certificates, name)
            shutil.copy(source, self.folder / source.name)
        shutil.chown(self.folder, "postgres", "postgres")
        for child in self.folder.iterdir():
            shutil.chown(child, "postgres", "postgres")
        self._as_postgres(str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                          "--auth-local=trust", "--auth-host=scram-sha-256")  # fmt: skip
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"  # TLS or nothing, as RDS forces
        )
        self.process = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", str(POSTGRES_BIN / "postgres"), "-D", str(data),
             "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={self.folder}", "-c", "ssl=on",
             "-c", f"ssl_cert_file={self.folder / self.certificates.cert.name}",
             "-c", f"ssl_key_file={self.folder / self.certificates.key.name}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_until(self._ready, seconds=30, what="the rehearsal's PostgreSQL")
        self._as_postgres(
            "psql", "-h", str(self.folder), "-p", str(self.port),
            "-U", "postgres", "-d", "postgres",
            "-c", f"CREATE ROLE {user} LOGIN PASSWORD '{password}'",
            "-c", f"CREATE DATABASE {database} OWNER {user}",  # its own statement: no transaction
        )  # fmt: skip
        return self

    def _ready(self) -> bool:
        done = subprocess.run(
            [str(POSTGRES_BIN / "pg_isready"), "-h", str(self.folder), "-p", str(self.port)],
            capture_output=True,
        )
        return done.returncode == 0

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


class TlsRedis:
    """redis-server speaking only TLS, with a password (AUTH)."""

    def __init__(self, folder: Path, certificates: Certificates, password: str) -> None:
        self.folder, self.certificates, self.password = folder, certificates, password
        self.port, self.process = free_port(), None

    def start(self) -> TlsRedis:
        self.folder.mkdir(parents=True)
        c = self.certificates
        self.process = subprocess.Popen(
            ["redis-server", "--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1",
             "--tls-cert-file", str(c.cert), "--tls-key-file", str(c.key),
             "--tls-ca-cert-file", str(c.ca), "--tls-auth-clients", "no",
             "--requirepass", self.password, "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_until(self._ready, seconds=15, what="the rehearsal's Redis")
        return self

    def _ready(self) -> bool:
        done = subprocess.run(
            ["redis-cli", "--tls", "--cacert", str(self.certificates.ca), "-h", "127.0.0.1",
             "-p", str(self.port), "-a", self.password, "--no-auth-warning", "ping"],
            capture_output=True, text=True,
        )  # fmt: skip
        return done.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
