"""sensor_msgs/Image -> BGR conversion (liftpose_ros.ros.image_conversion) and the debug drawing.

Every supported encoding is built by hand from a known BGR picture and must come back as exactly
those pixels; every malformed message must raise ImageError naming what is wrong. The built-in
conversion is forced for these checks (on a real ROS install cv_bridge would be picked), and the
same pixels are required from cv_bridge where it is importable. No DDS is started here.
"""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from liftpose_ros.ros import image_conversion as ic
from liftpose_ros.ros.image_conversion import ImageError, bgr_to_image, image_to_bgr

H, W = 3, 4
# A picture whose channels all differ, so any channel swap shows.
BGR = np.stack(np.meshgrid(np.arange(W), np.arange(H)), -1).astype(np.uint8)  # (H, W, 2)
BGR = np.concatenate([BGR * 40 + 10, (BGR[..., :1] + BGR[..., 1:]) * 20 + 100], -1)  # (H, W, 3)
GREY = np.arange(H * W, dtype=np.uint8).reshape(H, W) * 20 + 5


def make_msg(pixels: np.ndarray, encoding: str, pad: int = 0, bigendian: bool = False) -> Image:
    """An Image holding `pixels` (H, W[, C]) with `pad` extra bytes at the end of each row."""
    arr = pixels.reshape(pixels.shape[0], pixels.shape[1], -1)
    if arr.dtype.itemsize > 1:
        arr = arr.astype(arr.dtype.newbyteorder(">" if bigendian else "<"))
    rows = arr.reshape(arr.shape[0], -1).view(np.uint8)
    rows = np.concatenate([rows, np.full((rows.shape[0], pad), 0xAB, np.uint8)], axis=1)
    msg = Image(height=arr.shape[0], width=arr.shape[1], encoding=encoding,
                is_bigendian=int(bigendian), step=rows.shape[1])
    msg.data = rows.tobytes()
    return msg


def _16(a: np.ndarray) -> np.ndarray:
    """8-bit values as the 16-bit values that scale back to them exactly (v * 257)."""
    return a.astype(np.uint16) * 257


def _alpha(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a, np.full(a.shape[:2] + (1,), 77, a.dtype)], -1)


RGB = BGR[..., ::-1]
GREY_BGR = np.repeat(GREY[..., None], 3, -1)
CASES = {  # encoding -> (pixels in that encoding, expected BGR)
    "bgr8": (BGR, BGR),
    "rgb8": (RGB, BGR),
    "bgra8": (_alpha(BGR), BGR),
    "rgba8": (_alpha(RGB), BGR),
    "mono8": (GREY, GREY_BGR),
    "mono16": (_16(GREY), GREY_BGR),
    "bgr16": (_16(BGR), BGR),
    "rgb16": (_16(RGB), BGR),
    "bgra16": (_16(_alpha(BGR)), BGR),
    "rgba16": (_16(_alpha(RGB)), BGR),
}


def _has_cv_bridge() -> bool:
    ic._cv_bridge.cache_clear()
    return ic._cv_bridge() is not None


@pytest.fixture(params=["builtin", "cv_bridge"])
def converter(request, monkeypatch) -> str:
    if request.param == "builtin":
        monkeypatch.setattr(ic, "_cv_bridge", lambda: None)
    elif not _has_cv_bridge():
        pytest.skip("ROS 2 cv_bridge is not installed here (it is on apt/colcon installs)")
    return request.param


# ------------------------------------------------------------------ good images
@pytest.mark.parametrize("encoding", sorted(CASES))
@pytest.mark.parametrize("pad", [0, 5])
def test_each_encoding_gives_the_right_bgr_pixels(converter, encoding, pad):
    pixels, expected = CASES[encoding]
    out = image_to_bgr(make_msg(pixels, encoding, pad=pad))
    assert out.dtype == np.uint8 and out.shape == (H, W, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, expected)


def test_big_endian_16_bit_and_scaling(converter):
    grey16 = np.array([[0, 257, 65535, 32896]], np.uint16)  # -> 0, 1, 255, 128
    for bigendian in (False, True):
        out = image_to_bgr(make_msg(grey16, "mono16", bigendian=bigendian))
        np.testing.assert_array_equal(out[0, :, 0], [0, 1, 255, 128])
        np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_result_does_not_alias_the_message(converter):
    msg = make_msg(BGR, "bgr8")
    out = image_to_bgr(msg)
    out[:] = 0
    np.testing.assert_array_equal(image_to_bgr(msg), BGR)


def test_bgr_to_image_round_trips():
    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = bgr_to_image(BGR, header)
    assert (msg.height, msg.width, msg.encoding, msg.step) == (H, W, "bgr8", 3 * W)
    assert msg.header.frame_id == "cam" and msg.header.stamp.nanosec == 345
    np.testing.assert_array_equal(image_to_bgr(msg), BGR)
    with pytest.raises(ImageError, match=r"\(H, W, 3\) uint8"):
        bgr_to_image(BGR.astype(np.float32))


# ------------------------------------------------------------------ bad images
def _bad(kind: str) -> Image:
    msg = make_msg(BGR, "bgr8")
    if kind == "unsupported encoding":
        msg.encoding = "yuv422"
    elif kind == "empty encoding":
        msg.encoding = ""
    elif kind == "zero size":
        msg.width = msg.height = 0
        msg.step = 0
        msg.data = b""
    elif kind == "zero width":
        msg.width = 0
    elif kind == "step too small":
        msg.step = 3 * W - 1
    elif kind == "truncated data":
        msg.data = bytes(msg.data)[:-7]
    elif kind == "data too long":
        msg.data = bytes(msg.data) + b"\0" * 3
    elif kind == "huge":
        msg.width = msg.height = 100_000
        msg.step = 3 * 100_000
    return msg


BAD = {
    "unsupported encoding": r"unsupported encoding 'yuv422'; supported: mono8, mono16, bgr8",
    "empty encoding": r"unsupported encoding ''",
    "zero size": r"image is empty: 0 x 0 pixels",
    "zero width": r"image is empty: 0 x 3 pixels",
    "step too small": r"step 11 is smaller than one row of 'bgr8' \(4 x 3 bytes per pixel = 12\)",
    "truncated data": r"data is truncated: 29 bytes, expected step x height = 12 x 3 = 36",
    "data too long": r"data is too long: 39 bytes, expected step x height = 12 x 3 = 36",
    "huge": r"image 100000 x 100000 has 10000000000 pixels, more than the limit of 50000000",
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_images_raise_a_clear_image_error(monkeypatch, kind):
    monkeypatch.setattr(ic, "_cv_bridge", lambda: None)
    with pytest.raises(ImageError, match=BAD[kind]) as info:
        image_to_bgr(_bad(kind))
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)


def test_pixel_limit_is_a_parameter(monkeypatch):
    monkeypatch.setattr(ic, "_cv_bridge", lambda: None)
    with pytest.raises(ImageError, match="more than the limit of 11"):
        image_to_bgr(make_msg(BGR, "bgr8"), max_pixels=11)
    assert image_to_bgr(make_msg(BGR, "bgr8"), max_pixels=12).shape == (H, W, 3)


# ------------------------------------------------------------------ cv_bridge dispatch
class _FakeBridge:
    """Stands in for cv_bridge.CvBridge: records calls, converts uyvy as a constant picture."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def imgmsg_to_cv2(self, msg: Image, desired_encoding: str = "passthrough") -> np.ndarray:
        self.calls.append((msg.encoding, desired_encoding))
        if msg.encoding == "uyvy":
            return np.full((msg.height, msg.width, 3), 9, np.uint8)
        raise RuntimeError("[uyvy] is not a color format. but [bayer_xx] is")


@pytest.fixture
def fake_bridge(monkeypatch) -> _FakeBridge:
    bridge = _FakeBridge()
    monkeypatch.setitem(sys.modules, "cv_bridge", types.SimpleNamespace(CvBridge=lambda: bridge))
    ic._cv_bridge.cache_clear()
    yield bridge
    ic._cv_bridge.cache_clear()


def test_cv_bridge_is_used_when_importable(fake_bridge):
    assert ic.converter_name() == "cv_bridge"
    msg = make_msg(np.zeros((H, W, 2), np.uint8), "uyvy")  # 2 bytes per pixel, unknown here
    out = image_to_bgr(msg)
    assert fake_bridge.calls == [("uyvy", "bgr8")] and out.shape == (H, W, 3)
    assert (out == 9).all()


def test_cv_bridge_errors_become_image_errors(fake_bridge):
    msg = make_msg(np.zeros((H, W), np.uint8), "bayer_zz8")
    with pytest.raises(ImageError, match="cv_bridge cannot convert 'bayer_zz8' to bgr8"):
        image_to_bgr(msg)
    truncated = _bad("truncated data")  # validated before cv_bridge ever sees it
    with pytest.raises(ImageError, match="truncated"):
        image_to_bgr(truncated)
    assert [c[0] for c in fake_bridge.calls] == ["bayer_zz8"]


# ------------------------------------------------------------------ debug drawing
def test_draw_people_draws_skeleton_and_keeps_the_input():
    from liftpose_ros.core.detect.draw import draw_people
    from liftpose_ros.core.person import Person

    image = np.zeros((120, 100, 3), np.uint8)
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0] = np.linspace(20, 80, 17)
    kp[:, 1] = np.linspace(20, 100, 17)
    kp[:, 2] = 0.9
    kp[3, 2] = 0.0  # an invisible joint is not drawn
    person = Person(kp, np.array([15, 15, 85, 105], np.float32), 1.0, track_id=4)
    out = draw_people(image, [person], track_colour=lambda tid: (1.0, 0.0, 0.0))
    assert out.shape == image.shape and out.dtype == np.uint8 and not image.any()
    assert out.any() and (out[..., 2] == 255).any()  # the red (BGR) box of track 4
    nan = Person(np.full((17, 3), np.nan), np.full(4, np.nan), 1.0)
    assert not draw_people(image, [nan]).any()  # nothing drawable: nothing drawn, no crash


# ------------------------------------------------------------------ depth images (REP-118)
def _depth_msg(values: np.ndarray, encoding: str, big_endian: bool = False, pad: int = 0):
    order = ">" if big_endian else "<"
    raw = values.astype(values.dtype.newbyteorder(order))
    rows = [r.tobytes() + bytes(pad) for r in raw]
    return Image(height=values.shape[0], width=values.shape[1], encoding=encoding,
                 is_bigendian=int(big_endian), step=len(rows[0]), data=b"".join(rows))


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("pad", [0, 6])
def test_depth_images_decode_to_metres_in_both_encodings(big_endian, pad):
    mm = np.array([[0, 1000, 2500], [65535, 1, 4000]], np.uint16)
    m = ic.depth_image_to_metres(_depth_msg(mm, "16UC1", big_endian, pad))
    expected = np.array([[np.nan, 1.0, 2.5], [65.535, 0.001, 4.0]], np.float32)
    np.testing.assert_allclose(m, expected, rtol=1e-6)
    f = np.array([[np.nan, np.inf, 0.0], [-1.0, 1.25, 3.5]], np.float32)
    m = ic.depth_image_to_metres(_depth_msg(f, "32FC1", big_endian, pad))
    assert np.isnan(m[0]).all() and np.isnan(m[1, 0]) and m[1, 1:].tolist() == [1.25, 3.5]


def test_depth_image_round_trip_and_bad_depth_images():
    metres = np.array([[1.5, np.nan], [0.0, 2.0]], np.float32)
    for encoding in ("16UC1", "32FC1"):
        back = ic.depth_image_to_metres(ic.metres_to_depth_image(metres, encoding))
        np.testing.assert_allclose(back, [[1.5, np.nan], [np.nan, 2.0]])
    with pytest.raises(ImageError, match="depth encoding 'bgr8'"):
        ic.depth_image_to_metres(Image(height=1, width=1, encoding="bgr8", step=3,
                                       data=bytes(3)))
    short = _depth_msg(np.ones((2, 2), np.uint16), "16UC1")
    short.data = bytes(short.data)[:-1]
    with pytest.raises(ImageError, match="depth data is 7 bytes"):
        ic.depth_image_to_metres(short)
    narrow = _depth_msg(np.ones((2, 2), np.float32), "32FC1")
    narrow.step = 4
    with pytest.raises(ImageError, match="step 4 is smaller"):
        ic.depth_image_to_metres(narrow)
    with pytest.raises(ImageError, match="empty"):
        ic.depth_image_to_metres(Image(height=0, width=3, encoding="16UC1", step=6))
