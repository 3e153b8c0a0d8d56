"""NetFlow column schema (NF-v2, with notes on v1/v3), shared by the loader and the synthetic generator."""

from __future__ import annotations

SRC_IP, DST_IP = "IPV4_SRC_ADDR", "IPV4_DST_ADDR"
SRC_PORT, DST_PORT = "L4_SRC_PORT", "L4_DST_PORT"
LABEL, ATTACK = "Label", "Attack"
BENIGN = "Benign"

# The 45 columns of an NF-v2 file, in file order.
NF_V2_COLUMNS: tuple[str, ...] = (
    "IPV4_SRC_ADDR", "L4_SRC_PORT", "IPV4_DST_ADDR", "L4_DST_PORT", "PROTOCOL", "L7_PROTO", "IN_BYTES",
    "IN_PKTS", "OUT_BYTES", "OUT_PKTS", "TCP_FLAGS", "CLIENT_TCP_FLAGS", "SERVER_TCP_FLAGS",
    "FLOW_DURATION_MILLISECONDS", "DURATION_IN", "DURATION_OUT", "MIN_TTL", "MAX_TTL", "LONGEST_FLOW_PKT",
    "SHORTEST_FLOW_PKT", "MIN_IP_PKT_LEN", "MAX_IP_PKT_LEN", "SRC_TO_DST_SECOND_BYTES",
    "DST_TO_SRC_SECOND_BYTES", "RETRANSMITTED_IN_BYTES", "RETRANSMITTED_IN_PKTS", "RETRANSMITTED_OUT_BYTES",
    "RETRANSMITTED_OUT_PKTS", "SRC_TO_DST_AVG_THROUGHPUT", "DST_TO_SRC_AVG_THROUGHPUT",
    "NUM_PKTS_UP_TO_128_BYTES", "NUM_PKTS_128_TO_256_BYTES", "NUM_PKTS_256_TO_512_BYTES",
    "NUM_PKTS_512_TO_1024_BYTES", "NUM_PKTS_1024_TO_1514_BYTES", "TCP_WIN_MAX_IN", "TCP_WIN_MAX_OUT",
    "ICMP_TYPE", "ICMP_IPV4_TYPE", "DNS_QUERY_ID", "DNS_QUERY_TYPE", "DNS_TTL_ANSWER",
    "FTP_COMMAND_RET_CODE", "Label", "Attack",
)

# The 39 numeric NF-v2 edge features: everything but IPs, ports, Label and Attack (ANOMALE.md step 7).
NF_V2_FEATURES: tuple[str, ...] = tuple(
    c for c in NF_V2_COLUMNS if c not in (SRC_IP, DST_IP, SRC_PORT, DST_PORT, LABEL, ATTACK)
)

# Target-encoded by the paper protocol (ANOMALE.md step 5).
PAPER_TARGET_ENCODED: tuple[str, ...] = (
    "TCP_FLAGS", "L7_PROTO", "PROTOCOL", "CLIENT_TCP_FLAGS", "SERVER_TCP_FLAGS", "ICMP_TYPE",
    "ICMP_IPV4_TYPE", "DNS_QUERY_ID", "DNS_QUERY_TYPE", "FTP_COMMAND_RET_CODE",
)

# Columns that may be written as floats in some exports ("7.0", "7.178").
FLOAT_WRITTEN: tuple[str, ...] = (
    "L7_PROTO", "SRC_TO_DST_SECOND_BYTES", "DST_TO_SRC_SECOND_BYTES", "FTP_COMMAND_RET_CODE",
)

# NF-v3 timestamps: kept for ordering only, never used as features.
V3_TIMESTAMPS: tuple[str, ...] = ("FLOW_START_MILLISECONDS", "FLOW_END_MILLISECONDS")

assert len(NF_V2_COLUMNS) == 45 and len(NF_V2_FEATURES) == 39
