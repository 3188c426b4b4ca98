"""Where the broker is and how to log in: a frozen value, parsed from a URL.

    mqtt://user:password@host:1883
    mqtts://user:password@host:8883?ca=/etc/esl/ca.pem&cert=/etc/esl/me.pem&key=/etc/esl/me.key

`mqtts` turns TLS on (system CAs unless `ca` is given; `cert`/`key` for a client
certificate). User and password are percent-decoded, so any password can be written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from gateways.errors import InvalidBrokerUrlError

__all__ = ["BrokerEndpoint", "TlsFiles", "parse_broker_url"]

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: TlsFiles | None = None

    def with_credentials(self, username: str, password: str) -> BrokerEndpoint:
        return BrokerEndpoint(self.host, self.port, username, password, self.tls)

    @property
    def url(self) -> str:
        """The URL again, password included: for handing to a child process, not for logs."""
        scheme = "mqtts" if self.tls else "mqtt"
        login = ""
        if self.username is not None:
            login = quote(self.username, safe="")
            if self.password is not None:
                login += ":" + quote(self.password, safe="")
            login += "@"
        query = []
        if self.tls is not None:
            for key, path in (
                ("ca", self.tls.ca_file),
                ("cert", self.tls.cert_file),
                ("key", self.tls.key_file),
            ):
                if path is not None:
                    query.append(f"{key}={quote(str(path))}")
        suffix = "?" + "&".join(query) if query else ""
        return f"{scheme}://{login}{self.host}:{self.port}{suffix}"


def parse_broker_url(url: str) -> BrokerEndpoint:
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise InvalidBrokerUrlError(reason=f"scheme must be mqtt or mqtts, not {parts.scheme!r}")
    if not parts.hostname:
        raise InvalidBrokerUrlError(reason="no host")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise InvalidBrokerUrlError(reason="port is not a number from 1 to 65535") from exc
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"ca", "cert", "key"})
    if unknown:
        raise InvalidBrokerUrlError(reason=f"unknown parameters {', '.join(unknown)}")
    tls = None
    if parts.scheme == "mqtts":
        tls = TlsFiles(
            ca_file=Path(query["ca"]) if "ca" in query else None,
            cert_file=Path(query["cert"]) if "cert" in query else None,
            key_file=Path(query["key"]) if "key" in query else None,
        )
        if tls.key_file is not None and tls.cert_file is None:
            raise InvalidBrokerUrlError(reason="a client key needs a client cert")
    elif query:
        raise InvalidBrokerUrlError(reason="ca/cert/key need the mqtts scheme")
    return BrokerEndpoint(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
    )
