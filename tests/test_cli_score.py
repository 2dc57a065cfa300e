"""`diswot score` and the listing commands, run as a user runs them (a subprocess, exit codes, stderr)."""

import json
import subprocess
import sys

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "diswot", *args], capture_output=True, text=True, timeout=300)


def test_score_json_records():
    result = run_cli(
        "score", "--teacher", "resnet8", "--space", "nb201", "--arch", CELL, "--arch",
        "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|", "--batch-size", "16",
        "--num-classes", "10", "--proxy", "diswot", "--proxy", "params", "--json",
    )
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["arch"] for r in records][0] == CELL
    for record in records:
        assert {"arch", "canonical", "score", "params", "flops", "terms", "scores"} <= set(record)
        assert record["score"] == record["scores"]["diswot"] < 0
    # the dead 1x1 conv of the second cell is pruned in its canonical form
    assert records[1]["canonical"] == "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"


def test_listing_commands():
    assert "nb201" in run_cli("spaces").stdout
    assert "wrn_40_2" in json.loads(run_cli("teachers", "--json").stdout)
    proxies = {row["name"]: row for row in json.loads(run_cli("proxies", "--json").stdout)}
    assert proxies["diswot"]["needs_teacher"] and not proxies["params"]["needs_teacher"]


def test_spaces_json_lists_sizes_and_reference_points_and_a_reference_point_scores():
    spaces = {row["name"]: row for row in json.loads(run_cli("spaces", "--json").stdout)}
    assert spaces["resnet_imagenet"]["size"] >= 10**12 and spaces["mobilenet"]["size"] >= 10**15
    assert spaces["resnet_imagenet"]["image_size"] == 224 and spaces["nb201"]["reference_points"] == {}
    assert set(spaces["resnet_imagenet"]["reference_points"]) == {"resnet18", "resnet34", "resnet50"}
    resnet50 = spaces["resnet_imagenet"]["reference_points"]["resnet50"]
    result = run_cli("score", "--teacher", "imagenet:resnet18", "--space", "resnet_imagenet", "--arch", resnet50,
                     "--batch-size", "4", "--image-size", "32", "--num-classes", "10", "--proxy", "diswot", "--json")
    assert result.returncode == 0, result.stderr
    (record,) = json.loads(result.stdout)
    assert record["canonical"] == resnet50 and record["params"] == 23_528_522  # resnet50 at 10 classes
    assert "imagenet:deit_tiny" in json.loads(run_cli("teachers", "--json").stdout)


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_bad_input_exits_with_one_clear_line(tmp_path):
    base = ["score", "--space", "nb201", "--batch-size", "8"]
    assert_one_line_error(run_cli(*base, "--teacher", "resnet57", "--arch", CELL), "unknown teacher", "resnet56")
    assert_one_line_error(run_cli(*base, "--teacher", "resnet8", "--arch", "|conv~0|"), "error:", "nor_conv_3x3")
    assert_one_line_error(
        run_cli(*base, "--teacher", "resnet8", "--arch", CELL, "--data", str(tmp_path / "missing.npz")), "does not exist"
    )
    import numpy as np

    np.savez(tmp_path / "d.npz", x_train=np.zeros((20, 32, 32, 3), np.uint8), y_train=np.arange(20))
    assert_one_line_error(
        run_cli(*base, "--teacher", "resnet8", "--num-classes", "10", "--arch", CELL, "--data", str(tmp_path / "d.npz")),
        "labels 0..19 but the teacher has 10 classes",
    )
    assert_one_line_error(run_cli("score", "--teacher", "resnet8", "--space", "nb202", "--arch", "x"), "unknown search space")


def test_an_unknown_imagenet_teacher_is_one_line_with_the_closest_name():
    result = run_cli("score", "--teacher", "imagenet:mobilenet_v3", "--space", "mobilenet", "--arch", "mobilenet_v2")
    assert_one_line_error(result, "unknown ImageNet teacher 'mobilenet_v3'", "did you mean 'mobilenet_v2'?")
