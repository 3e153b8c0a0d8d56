"""Synthetic NF-v2 traffic: schema, consistency of the features, determinism, labels, file round trips through
the real loader, and the topological signature of each attack scenario."""

from __future__ import annotations

import dataclasses
import ipaddress

import numpy as np
import pandas as pd
import pytest

from anomale_jax.cli import main
from anomale_jax.data.netflow import load_netflow
from anomale_jax.data.schema import FLOAT_WRITTEN, NF_V2_COLUMNS, NF_V2_FEATURES
from anomale_jax.data.synthetic import (
    SCENARIOS,
    SyntheticConfig,
    describe_flows,
    generate_flows,
    output_format,
    write_flows,
)
from anomale_jax.errors import InputError

HIST = ["NUM_PKTS_UP_TO_128_BYTES", "NUM_PKTS_128_TO_256_BYTES", "NUM_PKTS_256_TO_512_BYTES",
        "NUM_PKTS_512_TO_1024_BYTES", "NUM_PKTS_1024_TO_1514_BYTES"]
FLOAT_COLUMNS = {"L7_PROTO", "SRC_TO_DST_SECOND_BYTES", "DST_TO_SRC_SECOND_BYTES"}


@pytest.fixture(scope="module")
def flows() -> pd.DataFrame:
    return generate_flows(SyntheticConfig())          # the default size: 50,000 flows, 5% attacks


def _internal(ips: pd.Series) -> pd.Series:
    return ips.str.startswith("10.")


# ---- schema -------------------------------------------------------------------------------------------------

def test_columns_in_file_order_with_nf_v2_types(flows):
    assert tuple(flows.columns) == NF_V2_COLUMNS
    assert len(flows) == 50_000
    for col in NF_V2_COLUMNS:
        if col in ("IPV4_SRC_ADDR", "IPV4_DST_ADDR", "Attack"):
            assert not pd.api.types.is_numeric_dtype(flows[col]), col
        elif col in FLOAT_COLUMNS:
            assert flows[col].dtype == np.float64, col
        else:
            assert flows[col].dtype == np.int64, col
    # Every float column is one the real exports also write as floats.
    assert FLOAT_COLUMNS <= set(FLOAT_WRITTEN)
    assert not flows.isna().any().any()


def test_value_ranges_and_labels(flows):
    for col in ("L4_SRC_PORT", "L4_DST_PORT"):
        assert flows[col].between(0, 65535).all()
    for col in ("MIN_TTL", "MAX_TTL"):
        assert flows[col].between(0, 255).all()
    assert (flows[list(NF_V2_FEATURES)] >= 0).all().all()
    assert set(flows["PROTOCOL"]) <= {1, 6, 17}
    assert flows["TCP_FLAGS"].max() <= 255
    assert set(flows["Label"]) == {0, 1}
    assert ((flows["Label"] == 0) == (flows["Attack"] == "Benign")).all()
    for ip in pd.unique(pd.concat([flows["IPV4_SRC_ADDR"], flows["IPV4_DST_ADDR"]])):
        ipaddress.IPv4Address(ip)
    assert not (flows["IPV4_SRC_ADDR"] == flows["IPV4_DST_ADDR"]).any()


def test_features_are_mutually_consistent(flows):
    f = flows
    pkts = f["IN_PKTS"] + f["OUT_PKTS"]
    size = f["IN_BYTES"] + f["OUT_BYTES"]
    hist = f[HIST].to_numpy()
    # The size histogram counts every packet of both directions, each within its bucket's length range.
    assert (hist.sum(axis=1) == pkts).all()
    assert (hist @ np.array([20, 129, 257, 513, 1025]) <= size).all()
    assert (hist @ np.array([128, 256, 512, 1024, 1500]) >= size).all()
    assert (f["IN_PKTS"] >= 1).all()
    assert ((f["OUT_PKTS"] == 0) == (f["OUT_BYTES"] == 0)).all()
    # Packet lengths bound the bytes; IP lengths agree with the flow's packets.
    assert (f["SHORTEST_FLOW_PKT"] <= f["LONGEST_FLOW_PKT"]).all() and (f["LONGEST_FLOW_PKT"] <= 1500).all()
    assert (f["SHORTEST_FLOW_PKT"] * pkts <= size).all() and (size <= f["LONGEST_FLOW_PKT"] * pkts).all()
    assert (f["MIN_IP_PKT_LEN"] == f["SHORTEST_FLOW_PKT"]).all()
    assert (f["MAX_IP_PKT_LEN"] == f["LONGEST_FLOW_PKT"]).all()
    assert (f["MIN_TTL"] <= f["MAX_TTL"]).all()
    # Flags, durations, retransmissions, throughput.
    assert ((f["CLIENT_TCP_FLAGS"] | f["SERVER_TCP_FLAGS"]) == f["TCP_FLAGS"]).all()
    assert (f["DURATION_IN"] <= f["FLOW_DURATION_MILLISECONDS"]).all()
    assert (f["DURATION_OUT"] <= f["FLOW_DURATION_MILLISECONDS"]).all()
    for d in ("IN", "OUT"):
        assert (f[f"RETRANSMITTED_{d}_PKTS"] <= f[f"{d}_PKTS"]).all()
        assert (f[f"RETRANSMITTED_{d}_BYTES"] <= f[f"{d}_BYTES"]).all()
    expected = f["IN_BYTES"] * 8000.0 / np.maximum(f["DURATION_IN"], 1)
    np.testing.assert_allclose(f["SRC_TO_DST_AVG_THROUGHPUT"], expected, rtol=1e-6, atol=1)
    short = f["DURATION_IN"] < 1000
    assert (f.loc[short, "SRC_TO_DST_SECOND_BYTES"] == f.loc[short, "IN_BYTES"]).all()


def test_protocol_specific_fields(flows):
    f = flows
    tcp, udp, icmp = f["PROTOCOL"] == 6, f["PROTOCOL"] == 17, f["PROTOCOL"] == 1
    # Only TCP has flags and windows; every TCP flow starts with a SYN.
    assert (f.loc[~tcp, ["TCP_FLAGS", "TCP_WIN_MAX_IN", "TCP_WIN_MAX_OUT"]] == 0).all().all()
    assert ((f.loc[tcp, "CLIENT_TCP_FLAGS"] & 2) == 2).all()
    # ICMP: no ports, type * 256 + code.
    assert (f.loc[icmp, ["L4_SRC_PORT", "L4_DST_PORT"]] == 0).all().all()
    assert (f["ICMP_TYPE"] == f["ICMP_IPV4_TYPE"] * 256).all()
    assert (f.loc[~icmp, "ICMP_TYPE"] == 0).all() and (f.loc[icmp, "ICMP_IPV4_TYPE"] == 8).all()
    # DNS fields only on UDP/53 flows; DNS answers carry a query id.
    dns = udp & (f["L4_DST_PORT"] == 53) & (f["Label"] == 0)
    assert (f.loc[~dns, ["DNS_QUERY_ID", "DNS_QUERY_TYPE", "DNS_TTL_ANSWER"]] == 0).all().all()
    assert (f.loc[dns, "DNS_QUERY_ID"] > 0).all() and set(f.loc[dns, "DNS_QUERY_TYPE"]) >= {1, 28}
    # FTP return codes on FTP control flows only; brute force fails with 530.
    assert (f.loc[f["L4_DST_PORT"] != 21, "FTP_COMMAND_RET_CODE"] == 0).all()
    brute = f[f["Attack"] == "FTP-BruteForce"]
    assert (brute.loc[brute["OUT_PKTS"] > 1, "FTP_COMMAND_RET_CODE"] == 530).mean() > 0.75
    # nDPI codes as NF-v2 writes them, application ids included.
    l7 = set(f["L7_PROTO"])
    assert {0.0, 5.0, 7.0, 9.0, 91.0, 92.0, 41.0, 91.126, 91.178}.issubset(l7)
    assert (f.loc[udp & (f["L4_DST_PORT"] == 123) & (f["L7_PROTO"] > 0), "L7_PROTO"] == 9.0).all()


# ---- determinism, share, scenarios --------------------------------------------------------------------------

def test_same_seed_same_frame_different_seed_different():
    small = SyntheticConfig(num_flows=4000)
    a, b = generate_flows(small), generate_flows(small)
    pd.testing.assert_frame_equal(a, b)
    c = generate_flows(dataclasses.replace(small, seed=1))
    assert not a.equals(c)
    assert not a["IN_BYTES"].equals(c["IN_BYTES"])


def test_attack_share_as_configured(flows):
    assert flows["Label"].mean() == pytest.approx(0.05, abs=1e-4)
    for share in (0.0, 0.2, 0.5):
        f = generate_flows(SyntheticConfig(num_flows=3000, attack_share=share, seed=3))
        assert abs(f["Label"].mean() - share) <= 1 / 3000 + 1e-12


def test_every_scenario_present_at_default_size(flows):
    counts = flows["Attack"].value_counts()
    assert set(counts.index) == {"Benign", *SCENARIOS}
    assert counts.drop("Benign").min() >= 100


def test_scenario_mix_and_tiny_sizes():
    f = generate_flows(SyntheticConfig(num_flows=2000, attack_share=0.1, scenario_mix=(("DoS", 3), ("Bot", 1))))
    counts = f["Attack"].value_counts()
    assert set(counts.index) == {"Benign", "DoS", "Bot"}
    assert counts["DoS"] == 150 and counts["Bot"] == 50
    # As many attack flows as scenarios: one each.
    f = generate_flows(SyntheticConfig(num_flows=16, attack_share=0.5))
    assert set(f["Attack"]) == {"Benign", *SCENARIOS}
    assert len(generate_flows(SyntheticConfig(num_flows=1))) == 1


@pytest.mark.parametrize("field, value", [
    ("num_flows", 0), ("attack_share", 1.0), ("attack_share", -0.1), ("num_servers", 3), ("num_external", 10),
    ("scenario_mix", (("Worm", 1.0),)), ("scenario_mix", (("DoS", -1.0),)), ("unknown_l7_share", 2.0),
])
def test_bad_config_is_an_input_error(field, value):
    with pytest.raises(InputError, match=field):
        SyntheticConfig(**{field: value})


# ---- files --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["flows.csv", "flows.csv.gz", "flows.parquet"])
def test_written_file_loads_as_nf_v2(tmp_path, name):
    frame = generate_flows(SyntheticConfig(num_flows=1500, seed=7))
    path = write_flows(frame, tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]          # no temporary file left behind
    table = load_netflow(path)
    assert table.variant == "NF-v2" and table.has_ips
    loaded = table.frame.to_pandas()
    assert len(loaded) == len(frame)
    assert (loaded["IPV4_SRC_ADDR"].to_numpy() == frame["IPV4_SRC_ADDR"].to_numpy()).all()
    assert (loaded["Label"].to_numpy() == frame["Label"].to_numpy()).all()
    assert (loaded["Attack"].to_numpy() == frame["Attack"].to_numpy()).all()
    for col in NF_V2_FEATURES:
        np.testing.assert_allclose(loaded[col].to_numpy(np.float64), frame[col].to_numpy(np.float64),
                                   rtol=1e-6, err_msg=col)


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(InputError, match="flows.txt"):
        output_format(tmp_path / "flows.txt")
    with pytest.raises(InputError):
        write_flows(generate_flows(SyntheticConfig(num_flows=10)), tmp_path / "flows.json")
    assert list(tmp_path.iterdir()) == []


def test_cli_generate(tmp_path, capsys):
    out = tmp_path / "synthetic.parquet"
    assert main(["generate", "--flows", "3000", "--seed", "2", "--attack-share", "0.1", "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and line.startswith("3000 flows") and "attack share 10.00%" in line
    table = load_netflow(out)
    assert table.num_rows == 3000
    assert table.frame["Label"].sum() == 300
    assert describe_flows(generate_flows(SyntheticConfig(num_flows=3000, seed=2, attack_share=0.1))) in line


@pytest.mark.parametrize("args, out_name, message", [
    (["--flows", "0"], "x.csv", "--flows"),
    (["--attack-share", "1.5"], "x.csv", "--attack-share"),
    ([], "x.txt", "x.txt"),
])
def test_cli_generate_user_errors(tmp_path, capsys, args, out_name, message):
    assert main(["generate", *args, "--out", str(tmp_path / out_name)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err
    assert list(tmp_path.iterdir()) == []


# ---- topological signatures ---------------------------------------------------------------------------------

def test_port_scanner_fans_out_over_ports(flows):
    benign = flows[flows["Label"] == 0]
    benign_ports = benign.groupby("IPV4_SRC_ADDR")["L4_DST_PORT"].nunique().max()
    scan = flows[flows["Attack"] == "PortScan"]
    per_scanner = scan.groupby("IPV4_SRC_ADDR").agg(ports=("L4_DST_PORT", "nunique"),
                                                     targets=("IPV4_DST_ADDR", "nunique"))
    assert (per_scanner["ports"] >= 10 * benign_ports).all()
    assert (per_scanner["targets"] <= 4).all()
    # Tiny flows: one or two packets each way, no payload; closed ports answer RST|ACK.
    assert (scan["IN_PKTS"] <= 2).all() and (scan["OUT_PKTS"] <= 1).all()
    assert (scan["SERVER_TCP_FLAGS"] == 20).mean() > 0.5


def test_host_scanner_fans_out_over_hosts(flows):
    benign = flows[(flows["Label"] == 0) & _internal(flows["IPV4_SRC_ADDR"]) & _internal(flows["IPV4_DST_ADDR"])]
    benign_fanout = benign.groupby("IPV4_SRC_ADDR")["IPV4_DST_ADDR"].nunique().max()
    scan = flows[flows["Attack"] == "HostScan"]
    fanout = scan.groupby("IPV4_SRC_ADDR")["IPV4_DST_ADDR"].nunique()
    assert (fanout >= 5 * benign_fanout).all()
    # Unused addresses never answer and appear in no benign flow.
    dark = set(scan.loc[scan["OUT_PKTS"] == 0, "IPV4_DST_ADDR"])
    seen = set(flows.loc[flows["Label"] == 0, "IPV4_SRC_ADDR"]) | set(flows.loc[flows["Label"] == 0, "IPV4_DST_ADDR"])
    assert dark and not dark & seen
    # The scanner is an internal client that also has benign traffic.
    assert set(fanout.index) <= seen


def test_dos_is_one_to_one_and_ddos_many_to_one(flows):
    benign = flows[flows["Label"] == 0]
    benign_pairs = benign.groupby(["IPV4_SRC_ADDR", "IPV4_DST_ADDR"]).size()
    dos = flows[flows["Attack"] == "DoS"]
    assert (dos.groupby("IPV4_SRC_ADDR")["IPV4_DST_ADDR"].nunique() == 1).all()
    assert dos.groupby(["IPV4_SRC_ADDR", "IPV4_DST_ADDR"]).size().min() >= 5 * benign_pairs.quantile(0.99)
    ddos = flows[flows["Attack"] == "DDoS"]
    sources = ddos.groupby("IPV4_DST_ADDR")["IPV4_SRC_ADDR"].nunique()
    assert (sources >= 20).all()
    # Bots are otherwise unseen hosts; the victim is a public web server that also serves benign clients.
    benign_hosts = set(benign["IPV4_SRC_ADDR"]) | set(benign["IPV4_DST_ADDR"])
    assert not set(ddos["IPV4_SRC_ADDR"]) & benign_hosts
    assert set(sources.index) <= set(benign.loc[benign["L4_DST_PORT"] == 443, "IPV4_DST_ADDR"])


def test_brute_force_repeats_on_one_pair_and_looks_like_ssh(flows):
    benign_ssh = flows[(flows["Label"] == 0) & (flows["L4_DST_PORT"] == 22)]
    brute = flows[flows["Attack"] == "SSH-Bruteforce"]
    pairs = brute.groupby(["IPV4_SRC_ADDR", "IPV4_DST_ADDR"]).size()
    assert pairs.min() >= 100 and (brute["L4_DST_PORT"] == 22).all()
    # Each attempt's size is within the benign SSH range: the features alone do not give it away.
    lo, hi = benign_ssh["IN_BYTES"].quantile([0.1, 0.9])
    assert lo <= brute["IN_BYTES"].median() <= hi
    assert set(brute["IPV4_DST_ADDR"]) <= set(benign_ssh["IPV4_DST_ADDR"])


def test_bot_beacons_are_regular_and_shared_by_several_clients(flows):
    bot = flows[flows["Attack"] == "Bot"]
    per_c2 = bot.groupby("IPV4_DST_ADDR").agg(clients=("IPV4_SRC_ADDR", "nunique"))
    assert (per_c2["clients"] >= 3).all()
    assert _internal(bot["IPV4_SRC_ADDR"]).all() and not _internal(bot["IPV4_DST_ADDR"]).any()
    # Near-constant sizes, within the range of ordinary small web flows.
    sessions = bot[bot["OUT_PKTS"] > 1]
    cv = sessions.groupby("IPV4_DST_ADDR")["OUT_BYTES"].agg(lambda x: x.std() / x.mean())
    web = flows[(flows["Label"] == 0) & flows["L4_DST_PORT"].isin([443, 80]) & (flows["OUT_PKTS"] > 1)]
    assert (cv < 0.2).all() and web["OUT_BYTES"].std() / web["OUT_BYTES"].mean() > 1
    assert web["OUT_BYTES"].quantile(0.01) <= sessions["OUT_BYTES"].median() <= web["OUT_BYTES"].quantile(0.5)


def test_exfiltration_uploads_large_volumes_outward(flows):
    exfil = flows[flows["Attack"] == "Exfiltration"]
    assert _internal(exfil["IPV4_SRC_ADDR"]).all() and not _internal(exfil["IPV4_DST_ADDR"]).any()
    benign = flows[flows["Label"] == 0]
    assert exfil["IN_BYTES"].median() > 100 * benign["IN_BYTES"].median()
    assert (exfil["IN_BYTES"] > exfil["OUT_BYTES"]).all()
    # Benign cloud uploads reach the same order of magnitude.
    assert benign["IN_BYTES"].max() > exfil["IN_BYTES"].quantile(0.1)
