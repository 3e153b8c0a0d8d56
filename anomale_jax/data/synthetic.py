"""Synthetic labelled NetFlow traffic (NF-v2, 45 columns) from an enterprise-like network.

The generator is the project's built-in data set: `generate_flows(SyntheticConfig(...))` returns a pandas frame
with exactly the 45 NF-v2 columns in file order, and `write_flows` writes it as `.csv`, `.csv.gz` or `.parquet`,
so it loads through `load_netflow` like real data. Everything is vectorised numpy driven by one
`numpy.random.Generator` seeded from the config: the same config gives the same frame, bit for bit.

Network model
  * Internal clients at 10.1.S.H (240 per /24 subnet), mostly Windows, some Linux and macOS, with lognormal
    activity (a few busy hosts, a long tail). A small set of them are administrators.
  * Internal servers at 10.0.0.H with roles: DNS, web (also public-facing), mail, file (SMB), directory (LDAP,
    Kerberos), NTP, FTP, database and one management host (monitoring and automation). File and directory
    servers run Windows, the rest Linux; every Linux server accepts SSH.
  * External hosts at public addresses: two upstream DNS resolvers, an NTP pool, mail exchangers, visitors of
    the public web servers, and web sites with Zipf popularity; each client also has a few favourite sites.
    Popular sites carry an nDPI application (Google, Amazon, Microsoft, Facebook), so L7_PROTO reads
    `master.app` as in the NF-v2 exports (`91.126` is TLS.Google).
  * Per host: operating system (initial TTL, SYN size and TCP window), hop count from the probe and ephemeral
    port range; TTLs, windows and header sizes of every flow follow from its two endpoints.

Benign services (share of benign flows in `_SERVICES`): DNS from clients to their subnet's resolver and from
resolvers upstream; HTTPS/HTTP to the Internet; intranet HTTPS; inbound HTTPS from visitors; SMB to the subnet's
file server; LDAP and Kerberos; IMAPS; SMTP in and out of the mail server; NTP; interactive SSH and RDP by
administrators; short scripted SSH sessions and ICMP monitoring from the management host; FTP; web-to-database
queries; occasional large uploads to cloud sites.

Attack scenarios (`Attack` names in NF-v2 style, `Label` 1). Each is played out in episodes; the number of
episodes grows with the number of attack flows, so the signatures keep their shape at any size.
  * PortScan: one scanner (an external host running a SYN scanner, or a compromised client) probes hundreds of
    ports on 1-4 internal hosts: tiny flows, SYN answered by RST|ACK (closed), SYN|ACK then RST (open) or
    nothing (filtered). Signature: one source, few destinations, very many distinct ports.
  * HostScan: a compromised client sweeps consecutive internal addresses, including unused ones, with ICMP
    echo or TCP SYN to one port. Signature: fan-out to many distinct hosts, many of which never answer.
  * DoS: one external host floods one public web server with HTTP requests (Hulk-like short sessions that
    look like ordinary HTTP), half-open SYNs, or Slowloris-style slow, long connections. Signature: very
    many flows on a single host pair.
  * DDoS: tens to hundreds of external bots hit one public web server with near-identical short HTTP
    requests (LOIC/HOIC-like), UDP floods or SYN floods. Signature: a victim with a sudden in-degree of
    distinct, otherwise unseen sources.
  * SSH-Bruteforce: one source (external, sometimes an internal host moving laterally) opens repeated short
    SSH sessions to one Linux server; each flow looks like a short scripted SSH session (the management host
    makes those too). Signature: many similar flows on one pair.
  * FTP-BruteForce: one external source repeats USER/PASS logins against the FTP server, answered 530.
  * Bot: 3-8 infected clients beacon to one external C2 over HTTPS or HTTP on 8080 with near-constant small
    requests and answers; each beacon alone looks like a small web flow. Signature: a new external host
    with several internal clients and very regular flows.
  * Exfiltration: one internal host (usually a client, sometimes a server) uploads tens of megabytes per flow
    to a new external host over HTTPS or SSH; benign cloud uploads overlap in size.

Feature rules (every flow): packets = data packets (per-profile lognormal counts, answers correlated with
requests) plus TCP control packets (handshake, delayed ACKs, FIN or RST); each data packet falls into one of
the five NF-v2 size buckets with per-profile probabilities and sizes, so bytes, the size histogram
(`NUM_PKTS_*` counts both directions, as in the real exports), LONGEST/SHORTEST_FLOW_PKT and MIN/MAX_IP_PKT_LEN
agree with each other. TCP_FLAGS is CLIENT | SERVER flags. Durations come from the endpoints' round-trip time
and per-profile packet gaps (at most 600 s); `*_AVG_THROUGHPUT` is bits/s over the direction's duration (a duration under 1 ms
counts as 1 ms) and `*_SECOND_BYTES` is bytes per second over whole seconds (equal to the bytes for flows under
a second, as in the exports). Retransmissions are a subset of the packets. ICMP_TYPE is type * 256 + code,
DNS and FTP fields are set only on DNS and FTP flows; flows without payload get L7_PROTO 0, as do a
configurable share of the others (nDPI cannot classify everything).

Not modelled: the exports' quirks (durations that wrapped around 2**32 ms, `*_SECOND_BYTES` that concatenate
per-second counts, garbage ICMP_TYPE on TCP flows), flow splitting at active timeouts, timestamps, IPv6.
The generator was not tuned for any detector: the values are meant to be plausible, not separable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from anomale_jax.data.schema import ATTACK, BENIGN, LABEL, NF_V2_COLUMNS
from anomale_jax.errors import InputError
from anomale_jax.io import atomic_path

SCENARIOS: tuple[str, ...] = (
    "PortScan", "HostScan", "DoS", "DDoS", "SSH-Bruteforce", "FTP-BruteForce", "Bot", "Exfiltration",
)
DEFAULT_SCENARIO_MIX: tuple[tuple[str, float], ...] = (
    ("PortScan", 0.15), ("HostScan", 0.08), ("DoS", 0.18), ("DDoS", 0.25),
    ("SSH-Bruteforce", 0.10), ("FTP-BruteForce", 0.06), ("Bot", 0.12), ("Exfiltration", 0.06),
)
SERVER_ROLES: tuple[str, ...] = ("dns", "web", "mail", "file", "dc", "ntp", "ftp", "db", "mgmt")
# Roles that extra servers (beyond one per role) take, in turn.
_EXTRA_ROLES: tuple[str, ...] = ("web", "file", "dns", "db", "dc", "ssh")
_WINDOWS_ROLES = ("file", "dc")
_CLIENTS_PER_SUBNET = 240


@dataclass(frozen=True)
class SyntheticConfig:
    """What to generate. Override with `dataclasses.replace`."""

    num_flows: int = 50_000
    """Total number of flows (rows), benign and attack."""
    seed: int = 0
    """Seed of the numpy Generator; the same config always gives the same frame."""
    attack_share: float = 0.05
    """Fraction of flows that are attacks, in [0, 1); rounded to a whole number of flows."""
    num_clients: int = 200
    """Internal client workstations (10.1.S.H, 240 per subnet)."""
    num_servers: int = 16
    """Internal servers (10.0.0.H); at least one per role in SERVER_ROLES, extras cycle web, file, dns, db, dc
    and plain Linux (SSH-only) servers."""
    num_external: int = 600
    """External (Internet) hosts seen in benign traffic: resolvers, NTP pool, mail exchangers, web visitors,
    web sites. Attackers, bots and C2 servers are extra."""
    scenario_mix: tuple[tuple[str, float], ...] = DEFAULT_SCENARIO_MIX
    """(Attack name, weight) pairs: how the attack flows split between scenarios. Every scenario with a
    positive weight gets at least one flow whenever there are at least as many attack flows as scenarios."""
    unknown_l7_share: float = 0.1
    """Fraction of flows with payload that nDPI leaves unclassified (L7_PROTO 0)."""

    def __post_init__(self):
        def bad(field: str, why: str):
            raise InputError(f"synthetic config: {field}={getattr(self, field)!r} {why}")

        if not isinstance(self.num_flows, (int, np.integer)) or self.num_flows < 1:
            bad("num_flows", "must be a positive integer")
        if not 0.0 <= self.attack_share < 1.0:
            bad("attack_share", "must be in [0, 1)")
        if not 1 <= self.num_clients <= _CLIENTS_PER_SUBNET * 255:
            bad("num_clients", f"must be in [1, {_CLIENTS_PER_SUBNET * 255}]")
        if not len(SERVER_ROLES) <= self.num_servers <= 240:
            bad("num_servers", f"must be in [{len(SERVER_ROLES)}, 240] (one server per role at least)")
        if not 60 <= self.num_external <= 1_000_000:
            bad("num_external", "must be in [60, 1000000]")
        if not 0.0 <= self.unknown_l7_share <= 1.0:
            bad("unknown_l7_share", "must be in [0, 1]")
        names = [name for name, _ in self.scenario_mix]
        unknown = [name for name in names if name not in SCENARIOS]
        if unknown:
            bad("scenario_mix", f"names unknown scenario {unknown[0]!r} (known: {', '.join(SCENARIOS)})")
        if len(set(names)) != len(names):
            bad("scenario_mix", "names a scenario twice")
        weights = [w for _, w in self.scenario_mix]
        if any(not np.isfinite(w) or w < 0 for w in weights):
            bad("scenario_mix", "has a negative or non-finite weight")
        if self.attack_share > 0 and sum(weights) <= 0:
            bad("scenario_mix", "has no positive weight although attack_share > 0")


# --------------------------------------------------------------------------------------------------------------
# Hosts: operating systems and the host table.

class _OS(NamedTuple):
    ttl: int                       # initial TTL
    hdr: int                       # IP length of a bare ACK/FIN (40 without, 52 with TCP timestamps)
    syn: int                       # IP length of its SYN / SYN-ACK
    windows: tuple[int, ...]       # SYN window choices
    window_p: tuple[float, ...]
    ephemeral: tuple[int, int]     # source port range


_OS_TABLE: dict[str, _OS] = {
    "windows": _OS(128, 40, 52, (64240, 65535, 8192), (0.6, 0.25, 0.15), (49152, 65535)),
    "linux": _OS(64, 52, 60, (64240, 29200, 65535), (0.5, 0.3, 0.2), (32768, 60999)),
    "macos": _OS(64, 52, 64, (65535,), (1.0,), (49152, 65535)),
    "linux_server": _OS(64, 52, 60, (65160, 28960, 26847), (0.5, 0.3, 0.2), (32768, 60999)),
    "windows_server": _OS(128, 40, 52, (65535, 8192), (0.5, 0.5), (49152, 65535)),
    "appliance": _OS(255, 40, 44, (4128, 16384), (0.5, 0.5), (1024, 65535)),
    "scanner": _OS(64, 40, 44, (1024,), (1.0,), (32768, 60999)),   # raw-socket SYN scanner (nmap -sS)
}
_OS_NAMES = tuple(_OS_TABLE)
_OS_ID = {name: i for i, name in enumerate(_OS_NAMES)}


class _Hosts:
    """Host attributes, appended in blocks; `freeze()` returns them as arrays indexed by host id."""

    _FIELDS = ("ip", "ttl", "hops", "win", "hdr", "syn", "eph_lo", "eph_hi", "app", "internal")

    def __init__(self):
        self._blocks: dict[str, list[np.ndarray]] = {f: [] for f in self._FIELDS}
        self.count = 0

    def add(self, rng: np.random.Generator, ips: np.ndarray, os_ids: np.ndarray, hops: np.ndarray,
            internal: bool, app: np.ndarray | None = None) -> np.ndarray:
        """Adds len(ips) hosts; returns their ids. `os_ids`, `hops`: [k] or scalars."""
        k = len(ips)
        os_ids = np.broadcast_to(np.asarray(os_ids, np.int64), (k,))
        win_choice = np.zeros((len(_OS_NAMES), 3))
        win_value = np.zeros((len(_OS_NAMES), 3), np.int64)
        for i, name in enumerate(_OS_NAMES):
            osd = _OS_TABLE[name]
            win_choice[i, : len(osd.windows)] = osd.window_p
            win_value[i, : len(osd.windows)] = osd.windows
        col = _categorical(rng, win_choice[os_ids])
        values = {
            "ip": np.asarray(ips, np.int64),
            "ttl": np.array([_OS_TABLE[n].ttl for n in _OS_NAMES])[os_ids],
            "hops": np.broadcast_to(np.asarray(hops, np.int64), (k,)),
            "win": win_value[os_ids, col],
            "hdr": np.array([_OS_TABLE[n].hdr for n in _OS_NAMES])[os_ids],
            "syn": np.array([_OS_TABLE[n].syn for n in _OS_NAMES])[os_ids],
            "eph_lo": np.array([_OS_TABLE[n].ephemeral[0] for n in _OS_NAMES])[os_ids],
            "eph_hi": np.array([_OS_TABLE[n].ephemeral[1] for n in _OS_NAMES])[os_ids],
            "app": np.zeros(k, np.int64) if app is None else np.asarray(app, np.int64),
            "internal": np.full(k, internal),
        }
        for f in self._FIELDS:
            self._blocks[f].append(np.array(values[f]))
        ids = np.arange(self.count, self.count + k)
        self.count += k
        return ids

    def ips(self) -> np.ndarray:
        return np.concatenate(self._blocks["ip"])

    def freeze(self) -> dict[str, np.ndarray]:
        return {f: np.concatenate(v) for f, v in self._blocks.items()}


def _categorical(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One draw per row of p [N, K] (rows sum to 1) -> [N] column indices."""
    u = rng.random(len(p))[:, None]
    return np.minimum((u > np.cumsum(p, axis=1)).sum(axis=1), p.shape[1] - 1)


def _ip(a: int, b: int, c, d) -> np.ndarray:
    return (a << 24) | (b << 16) | (np.asarray(c, np.int64) << 8) | np.asarray(d, np.int64)


# First octets that are not public unicast space (private, loopback, CGNAT, link-local, test nets, multicast).
_NOT_PUBLIC_FIRST_OCTET = (0, 10, 100, 127, 169, 172, 192, 198, 203)


def _public_ips(rng: np.random.Generator, k: int, taken: np.ndarray) -> np.ndarray:
    """k distinct public IPv4 addresses (as int64) not in `taken`, in random order."""
    out = np.empty(0, np.int64)
    while len(out) < k:
        draw = rng.integers(1 << 24, 224 << 24, size=2 * (k - len(out)) + 16, dtype=np.int64)
        draw = draw[~np.isin(draw >> 24, _NOT_PUBLIC_FIRST_OCTET) & (draw & 0xFF > 0) & (draw & 0xFF < 255)]
        draw = draw[~np.isin(draw, taken) & ~np.isin(draw, out)]
        _, first = np.unique(draw, return_index=True)
        out = np.concatenate([out, draw[np.sort(first)]])
    return out[:k]


# nDPI application ids carried by popular external sites, and their weights (0: no application).
_APPS = np.array([0, 126, 178, 212, 119])        # none, Google, Amazon, Microsoft, Facebook
_APP_P = np.array([0.40, 0.22, 0.18, 0.13, 0.07])


@dataclass
class _Network:
    """Host ids by role; built once per generation."""

    hosts: _Hosts
    clients: np.ndarray            # [C] host ids (ids 0..C-1)
    client_subnet: np.ndarray      # [C]
    client_p: np.ndarray           # [C] activity weights (sum 1)
    admins: np.ndarray
    roles: dict[str, np.ndarray]   # role -> server host ids
    linux_servers: np.ndarray
    windows_servers: np.ndarray
    servers: np.ndarray
    resolvers: np.ndarray
    ntp_pool: np.ndarray
    mx: np.ndarray
    visitors: np.ndarray
    web: np.ndarray                # external web sites, most popular first
    web_p: np.ndarray
    favourites: np.ndarray         # [C, 5] favourite sites of each client
    subnets: np.ndarray            # base addresses of the internal /24s (servers first)


def _build_network(rng: np.random.Generator, cfg: SyntheticConfig) -> _Network:
    hosts = _Hosts()

    # Clients: mostly Windows; 0 or 1 hop from the probe.
    c = cfg.num_clients
    subnet = np.arange(c) // _CLIENTS_PER_SUBNET
    os_ids = np.array([_OS_ID["windows"], _OS_ID["linux"], _OS_ID["macos"]])[
        _categorical(rng, np.tile([0.7, 0.18, 0.12], (c, 1)))]
    clients = hosts.add(rng, _ip(10, 1, subnet, 10 + np.arange(c) % _CLIENTS_PER_SUBNET), os_ids,
                        rng.integers(0, 2, c), internal=True)
    activity = rng.lognormal(0.0, 0.8, c)
    admins = rng.choice(clients, size=max(2, c // 25), replace=c < 2)

    # Servers: one per role, then extras; Windows for file and directory roles.
    roles_of = list(SERVER_ROLES) + [_EXTRA_ROLES[i % len(_EXTRA_ROLES)]
                                     for i in range(cfg.num_servers - len(SERVER_ROLES))]
    is_windows = np.array([r in _WINDOWS_ROLES for r in roles_of])
    servers = hosts.add(rng, _ip(10, 0, 0, 10 + np.arange(cfg.num_servers)),
                        np.where(is_windows, _OS_ID["windows_server"], _OS_ID["linux_server"]),
                        rng.integers(0, 2, cfg.num_servers), internal=True)
    roles = {r: servers[[i for i, x in enumerate(roles_of) if x == r]] for r in SERVER_ROLES}

    # External hosts: fixed groups, then web sites with Zipf popularity and nDPI applications.
    e = cfg.num_external
    n_mx, n_visitors = max(4, e // 15), max(8, e // 5)
    ext_ip = _public_ips(rng, e, np.empty(0, np.int64))
    ext_os = np.where(rng.random(e) < 0.85, _OS_ID["linux_server"],
                      np.where(rng.random(e) < 0.7, _OS_ID["windows_server"], _OS_ID["appliance"]))
    visitor_os = np.array([_OS_ID["windows"], _OS_ID["linux"], _OS_ID["macos"]])[
        _categorical(rng, np.tile([0.6, 0.2, 0.2], (e, 1)))]
    is_visitor = np.zeros(e, bool)
    is_visitor[6 + n_mx: 6 + n_mx + n_visitors] = True
    ext_os = np.where(is_visitor, visitor_os, ext_os)
    is_site = np.zeros(e, bool)
    is_site[6 + n_mx + n_visitors:] = True
    app = np.where(is_site, _APPS[_categorical(rng, np.tile(_APP_P, (e, 1)))], 0)
    ext = hosts.add(rng, ext_ip, ext_os, rng.integers(6, 25, e), internal=False, app=app)
    web = ext[is_site]
    web_p = 1.0 / np.arange(1, len(web) + 1) ** 1.0
    web_p /= web_p.sum()
    favourites = web[rng.integers(0, len(web), (c, 5))]

    subnet_ids = np.arange(subnet.max() + 1)
    return _Network(
        hosts=hosts, clients=clients, client_subnet=subnet, client_p=activity / activity.sum(),
        admins=admins, roles=roles,
        linux_servers=servers[~is_windows], windows_servers=servers[is_windows], servers=servers,
        resolvers=ext[0:2], ntp_pool=ext[2:6], mx=ext[6:6 + n_mx], visitors=ext[is_visitor],
        web=web, web_p=web_p, favourites=favourites,
        subnets=np.concatenate([[_ip(10, 0, 0, 0)], _ip(10, 1, subnet_ids, 0)]),
    )


# --------------------------------------------------------------------------------------------------------------
# Flow profiles: how a flow of one kind behaves, whoever its endpoints are.

# Size buckets of the NF-v2 histogram: IP packet length ranges.
_BUCKET_LO = np.array([20, 129, 257, 513, 1025])
_BUCKET_HI = np.array([128, 256, 512, 1024, 1500])

# Outcomes of a flow. TCP: full session; SYN answered by RST|ACK (closed port); SYN, SYN|ACK, RST (half open);
# SYN unanswered; SYN answered by SYN|ACK that the client never acknowledges. UDP/ICMP: answered or not.
SESSION, CLOSED, HALF_OPEN, NO_ANSWER, SYN_ACKED = 0, 1, 2, 3, 4

# Special per-flow fields.
_PLAIN, _DNS, _FTP_OK, _FTP_FAIL, _ICMP_ECHO = 0, 1, 2, 3, 4


class _Profile(NamedTuple):
    proto: int                               # 6 TCP, 17 UDP, 1 ICMP
    port: int                                # server port (scenario code may override per flow)
    l7: int                                  # nDPI master protocol (0 unknown)
    outcome: tuple[float, ...]               # P(SESSION, CLOSED, HALF_OPEN, NO_ANSWER, SYN_ACKED)
    req: tuple[float, float, int]            # client data packets: lognormal (median, sigma), minimum
    resp: tuple[float, float, int]           # server/client data-packet ratio: lognormal (median, sigma), min
    req_p: tuple[float, ...]                 # client data packets per size bucket
    req_size: tuple[float, ...]              # typical IP length in each bucket
    resp_p: tuple[float, ...]
    resp_size: tuple[float, ...]
    jitter: float                            # per-flow log-sd of packet sizes
    gap: tuple[float, float]                 # ms between data packets: lognormal (median, sigma)
    term: tuple[float, float]                # P(RST close), P(left open); the rest close with FIN
    retx: float                              # probability of retransmissions
    kind: int = _PLAIN


_S = (90, 190, 380, 760, 1440)   # generic bucket sizes
_PROFILES: dict[str, _Profile] = {
    # Benign.
    "dns": _Profile(17, 53, 5, (0.98, 0, 0, 0.02, 0), (1, 0.25, 1), (1, 0.2, 1), (1, 0, 0, 0, 0),
                    (74, 190, 380, 760, 1440), (0.5, 0.35, 0.15, 0, 0), (110, 185, 330, 760, 1440),
                    0.2, (20, 1.0), (0, 0), 0, _DNS),
    "https": _Profile(6, 443, 91, (0.97, 0.005, 0, 0.025, 0), (8, 1.0, 1), (2.5, 1.0, 1),
                      (0.45, 0.2, 0.2, 0.1, 0.05), (95, 190, 380, 700, 1300), (0.12, 0.08, 0.08, 0.12, 0.6),
                      (100, 190, 390, 760, 1440), 0.15, (15, 1.2), (0.15, 0.1), 0.08),
    "http": _Profile(6, 80, 7, (0.97, 0.01, 0, 0.02, 0), (3, 0.8, 1), (4, 1.1, 1), (0.3, 0.2, 0.4, 0.1, 0),
                     (90, 200, 420, 700, 1300), (0.1, 0.05, 0.1, 0.1, 0.65), _S, 0.15, (10, 1.2),
                     (0.1, 0.05), 0.06),
    "smb": _Profile(6, 445, 41, (0.99, 0, 0, 0.01, 0), (12, 1.2, 1), (1.5, 1.2, 1),
                    (0.35, 0.25, 0.2, 0.1, 0.1), _S, (0.25, 0.15, 0.1, 0.1, 0.4), _S, 0.15, (5, 1.5),
                    (0.05, 0.3), 0.03),
    "ldap": _Profile(6, 389, 112, (1, 0, 0, 0, 0), (4, 0.5, 1), (1.2, 0.4, 1), (0.3, 0.4, 0.3, 0, 0), _S,
                     (0.2, 0.3, 0.3, 0.2, 0), _S, 0.15, (2, 1.0), (0.05, 0.2), 0.01),
    "kerberos": _Profile(6, 88, 111, (1, 0, 0, 0, 0), (2, 0.3, 1), (1, 0.2, 1), (0, 0.1, 0.3, 0.4, 0.2), _S,
                         (0, 0, 0.2, 0.5, 0.3), _S, 0.1, (2, 0.8), (0.02, 0), 0.01),
    "imaps": _Profile(6, 993, 51, (0.99, 0, 0, 0.01, 0), (10, 1.0, 1), (2, 1.2, 1), (0.6, 0.2, 0.1, 0.1, 0),
                      _S, (0.2, 0.1, 0.1, 0.1, 0.5), _S, 0.15, (50, 1.5), (0.05, 0.3), 0.03),
    "smtp": _Profile(6, 25, 3, (0.98, 0.01, 0, 0.01, 0), (10, 1.2, 3), (0.6, 0.4, 1),
                     (0.3, 0.1, 0.1, 0.1, 0.4), _S, (0.8, 0.2, 0, 0, 0), (80, 160, 380, 760, 1440), 0.15,
                     (30, 1.0), (0.05, 0), 0.05),
    "ntp": _Profile(17, 123, 9, (0.99, 0, 0, 0.01, 0), (1, 0, 1), (1, 0, 1), (1, 0, 0, 0, 0),
                    (76, 190, 380, 760, 1440), (1, 0, 0, 0, 0), (76, 190, 380, 760, 1440), 0.0, (10, 0.5),
                    (0, 0), 0),
    "ssh_interactive": _Profile(6, 22, 92, (1, 0, 0, 0, 0), (300, 1.2, 20), (1.3, 0.5, 1),
                                (0.85, 0.1, 0.03, 0.01, 0.01), (90, 170, 350, 700, 1300),
                                (0.6, 0.2, 0.1, 0.05, 0.05), _S, 0.15, (500, 1.0), (0.05, 0.15), 0.03),
    "ssh_auto": _Profile(6, 22, 92, (0.99, 0, 0, 0.01, 0), (14, 0.35, 8), (1.1, 0.3, 1),
                         (0.6, 0.25, 0.1, 0.05, 0), (90, 180, 330, 700, 1300), (0.5, 0.25, 0.15, 0.1, 0),
                         (95, 180, 330, 760, 1300), 0.1, (30, 0.8), (0.05, 0), 0.01),
    "rdp": _Profile(6, 3389, 88, (1, 0, 0, 0, 0), (400, 1.0, 20), (2, 0.6, 1), (0.7, 0.2, 0.05, 0.05, 0), _S,
                    (0.3, 0.2, 0.2, 0.1, 0.2), _S, 0.15, (80, 1.0), (0.05, 0.2), 0.03),
    "ftp": _Profile(6, 21, 1, (0.98, 0.01, 0, 0.01, 0), (10, 0.6, 4), (1.2, 0.3, 1), (0.9, 0.1, 0, 0, 0),
                    (70, 150, 380, 760, 1440), (0.85, 0.15, 0, 0, 0), (90, 160, 380, 760, 1440), 0.1,
                    (100, 1.0), (0.03, 0), 0.02, _FTP_OK),
    "icmp_echo": _Profile(1, 0, 81, (0.97, 0, 0, 0.03, 0), (1.5, 0.5, 1), (1, 0, 1), (1, 0, 0, 0, 0),
                         (84, 190, 380, 760, 1440), (1, 0, 0, 0, 0), (84, 190, 380, 760, 1440), 0.0,
                         (1000, 0.01), (0, 0), 0, _ICMP_ECHO),
    "db": _Profile(6, 5432, 19, (1, 0, 0, 0, 0), (6, 0.8, 1), (2, 1.0, 1), (0.4, 0.3, 0.2, 0.1, 0), _S,
                   (0.3, 0.2, 0.2, 0.1, 0.2), _S, 0.15, (1, 1.0), (0.02, 0.5), 0.01),
    "upload": _Profile(6, 443, 91, (1, 0, 0, 0, 0), (2000, 1.5, 50), (0.02, 0.3, 1),
                       (0.02, 0.01, 0.01, 0.02, 0.94), (90, 190, 380, 760, 1440), (0.6, 0.2, 0.2, 0, 0), _S,
                       0.05, (2, 0.8), (0.05, 0), 0.2),
    # Attacks.
    "scan": _Profile(6, 0, 0, (0, 0.85, 0.05, 0.1, 0), (1, 0, 1), (1, 0, 1), (1, 0, 0, 0, 0), _S,
                     (1, 0, 0, 0, 0), _S, 0.0, (1, 0), (0, 0), 0),
    "icmp_sweep": _Profile(1, 0, 81, (1, 0, 0, 0, 0), (1, 0, 1), (1, 0, 1), (1, 0, 0, 0, 0),
                           (28, 190, 380, 760, 1440), (1, 0, 0, 0, 0), (28, 190, 380, 760, 1440), 0.0,
                           (1, 0), (0, 0), 0, _ICMP_ECHO),
    "http_flood": _Profile(6, 80, 7, (0.95, 0, 0, 0.05, 0), (4, 0.2, 1), (1.2, 0.2, 1), (0, 0, 0.9, 0.1, 0),
                           (90, 190, 420, 560, 1300), (0.1, 0, 0.1, 0.5, 0.3), (100, 190, 450, 900, 1300),
                           0.05, (8, 0.5), (0.1, 0), 0.1),
    "http_burst": _Profile(6, 80, 7, (0.97, 0, 0, 0.03, 0), (1, 0, 1), (1, 0, 1), (0, 0, 1, 0, 0),
                           (90, 190, 480, 760, 1440), (0, 0, 0, 0, 1), (90, 190, 380, 760, 1100), 0.03,
                           (5, 0.5), (0.3, 0), 0.02),
    "syn_flood": _Profile(6, 80, 0, (0, 0, 0, 0.5, 0.5), (1, 0, 1), (1, 0, 1), (1, 0, 0, 0, 0), _S,
                          (1, 0, 0, 0, 0), _S, 0.0, (1, 0), (0, 0), 0),
    "slowloris": _Profile(6, 80, 7, (1, 0, 0, 0, 0), (15, 0.3, 5), (0.01, 0, 0), (1, 0, 0, 0, 0),
                          (70, 190, 380, 760, 1440), (1, 0, 0, 0, 0), _S, 0.1, (8000, 0.3), (0.2, 0.8), 0.01),
    "udp_flood": _Profile(17, 53, 0, (0, 0, 0, 1, 0), (20, 1.0, 1), (1, 0, 0), (0, 0, 0.2, 0.4, 0.4),
                          (90, 190, 400, 800, 1400), (1, 0, 0, 0, 0), _S, 0.05, (1, 0.5), (0, 0), 0),
    "ssh_brute": _Profile(6, 22, 92, (0.98, 0, 0, 0.02, 0), (14, 0.12, 8), (1.0, 0.1, 1),
                          (0.55, 0.3, 0.1, 0.05, 0), (90, 170, 330, 700, 1300), (0.5, 0.3, 0.15, 0.05, 0),
                          (95, 180, 330, 760, 1300), 0.05, (40, 0.3), (0.1, 0), 0.01),
    "ftp_brute": _Profile(6, 21, 1, (0.97, 0, 0, 0.03, 0), (5, 0.15, 3), (1.2, 0.1, 1), (0.95, 0.05, 0, 0, 0),
                          (70, 150, 380, 760, 1440), (0.9, 0.1, 0, 0, 0), (90, 150, 380, 760, 1440), 0.05,
                          (60, 0.3), (0.3, 0), 0.0, _FTP_FAIL),
    "beacon_tls": _Profile(6, 443, 91, (0.99, 0, 0, 0.01, 0), (3, 0.05, 3), (1, 0.05, 1), (0, 0, 1, 0, 0),
                           (90, 190, 420, 760, 1440), (0, 1, 0, 0, 0), (90, 210, 380, 760, 1440), 0.03,
                           (40, 0.2), (0.02, 0), 0.01),
    "beacon_http": _Profile(6, 8080, 131, (0.99, 0, 0, 0.01, 0), (3, 0.05, 3), (1, 0.05, 1),
                            (0, 0, 1, 0, 0), (90, 190, 370, 760, 1440), (0, 0.5, 0.5, 0, 0),
                            (90, 160, 300, 760, 1440), 0.03, (40, 0.2), (0.02, 0), 0.01),
    "exfil_tls": _Profile(6, 443, 91, (1, 0, 0, 0, 0), (8000, 0.8, 500), (0.02, 0.3, 1),
                          (0.01, 0.01, 0.01, 0.02, 0.95), (90, 190, 380, 760, 1440), (0.6, 0.2, 0.2, 0, 0), _S,
                          0.03, (2, 0.5), (0.02, 0), 0.2),
    "exfil_ssh": _Profile(6, 22, 92, (1, 0, 0, 0, 0), (8000, 0.8, 500), (0.02, 0.3, 1),
                          (0.01, 0.01, 0.01, 0.02, 0.95), (90, 190, 380, 760, 1440), (0.6, 0.2, 0.2, 0, 0), _S,
                          0.03, (2, 0.5), (0.02, 0), 0.2),
}
_PROFILE_NAMES = tuple(_PROFILES)
_PID = {name: i for i, name in enumerate(_PROFILE_NAMES)}


def _profile_table() -> dict[str, np.ndarray]:
    """The profiles as arrays indexed by profile id (fields of _Profile; tuples become extra axes)."""
    table = {}
    for field in _Profile._fields:
        values = [getattr(_PROFILES[n], field) for n in _PROFILE_NAMES]
        table[field] = np.array(values, dtype=np.float64)
    return table


# nDPI guess from the server port, used for flows that reached a listening port (half-open scan probes).
_PORT_L7 = {21: 1, 22: 92, 25: 3, 53: 5, 80: 7, 88: 111, 123: 9, 139: 10, 389: 112, 443: 91, 445: 41,
            993: 51, 3389: 88, 5432: 19, 3306: 20, 8080: 131}
# Ports a port scan likes to try first, and ports that scanned hosts tend to have open.
_TOP_PORTS = np.array([21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1723, 3306,
                       3389, 5432, 5900, 8080, 8443, 1433, 1521, 2049, 5060, 6379, 9200, 27017, 161, 389, 88])
_OPEN_PORTS = np.array([22, 53, 80, 88, 135, 139, 389, 443, 445, 3389, 5432])


# --------------------------------------------------------------------------------------------------------------
# Flow plan: endpoints, profile and label of every flow, before any feature is drawn.

class _Plan:
    """Blocks of planned flows. -1 in sport/dport/outcome: take the default (ephemeral, profile, drawn)."""

    _FIELDS = ("src", "dst", "profile", "sport", "dport", "outcome", "attack")

    def __init__(self):
        self._blocks: dict[str, list[np.ndarray]] = {f: [] for f in self._FIELDS}

    def add(self, src, dst, profile, attack: int = -1, sport=-1, dport=-1, outcome=-1) -> None:
        n = len(np.atleast_1d(src))
        values = dict(src=src, dst=dst, profile=profile, sport=sport, dport=dport, outcome=outcome, attack=attack)
        for f in self._FIELDS:
            self._blocks[f].append(np.broadcast_to(np.asarray(values[f], np.int64), (n,)).copy())

    def freeze(self) -> dict[str, np.ndarray]:
        return {f: np.concatenate(v) if v else np.empty(0, np.int64) for f, v in self._blocks.items()}


# Benign services: (share of benign flows, profile, source pool, destination pool, fixed source port or -1).
_SERVICES: tuple[tuple[float, str, str, str, int], ...] = (
    (0.20, "dns", "clients", "dns@subnet", -1),
    (0.04, "dns", "role:dns", "resolvers", -1),
    (0.30, "https", "clients", "sites", -1),
    (0.06, "http", "clients", "sites", -1),
    (0.06, "https", "clients", "role:web", -1),
    (0.03, "https", "visitors", "role:web", -1),
    (0.07, "smb", "clients", "file@subnet", -1),
    (0.04, "ldap", "clients", "role:dc", -1),
    (0.03, "kerberos", "clients", "role:dc", -1),
    (0.03, "imaps", "clients", "role:mail", -1),
    (0.008, "smtp", "role:mail", "mx", -1),
    (0.007, "smtp", "mx", "role:mail", -1),
    (0.02, "ntp", "clients", "role:ntp", -1),
    (0.003, "ntp", "role:ntp", "ntp_pool", 123),
    (0.006, "ssh_interactive", "admins", "linux_servers", -1),
    (0.012, "ssh_auto", "role:mgmt", "linux_servers", -1),
    (0.004, "rdp", "admins", "windows_servers", -1),
    (0.004, "ftp", "clients", "role:ftp", -1),
    (0.012, "icmp_echo", "role:mgmt", "servers", -1),
    (0.04, "db", "role:web", "role:db", -1),
    (0.004, "upload", "clients", "cloud", -1),
)


def _pick(rng: np.random.Generator, net: _Network, pool: str, k: int, src: np.ndarray | None = None):
    """k host ids from a named pool; `src` (the chosen sources) for pools that depend on the source."""
    if pool == "clients":
        return rng.choice(net.clients, size=k, p=net.client_p)
    if pool.startswith("role:"):
        return rng.choice(net.roles[pool[5:]], size=k)
    if pool.endswith("@subnet"):
        # Clients mostly use the server assigned to their subnet; servers as sources pick any.
        group = net.roles[pool.split("@")[0]]
        home = group[net.client_subnet[np.minimum(src, len(net.clients) - 1)] % len(group)]
        home = np.where(src < len(net.clients), home, rng.choice(group, size=k))
        return np.where(rng.random(k) < 0.9, home, rng.choice(group, size=k))
    if pool == "sites":
        # Global popularity, or one of the client's favourite sites.
        popular = rng.choice(net.web, size=k, p=net.web_p)
        favourite = net.favourites[src, rng.integers(0, 5, k)]
        return np.where(rng.random(k) < 0.3, favourite, popular)
    if pool == "cloud":
        return net.web[rng.integers(0, min(10, len(net.web)), k)]
    groups = dict(admins=net.admins, visitors=net.visitors, resolvers=net.resolvers, ntp_pool=net.ntp_pool,
                  mx=net.mx, linux_servers=net.linux_servers, windows_servers=net.windows_servers,
                  servers=net.servers)
    return rng.choice(groups[pool], size=k)


def _plan_benign(rng: np.random.Generator, net: _Network, n: int, plan: _Plan) -> None:
    shares = np.array([s[0] for s in _SERVICES])
    counts = rng.multinomial(n, shares / shares.sum())
    for (_, profile, src_pool, dst_pool, sport), k in zip(_SERVICES, counts):
        if k == 0:
            continue
        src = _pick(rng, net, src_pool, k)
        dst = _pick(rng, net, dst_pool, k, src)
        # A host does not talk to itself (the management server monitors the others): redraw those.
        for _ in range(20):
            self_loop = np.flatnonzero(src == dst)
            if len(self_loop) == 0:
                break
            dst[self_loop] = _pick(rng, net, dst_pool, len(self_loop), src[self_loop])
        plan.add(src, dst, _PID[profile], sport=sport)


# --------------------------------------------------------------------------------------------------------------
# Attack scenarios. Each takes the number of flows and adds exactly that many, grouped in episodes.

def _episodes(n: int, per_episode: int) -> tuple[int, np.ndarray]:
    """Number of episodes and the episode of each of n flows (contiguous, near-equal sizes)."""
    e = max(1, int(round(n / per_episode)))
    return e, (np.arange(n) * e) // n


def _mix(rng: np.random.Generator, names: tuple[str, ...], p: tuple[float, ...], k: int) -> np.ndarray:
    return np.array([_PID[x] for x in names])[rng.choice(len(names), size=k, p=p)]


def _new_external(rng: np.random.Generator, net: _Network, k: int, os_ids) -> np.ndarray:
    ips = _public_ips(rng, k, net.hosts.ips())
    return net.hosts.add(rng, ips, os_ids, rng.integers(6, 25, k), internal=False)


def _port_scan(rng, net, n, plan, a):
    e, ep = _episodes(n, 800)
    # A SYN scanner on the Internet, or (30%) a compromised client; 1-4 internal targets per episode.
    internal = rng.random(e) < 0.3
    scanner = np.where(internal, rng.choice(net.clients, size=e), _new_external(rng, net, e, _OS_ID["scanner"]))
    inside = np.concatenate([net.servers, net.clients])
    targets = rng.choice(inside, size=(e, 4))
    n_targets = rng.integers(1, 5, e)
    dst = targets[ep, (rng.random(n) * n_targets[ep]).astype(np.int64)]
    dst = np.where(dst == scanner[ep], net.servers[0], dst)   # a compromised client does not scan itself
    dport = np.where(rng.random(n) < 0.4, _TOP_PORTS[rng.integers(0, len(_TOP_PORTS), n)],
                     rng.integers(1, 65536, n))
    # Listening ports answer SYN|ACK; the rest RST|ACK, or nothing behind a filter.
    u = rng.random(n)
    outcome = np.where(np.isin(dport, _OPEN_PORTS) & (u < 0.7), HALF_OPEN,
                       np.where(rng.random(n) < 0.85, CLOSED, NO_ANSWER))
    fixed_sport = rng.integers(32768, 61000, e)
    sport = np.where(rng.random(n) < 0.6, fixed_sport[ep], -1)
    plan.add(scanner[ep], dst, _PID["scan"], a, sport=sport, dport=dport, outcome=outcome)


def _host_scan(rng, net, n, plan, a):
    e, ep = _episodes(n, 300)
    scanner = rng.choice(net.clients, size=e)
    # Sweep consecutive addresses .1-.254 of the internal /24s, starting somewhere per episode.
    start = rng.integers(0, 254 * len(net.subnets), e)
    offset = np.arange(n) - np.searchsorted(ep, ep)      # position within the episode
    pos = (start[ep] + offset) % (254 * len(net.subnets))
    addr = net.subnets[pos // 254] + pos % 254 + 1
    ips = net.hosts.ips()
    addr = np.where(addr == ips[scanner[ep]], addr - 1, addr)   # never itself (hosts start at .10)
    # Known hosts are looked up; unused addresses become dark hosts that never answer.
    order = np.argsort(ips)
    at = np.minimum(np.searchsorted(ips, addr, sorter=order), len(ips) - 1)
    known = ips[order[at]] == addr
    dark_ips = np.unique(addr[~known])
    dark = net.hosts.add(rng, dark_ips, _OS_ID["linux"], 1, internal=True)
    dark_at = np.minimum(np.searchsorted(dark_ips, addr), max(len(dark) - 1, 0))
    dst = np.where(known, order[at], dark[dark_at] if len(dark) else 0)
    # ICMP echo sweep or TCP SYN to one port per episode; live hosts answer.
    icmp = rng.random(e) < 0.5
    port = rng.choice([22, 80, 445, 3389], size=e)
    outcome = np.where(icmp[ep], np.where(known, SESSION, NO_ANSWER),
                       np.where(known, np.where(rng.random(n) < 0.3, HALF_OPEN, CLOSED), NO_ANSWER))
    profile = np.where(icmp[ep], _PID["icmp_sweep"], _PID["scan"])
    plan.add(scanner[ep], dst, profile, a, dport=np.where(icmp[ep], 0, port[ep]), outcome=outcome)


def _dos(rng, net, n, plan, a):
    e, ep = _episodes(n, 1500)
    attacker = _new_external(rng, net, e, _OS_ID["linux"])
    victim = rng.choice(net.roles["web"], size=e)
    profile = _mix(rng, ("http_flood", "syn_flood", "slowloris"), (0.5, 0.3, 0.2), n)
    plan.add(attacker[ep], victim[ep], profile, a)


def _ddos(rng, net, n, plan, a):
    e, ep = _episodes(n, 4000)
    sizes = np.bincount(ep, minlength=e)
    n_bots = np.clip(sizes // 6, 20, 400)
    bots = _new_external(rng, net, int(n_bots.sum()),
                         np.array([_OS_ID["windows"], _OS_ID["linux"], _OS_ID["appliance"]])[
                             rng.choice(3, size=int(n_bots.sum()), p=(0.5, 0.2, 0.3))])
    first_bot = np.concatenate([[0], np.cumsum(n_bots)[:-1]])
    src = bots[first_bot[ep] + (rng.random(n) * n_bots[ep]).astype(np.int64)]
    victim = rng.choice(net.roles["web"], size=e)
    flavour = rng.choice(3, size=e, p=(0.5, 0.25, 0.25))
    flood = np.array([_PID["http_burst"], _PID["udp_flood"], _PID["syn_flood"]])[flavour[ep]]
    # Each flow is that episode's flood, with a minority of plain HTTP requests mixed in.
    profile = np.where(rng.random(n) < 0.8, flood, _PID["http_burst"])
    dport = np.where(profile == _PID["udp_flood"], np.where(rng.random(n) < 0.5, 53, rng.integers(1024, 65536, n)),
                     -1)
    plan.add(src, victim[ep], profile, a, dport=dport)


def _ssh_brute(rng, net, n, plan, a):
    e, ep = _episodes(n, 500)
    outside = _new_external(rng, net, e, _OS_ID["linux"])
    attacker = np.where(rng.random(e) < 0.2, rng.choice(net.clients, size=e), outside)
    victim = rng.choice(net.linux_servers, size=e)
    plan.add(attacker[ep], victim[ep], _PID["ssh_brute"], a)


def _ftp_brute(rng, net, n, plan, a):
    e, ep = _episodes(n, 400)
    attacker = _new_external(rng, net, e, _OS_ID["linux"])
    victim = rng.choice(net.roles["ftp"], size=e)
    plan.add(attacker[ep], victim[ep], _PID["ftp_brute"], a)


def _bot(rng, net, n, plan, a):
    e, ep = _episodes(n, 1200)
    c2 = _new_external(rng, net, e, _OS_ID["linux_server"])
    # 3-8 distinct infected clients per episode.
    k = np.minimum(rng.integers(3, 9, e), len(net.clients))
    infected = np.argsort(rng.random((e, len(net.clients))), axis=1)[:, :8]
    src = net.clients[infected[ep, (rng.random(n) * k[ep]).astype(np.int64)]]
    channel = np.where(rng.random(e) < 0.6, _PID["beacon_tls"], _PID["beacon_http"])
    plan.add(src, c2[ep], channel[ep], a)


def _exfiltration(rng, net, n, plan, a):
    e, ep = _episodes(n, 60)
    source = np.where(rng.random(e) < 0.8, rng.choice(net.clients, size=e), rng.choice(net.servers, size=e))
    drop = _new_external(rng, net, e, _OS_ID["linux_server"])
    channel = np.where(rng.random(e) < 0.7, _PID["exfil_tls"], _PID["exfil_ssh"])
    plan.add(source[ep], drop[ep], channel[ep], a)


_SCENARIO_FN = {
    "PortScan": _port_scan, "HostScan": _host_scan, "DoS": _dos, "DDoS": _ddos,
    "SSH-Bruteforce": _ssh_brute, "FTP-BruteForce": _ftp_brute, "Bot": _bot, "Exfiltration": _exfiltration,
}


def _scenario_counts(cfg: SyntheticConfig, n_attack: int) -> dict[str, int]:
    """Attack flows per scenario: one each first (when there are enough), the rest by largest remainder."""
    mix = [(name, w) for name, w in cfg.scenario_mix if w > 0]
    counts = {name: 0 for name, _ in mix}
    if n_attack == 0 or not mix:
        return counts
    base = 1 if n_attack >= len(mix) else 0
    rest = n_attack - base * len(mix)
    w = np.array([x for _, x in mix]) / sum(x for _, x in mix)
    quota = w * rest
    extra = np.floor(quota).astype(np.int64)
    extra[np.argsort(-(quota - extra), kind="stable")[: rest - extra.sum()]] += 1
    for (name, _), x in zip(mix, extra):
        counts[name] = base + int(x)
    return counts


# --------------------------------------------------------------------------------------------------------------
# Rendering: every NF-v2 feature of every planned flow, vectorised.

def _multinomial(rng: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Counts [N, K] of n [N] trials over K buckets with probabilities p [N, K], via conditional binomials."""
    out = np.zeros(p.shape, np.int64)
    left = n.astype(np.int64)
    mass = np.ones(len(n))
    for b in range(p.shape[1] - 1):
        q = np.clip(np.divide(p[:, b], mass, out=np.zeros(len(n)), where=mass > 1e-12), 0.0, 1.0)
        out[:, b] = rng.binomial(left, q)
        left = left - out[:, b]
        mass = mass - p[:, b]
    out[:, -1] = left
    return out


def _direction(rng, n_data, p, size, jitter, floor):
    """Data packets of one direction: bucket counts [N, 5], bytes [N], longest [N], shortest [N] (0 if none).

    n_data [N] packets spread over the buckets by p [N, 5]; size [N, 5] typical lengths, scaled per flow and
    bucket by exp(jitter [N] * normal) and kept inside the bucket; floor [N] the smallest possible packet.
    """
    n = len(n_data)
    counts = _multinomial(rng, n_data, p)
    noise = np.exp(jitter[:, None] * rng.standard_normal(counts.shape, dtype=np.float32))
    mean = np.minimum(size * noise, _BUCKET_HI)                              # [N, 5] mean size per bucket
    mean[:, 1:] = np.maximum(mean[:, 1:], _BUCKET_LO[1:])
    mean[:, 0] = np.maximum(mean[:, 0], floor)
    nbytes = np.rint(counts * mean).astype(np.int64).sum(axis=1)
    # Extremes: in the highest / lowest non-empty bucket, spread around its mean when it holds two or more.
    rows = np.arange(n)
    present = counts > 0
    top = 4 - np.argmax(present[:, ::-1], axis=1)
    bottom = np.argmax(present, axis=1)
    bucket_lo = np.where(bottom == 0, floor, _BUCKET_LO[bottom])
    spread = rng.random((2, n), dtype=np.float32) * 0.5
    m_top, m_bottom = mean[rows, top], mean[rows, bottom]
    longest = m_top + (_BUCKET_HI[top] - m_top) * spread[0] * (counts[rows, top] >= 2)
    shortest = m_bottom - (m_bottom - bucket_lo) * spread[1] * (counts[rows, bottom] >= 2)
    some = n_data > 0
    return counts, nbytes, np.where(some, np.rint(longest), 0).astype(np.int64), np.where(some, np.rint(shortest), 0)


def _lognormal(rng, median, sigma):
    return median * np.exp(sigma * rng.standard_normal(len(median)))


def _l7_values(master: np.ndarray, app: np.ndarray) -> np.ndarray:
    """nDPI `master.app` as the exports write it (91 with app 126 -> 91.126; no app -> 91.0)."""
    key = master * 1000 + app
    uniq, inverse = np.unique(key, return_inverse=True)
    table = np.array([float(f"{k // 1000}.{k % 1000}") if k % 1000 else float(k // 1000) for k in uniq])
    return table[inverse]


_DNS_QTYPE, _DNS_QTYPE_P = np.array([1, 28, 12, 65, 33, 15, 16]), (0.6, 0.25, 0.05, 0.04, 0.03, 0.02, 0.01)
_DNS_TTL, _DNS_TTL_P = (np.array([0, 5, 20, 30, 60, 300, 600, 3600, 86400]),
                        (0.08, 0.04, 0.08, 0.07, 0.33, 0.2, 0.06, 0.1, 0.04))
_FTP_OK_CODES, _FTP_OK_P = np.array([226, 221, 250, 550]), (0.6, 0.25, 0.1, 0.05)
_FTP_FAIL_CODES, _FTP_FAIL_P = np.array([530, 331, 421]), (0.9, 0.05, 0.05)


def _render(rng: np.random.Generator, cfg: SyntheticConfig, hosts: dict[str, np.ndarray],
            plan: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """All 45 NF-v2 columns [N] of the planned flows."""
    P = _profile_table()
    n = len(plan["src"])
    s, d, p = plan["src"], plan["dst"], plan["profile"]
    proto = P["proto"][p].astype(np.int64)
    tcp = proto == 6

    # Outcome, ports.
    drawn = _categorical(rng, P["outcome"][p])
    outcome = np.where(plan["outcome"] >= 0, plan["outcome"], drawn)
    dport = np.where(plan["dport"] >= 0, plan["dport"], P["port"][p].astype(np.int64))
    eph = hosts["eph_lo"][s] + (rng.random(n) * (hosts["eph_hi"][s] - hosts["eph_lo"][s] + 1)).astype(np.int64)
    sport = np.where(plan["sport"] >= 0, plan["sport"], eph)
    sport = np.where(proto == 1, 0, sport)
    dport = np.where(proto == 1, 0, dport)
    session = outcome == SESSION                  # TCP session, or answered UDP/ICMP
    answered = session | (outcome == CLOSED) | (outcome == HALF_OPEN) | (outcome == SYN_ACKED)

    # Data packets: client requests (lognormal), server answers correlated with them.
    req = P["req"][p]
    resp = P["resp"][p]
    req_cont = _lognormal(rng, req[:, 0], req[:, 1])
    n_req = np.maximum(np.rint(req_cont), req[:, 2]).astype(np.int64)
    n_resp = np.maximum(np.rint(req_cont * _lognormal(rng, resp[:, 0], resp[:, 1])), resp[:, 2]).astype(np.int64)
    n_req = np.where(tcp & ~session, 0, n_req)
    n_resp = np.where(session, n_resp, 0)
    jitter = P["jitter"][p]
    floor = np.where(tcp, 41.0, 28.0)              # a TCP segment with payload is at least 41 bytes
    c_req, b_req, long_req, short_req = _direction(rng, n_req, P["req_p"][p], P["req_size"][p], jitter, floor)
    c_resp, b_resp, long_resp, short_resp = _direction(rng, n_resp, P["resp_p"][p], P["resp_size"][p], jitter,
                                                       floor)

    # TCP control packets: handshake, delayed ACKs (one per two data packets), FIN or RST close.
    u = rng.random(n)
    term = P["term"][p]
    rst_close = tcp & session & (u < term[:, 0])
    fin_close = tcp & session & (u >= term[:, 0] + term[:, 1])
    syn_s, hdr_s, syn_d, hdr_d = hosts["syn"][s], hosts["hdr"][s], hosts["syn"][d], hosts["hdr"][d]
    retries = np.where(plan["attack"] < 0, rng.integers(0, 3, n), 0)
    ctrl_in = np.select(
        [session, outcome == CLOSED, outcome == HALF_OPEN, outcome == NO_ANSWER, outcome == SYN_ACKED],
        [2 + (n_resp + 1) // 2 + 2 * fin_close + rst_close, 1, 2, 1 + retries, 1], 0)
    ctrl_out = np.select(
        [session, outcome == CLOSED, outcome == HALF_OPEN, outcome == SYN_ACKED],
        [1 + (n_req + 1) // 2 + fin_close, 1, 1, 1 + rng.integers(0, 5, n)], 0)
    ctrl_in, ctrl_out = np.where(tcp, ctrl_in, 0), np.where(tcp, ctrl_out, 0)
    syn_in = np.where(tcp & (ctrl_in > 0), np.where(outcome == NO_ANSWER, ctrl_in, 1), 0)
    rst_bare = np.where(outcome == HALF_OPEN, 1, 0)                          # scanner's RST after SYN|ACK
    ctrl_bytes_in = syn_in * syn_s + rst_bare * 40 + (ctrl_in - syn_in - rst_bare) * hdr_s
    syn_out = np.where(tcp & ((outcome == HALF_OPEN) | (outcome == SYN_ACKED)), ctrl_out,
                       np.where(tcp & session, 1, 0))
    closed_rst = np.where(tcp & (outcome == CLOSED), 1, 0)
    ctrl_bytes_out = syn_out * syn_d + closed_rst * 40 + (ctrl_out - syn_out - closed_rst) * hdr_d

    in_pkts, out_pkts = n_req + ctrl_in, n_resp + ctrl_out
    in_bytes, out_bytes = b_req + ctrl_bytes_in, b_resp + ctrl_bytes_out
    hist = c_req + c_resp
    hist[:, 0] += ctrl_in + ctrl_out

    # Longest / shortest packet over both directions, control packets included.
    ctrl_sizes = np.stack([np.where(syn_in > 0, syn_s, 0), np.where(ctrl_in - syn_in - rst_bare > 0, hdr_s, 0),
                           np.where(rst_bare + closed_rst > 0, 40, 0), np.where(syn_out > 0, syn_d, 0),
                           np.where(ctrl_out - syn_out - closed_rst > 0, hdr_d, 0)], axis=1)
    longest = np.maximum(np.maximum(long_req, long_resp), ctrl_sizes.max(axis=1))
    short_all = np.stack([np.where(n_req > 0, short_req, np.inf), np.where(n_resp > 0, short_resp, np.inf),
                          np.where(ctrl_sizes > 0, ctrl_sizes, np.inf).min(axis=1)], axis=1).min(axis=1)
    shortest = np.where(np.isinf(short_all), 0, short_all).astype(np.int64)

    # TCP flags: FIN 1, SYN 2, RST 4, PSH 8, ACK 16.
    client_flags = np.select(
        [session, outcome == HALF_OPEN],
        [2 | 16 | 8 * (n_req > 0) | 1 * fin_close | 4 * rst_close, 2 | 4], 2)
    server_flags = np.select(
        [session, outcome == CLOSED, (outcome == HALF_OPEN) | (outcome == SYN_ACKED)],
        [2 | 16 | 8 * (n_resp > 0) | 1 * fin_close, 4 | 16, 2 | 16], 0)
    client_flags, server_flags = np.where(tcp, client_flags, 0), np.where(tcp, server_flags, 0)

    # Timing: round trip from the endpoints' hop counts, packet gaps from the profile.
    rtt = (0.3 + 2.5 * (hosts["hops"][s] + hosts["hops"][d])) * np.exp(0.3 * rng.standard_normal(n))
    gap = _lognormal(rng, P["gap"][p, 0], P["gap"][p, 1])
    data_time = np.where(tcp, rtt * (2 + np.minimum(n_req, 10)) + (n_req + n_resp) * gap,
                         rtt + np.maximum(n_req - 1, 0) * gap)
    # Unanswered SYNs are retried after 1 s and 3 s (SYN|ACKs likewise); unanswered UDP/ICMP just ends.
    duration = np.select(
        [session, tcp & (outcome == NO_ANSWER), outcome == SYN_ACKED, ~tcp],
        [data_time, 1000.0 * (2.0 ** np.clip(ctrl_in - 1, 0, 8) - 1), 1000.0 * (2.0 ** np.clip(ctrl_out - 1, 0, 8) - 1),
         np.maximum(n_req - 1, 0) * gap], rtt)
    duration = np.minimum(duration, 600_000.0)
    flow_ms = np.floor(duration).astype(np.int64)
    dur_in = np.where(in_pkts > 1, flow_ms, 0)
    dur_out = np.where(out_pkts > 1, np.floor(np.maximum(duration - rtt, 0)), 0).astype(np.int64)

    # Retransmissions: a few of the data packets, at the direction's mean data-packet size.
    ext = ~(hosts["internal"][s] & hosts["internal"][d])
    retx_p = P["retx"][p] * np.where(ext, 2.0, 1.0)
    retx_in = np.where(tcp & (rng.random(n) < retx_p), np.minimum(n_req, rng.geometric(0.5, n)), 0)
    retx_out = np.where(tcp & (rng.random(n) < retx_p * 0.6), np.minimum(n_resp, rng.geometric(0.5, n)), 0)
    retx_in_bytes = np.rint(retx_in * b_req / np.maximum(n_req, 1)).astype(np.int64)
    retx_out_bytes = np.rint(retx_out * b_resp / np.maximum(n_resp, 1)).astype(np.int64)

    # TTLs seen at the probe: the client's, and the server's if it answered.
    ttl_s = hosts["ttl"][s] - hosts["hops"][s]
    ttl_d = np.where(answered, hosts["ttl"][d] - hosts["hops"][d], ttl_s)
    win_out = np.where(tcp & (session | (outcome == HALF_OPEN) | (outcome == SYN_ACKED)), hosts["win"][d], 0)

    # L7: the profile's protocol (with the external site's application); guessed by port for half-open
    # probes; unknown without payload and for a share of the rest.
    kind = P["kind"][p].astype(np.int64)
    master = P["l7"][p].astype(np.int64)
    port_l7 = np.zeros(65536, np.int64)
    port_l7[list(_PORT_L7)] = list(_PORT_L7.values())
    master = np.where(outcome == HALF_OPEN, port_l7[dport], master)
    payload = (n_req > 0) | (n_resp > 0)
    master = np.where((payload | (outcome == HALF_OPEN)) & (rng.random(n) >= cfg.unknown_l7_share), master, 0)
    site_app = np.where(hosts["internal"][d], hosts["app"][s], hosts["app"][d])
    dns_app = np.where(rng.random(n) < 0.5, _APPS[_categorical(rng, np.tile(_APP_P, (n, 1)))], 0)
    app = np.where(np.isin(master, (7, 91)), site_app, np.where(master == 5, dns_app, 0))
    app = np.where(master == 131, 7, app)                                    # HTTP_Proxy.HTTP, as exported
    l7 = _l7_values(master, app)

    # Protocol-specific fields.
    is_dns = kind == _DNS
    dns_id = np.where(is_dns, rng.integers(1, 65536, n), 0)
    dns_type = np.where(is_dns, _DNS_QTYPE[rng.choice(len(_DNS_QTYPE), n, p=_DNS_QTYPE_P)], 0)
    dns_ttl = np.where(is_dns & session, _DNS_TTL[rng.choice(len(_DNS_TTL), n, p=_DNS_TTL_P)], 0)
    ftp = np.select([(kind == _FTP_OK) & session, (kind == _FTP_FAIL) & session],
                    [_FTP_OK_CODES[rng.choice(4, n, p=_FTP_OK_P)], _FTP_FAIL_CODES[rng.choice(3, n, p=_FTP_FAIL_P)]],
                    0)
    icmp_type = np.where(kind == _ICMP_ECHO, 8, 0)

    cols = {
        "L4_SRC_PORT": sport, "L4_DST_PORT": dport, "PROTOCOL": proto, "L7_PROTO": l7,
        "IN_BYTES": in_bytes, "IN_PKTS": in_pkts, "OUT_BYTES": out_bytes, "OUT_PKTS": out_pkts,
        "TCP_FLAGS": client_flags | server_flags, "CLIENT_TCP_FLAGS": client_flags,
        "SERVER_TCP_FLAGS": server_flags, "FLOW_DURATION_MILLISECONDS": flow_ms,
        "DURATION_IN": dur_in, "DURATION_OUT": dur_out,
        "MIN_TTL": np.minimum(ttl_s, ttl_d), "MAX_TTL": np.maximum(ttl_s, ttl_d),
        "LONGEST_FLOW_PKT": longest, "SHORTEST_FLOW_PKT": shortest,
        "MIN_IP_PKT_LEN": shortest, "MAX_IP_PKT_LEN": longest,
        "SRC_TO_DST_SECOND_BYTES": in_bytes / np.maximum(1.0, np.floor(dur_in / 1000.0)),
        "DST_TO_SRC_SECOND_BYTES": out_bytes / np.maximum(1.0, np.floor(dur_out / 1000.0)),
        "RETRANSMITTED_IN_BYTES": retx_in_bytes, "RETRANSMITTED_IN_PKTS": retx_in,
        "RETRANSMITTED_OUT_BYTES": retx_out_bytes, "RETRANSMITTED_OUT_PKTS": retx_out,
        "SRC_TO_DST_AVG_THROUGHPUT": np.rint(in_bytes * 8000.0 / np.maximum(dur_in, 1)).astype(np.int64),
        "DST_TO_SRC_AVG_THROUGHPUT": np.rint(out_bytes * 8000.0 / np.maximum(dur_out, 1)).astype(np.int64),
        "NUM_PKTS_UP_TO_128_BYTES": hist[:, 0], "NUM_PKTS_128_TO_256_BYTES": hist[:, 1],
        "NUM_PKTS_256_TO_512_BYTES": hist[:, 2], "NUM_PKTS_512_TO_1024_BYTES": hist[:, 3],
        "NUM_PKTS_1024_TO_1514_BYTES": hist[:, 4],
        "TCP_WIN_MAX_IN": np.where(tcp, hosts["win"][s], 0), "TCP_WIN_MAX_OUT": win_out,
        "ICMP_TYPE": icmp_type * 256, "ICMP_IPV4_TYPE": icmp_type,
        "DNS_QUERY_ID": dns_id, "DNS_QUERY_TYPE": dns_type, "DNS_TTL_ANSWER": dns_ttl,
        "FTP_COMMAND_RET_CODE": ftp,
    }
    return {k: (v if v.dtype == np.float64 else v.astype(np.int64, copy=False)) for k, v in cols.items()}


def _dotted(ips: np.ndarray) -> np.ndarray:
    """int64 IPv4 [N] -> dotted strings [N] (formatted once per distinct address)."""
    uniq, inverse = np.unique(ips, return_inverse=True)
    text = np.array([f"{x >> 24}.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}" for x in uniq.tolist()], dtype=object)
    return text[inverse]


# --------------------------------------------------------------------------------------------------------------
# Public API.

def generate_flows(config: SyntheticConfig = SyntheticConfig()) -> pd.DataFrame:
    """Generates labelled NetFlow records.

    Args:
      config: sizes, seed, attack share and scenario mix.

    Returns:
      A frame [num_flows, 45] with the NF-v2 columns in file order: IPs as dotted strings, integer counters as
      int64, L7_PROTO and *_SECOND_BYTES as float64, Label 0/1 and Attack ('Benign' or a name in SCENARIOS).
      Rows are in random order.
    """
    rng = np.random.default_rng(config.seed)
    net = _build_network(rng, config)
    n_attack = int(round(config.attack_share * config.num_flows))
    plan = _Plan()
    _plan_benign(rng, net, config.num_flows - n_attack, plan)
    for name, k in _scenario_counts(config, n_attack).items():
        if k > 0:
            _SCENARIO_FN[name](rng, net, k, plan, SCENARIOS.index(name))
    flows = plan.freeze()
    order = rng.permutation(len(flows["src"]))
    flows = {k: v[order] for k, v in flows.items()}
    hosts = net.hosts.freeze()

    cols = _render(rng, config, hosts, flows)
    cols["IPV4_SRC_ADDR"] = _dotted(hosts["ip"][flows["src"]])
    cols["IPV4_DST_ADDR"] = _dotted(hosts["ip"][flows["dst"]])
    cols[LABEL] = (flows["attack"] >= 0).astype(np.int64)
    cols[ATTACK] = np.array((BENIGN,) + SCENARIOS, dtype=object)[flows["attack"] + 1]
    return pd.DataFrame({c: cols[c] for c in NF_V2_COLUMNS})


_FORMATS = {".csv": "csv", ".csv.gz": "csv.gz", ".parquet": "parquet"}


def output_format(path: str | os.PathLike) -> str:
    """'csv', 'csv.gz' or 'parquet' from the suffix of `path`; InputError for anything else."""
    name = Path(path).name.lower()
    for suffix, kind in _FORMATS.items():
        if name.endswith(suffix):
            return kind
    raise InputError(f"{path}: unknown output format (the name must end in {', '.join(_FORMATS)})")


def write_flows(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Writes flows atomically as CSV, gzip CSV or Parquet, chosen by the suffix of `path`; returns the path."""
    path = Path(path)
    kind = output_format(path)
    with atomic_path(path) as tmp:
        if kind == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, compression="gzip" if kind == "csv.gz" else None)
    return path


def describe_flows(frame: pd.DataFrame) -> str:
    """One line: flows, distinct hosts, attack share and per-class counts (largest first)."""
    hosts = pd.unique(pd.concat([frame["IPV4_SRC_ADDR"], frame["IPV4_DST_ADDR"]], ignore_index=True))
    counts = frame[ATTACK].value_counts()
    classes = ", ".join(f"{name} {int(k)}" for name, k in counts.items())
    return (f"{len(frame)} flows, {len(hosts)} hosts, attack share {frame[LABEL].mean():.2%} "
            f"({classes})")


__all__ = [
    "SCENARIOS", "DEFAULT_SCENARIO_MIX", "SERVER_ROLES", "SyntheticConfig", "generate_flows", "write_flows",
    "output_format", "describe_flows",
]
