"""`diswot correlate`, run as a user runs it: a table on stdout, JSON with --json, files with --out."""

import json
import subprocess
import sys

CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
    "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
]
SMALL = ["--batch-size", "8", "--image-size", "16", "--num-classes", "10", "--timing-sample", "1"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "diswot", "correlate", *args], capture_output=True, text=True,
                          timeout=300)


def write_truth(tmp_path):
    table = tmp_path / "truth.csv"
    table.write_text("index,arch_str,acc\n" + "".join(f"{i},{a},{70 - 10 * i}\n" for i, a in enumerate(CELLS)))
    return table


def test_correlate_prints_a_table_and_writes_files(tmp_path):
    result = run_cli("--truth", str(write_truth(tmp_path)), "--arch-column", "arch_str", "--truth-column", "acc",
                     "--proxies", "params,synflow,ensemble", "--out", str(tmp_path / "out"), *SMALL)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["proxy", "tau", "rho", "r"]
    assert [line.split()[0] for line in lines[1:4]] == ["params", "synflow", "ensemble"]
    assert "4 candidates" in result.stdout
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"ranking_quality.csv", "ranking_quality.json", "scores.csv", "scatter_synflow.png"} <= written


def test_correlate_json_with_a_teacher_and_a_sample(tmp_path):
    result = run_cli("--truth", str(write_truth(tmp_path)), "--arch-column", "arch_str", "--truth-column", "acc",
                     "--teacher", "resnet8", "--proxies", "kd_loss,params", "--sample", "3", "--json", *SMALL)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["settings"]["teacher"] == "resnet8" and len(report["candidates"]) == 3
    assert {row["proxy"] for row in report["table"]} == {"kd_loss", "params"}
    for row in report["table"]:
        assert {"kendall_tau", "spearman_rho", "pearson_r", "top5_share", "top10_mean_truth", "ms_per_candidate",
                "budgeted"} <= set(row)
        assert [p["percentile"] for p in row["budgeted"]] == [25, 50, 75]


def test_correlate_errors_are_one_line(tmp_path):
    truth = str(write_truth(tmp_path))
    for args, fragment in (
        (["--arch-column", "arch", "--truth-column", "acc"], "no column 'arch'"),
        (["--arch-column", "arch_str", "--truth-column", "acc", "--proxies", "kd_loss"], "need a teacher"),
        (["--arch-column", "arch_str", "--truth-column", "acc", "--proxies", "ensemble:params"], "at least two"),
    ):
        result = run_cli("--truth", truth, *args, *SMALL)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and fragment in result.stderr


def test_correlate_default_names_what_search_ranks_by(tmp_path):
    result = run_cli("--truth", str(write_truth(tmp_path)), "--arch-column", "arch_str", "--truth-column", "acc",
                     "--teacher", "resnet8", "--proxies", "default,params,ensemble:default+params", "--json", *SMALL)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [row["proxy"] for row in report["table"]] == ["diswot_capacity", "params", "ensemble:default+params"]
    assert all(isinstance(c["scores"]["diswot_capacity"], float) for c in report["candidates"])
