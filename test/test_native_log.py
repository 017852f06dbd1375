"""Native libraries' lines on fd 2 (mediapipe's absl logging, TensorFlow Lite) routed to a
logger, everything else passed through untouched (core/native_log.py).

The router rewires the process's fd 2, which pytest itself captures: everything that installs
one runs in a child process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import pytest

from liftpose_ros.core.native_log import NativeLine, parse_native_line

BIN = Path(sys.executable).parent
VIDEO = (Path(__file__).resolve().parents[1] / "liftpose_ros" / "samples"
         / "pose2sim_multi_person_cam01.mp4")
FEEDBACK = ("W0000 00:00:1796497477.933508    1050 inference_feedback_manager.cc:114] Feedback "
            "manager requires a model with a single signature inference. Disabling support for "
            "feedback tensors.")


# ------------------------------------------------------------------ parsing
@pytest.mark.parametrize("line, expected", [
    (FEEDBACK, NativeLine("debug", "Feedback manager requires a model with a single signature "
                                   "inference. Disabling support for feedback tensors. "
                                   "(inference_feedback_manager.cc:114)")),
    ("E1205 19:00:01.123456  77 graph.cc:9] calculator failed\n",
     NativeLine("error", "calculator failed (graph.cc:9)")),
    ("I1205 19:00:01.123456 77 gl_context.cc:1] GL version 3.2",
     NativeLine("info", "GL version 3.2 (gl_context.cc:1)")),
    ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
     NativeLine("debug", "Created TensorFlow Lite XNNPACK delegate for CPU.")),
    ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
     NativeLine("debug", "All log messages before absl::InitializeLog() is called are written "
                         "to STDERR")),
    ("ERROR: failed to allocate tensors", NativeLine("error", "failed to allocate tensors")),
])
def test_native_lines_get_their_severity_and_known_noise_is_demoted(line, expected):
    assert parse_native_line(line) == expected


def test_a_fatal_native_line_stays_fatal_even_when_it_quotes_known_noise():
    entry = parse_native_line(FEEDBACK.replace("W0000", "F0000", 1))
    assert entry is not None and entry.level == "fatal"


@pytest.mark.parametrize("line", [
    "Traceback (most recent call last):",
    "[WARN] [1796497668.103921057] [liftpose_keypoints]: dropped message",
    "/x/y.py:3: UserWarning: something",
    "W0000 this is not absl",
    "",
])
def test_other_lines_are_not_native(line):
    assert parse_native_line(line) is None


# ------------------------------------------------------------------ routing, in a child process
def _child(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter; stdout/stderr decoded as written (\\r kept)."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          timeout=120, env={**os.environ, **env})
    done.stdout, done.stderr = done.stdout.decode(), done.stderr.decode()
    return done


ROUTE_AND_WRITE = f"""
    import json, os, sys, time
    from liftpose_ros.core.native_log import route_native_logs
    got = []
    router = route_native_logs(lambda level, text: got.append([level, text]))
    os.write(2, {FEEDBACK!r}.encode() + b"\\n")
    os.write(2, b"E1205 19:00:01.123456 77 graph.cc:9] calculator failed\\n")
    print("a python line", file=sys.stderr, flush=True)
    os.write(2, b"10% done\\r20% done\\r")  # a progress display: no newline, ever
    time.sleep(0.5)
    if router is not None:
        router.close()
        print(json.dumps(dict(got=got, routed=router.routed, dropped=router.dropped)))
"""


def test_the_router_hands_native_lines_to_the_handler_and_passes_the_rest_on():
    done = _child(ROUTE_AND_WRITE)
    assert done.returncode == 0, done.stderr
    assert "Feedback manager" not in done.stderr and "calculator failed" not in done.stderr
    assert "a python line\n" in done.stderr
    assert "10% done\r20% done\r" in done.stderr
    report = json.loads(done.stdout)
    assert [level for level, _ in report["got"]] == ["debug", "error"]
    assert report["got"][1][1] == "calculator failed (graph.cc:9)"
    assert (report["routed"], report["dropped"]) == (2, 0)


def test_the_environment_switch_leaves_fd_2_alone():
    done = _child(ROUTE_AND_WRITE, LIFTPOSE_NATIVE_LOGS="raw")
    assert done.returncode == 0, done.stderr
    assert FEEDBACK in done.stderr and "calculator failed" in done.stderr
    assert done.stdout == ""


def test_a_node_runner_routes_native_lines_to_the_ros_logger():
    """Severity kept (an unknown native warning is still seen, named after the node), known
    noise at debug (hidden at the default level)."""
    done = _child(f"""
        import os
        import rclpy
        from liftpose_ros.ros.node_runner import route_native_logs_to
        rclpy.init(args=[])
        router = route_native_logs_to("liftpose_probe")
        os.write(2, {FEEDBACK!r}.encode() + b"\\n")
        os.write(2, b"W1205 19:00:01.123456 77 graph.cc:9] input stream is late\\n")
        router.close()
        rclpy.shutdown()
    """, RCUTILS_LOGGING_BUFFERED_STREAM="0")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "liftpose_probe.native" in line]
    assert len(warnings) == 1, done.stderr
    assert warnings[0].startswith("[WARN]") and "input stream is late (graph.cc:9)" in warnings[0]
    assert "Feedback manager" not in done.stderr


@pytest.mark.parametrize("routed", [True, False], ids=["routed", "raw"])
def test_liftpose_detect_prints_no_mediapipe_noise(routed, tmp_path):
    """The real thing: mediapipe on a frame of the bundled video writes its Feedback-manager
    lines (seen with LIFTPOSE_NATIVE_LOGS=raw, so the check can fail) and the CLI hides them."""
    exe = BIN / "liftpose"
    if not exe.is_file():
        pytest.skip(f"console script {exe} is not installed (pip install -e .)")
    pytest.importorskip("mediapipe")
    capture = cv2.VideoCapture(str(VIDEO))
    ok, frame = capture.read()
    capture.release()
    assert ok, f"cannot read {VIDEO}"
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), frame)
    done = subprocess.run([str(exe), "detect", str(image)], capture_output=True, text=True,
                          timeout=300, env={**os.environ,
                                            "LIFTPOSE_NATIVE_LOGS": "" if routed else "raw"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("person ") >= 2, done.stdout
    noisy = "Feedback manager" in done.stderr or "XNNPACK delegate" in done.stderr
    assert noisy != routed, done.stderr
