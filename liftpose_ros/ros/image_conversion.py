"""sensor_msgs/Image <-> OpenCV BGR arrays, validated at the boundary.

Images come from drivers, bags and hand-written publishers; a wrong `step`, a truncated buffer,
an encoding nobody expected or a header claiming a 100000 x 100000 image must not crash the
keypoint node nor make it allocate gigabytes. So every message is checked here first and any
problem is reported as `ImageError` (a ValueError) whose message says what is wrong with which
field; the node logs it, counts it and drops the frame.

Conversion itself uses ROS 2 `cv_bridge` where it is installed (apt/colcon installs have it;
it knows more encodings, e.g. Bayer and YUV), otherwise the built-in conversion below, which
handles the encodings cameras publish most: mono8, mono16, bgr8, rgb8, bgra8, rgba8 and their
16-bit colour variants. Both paths give the same pixels for those encodings: 16-bit values are
scaled by 255/65535 and rounded, as cv_bridge does (so a 12-bit camera in mono16 looks dark;
that is the ROS convention, not a bug here).

Compressed images (sensor_msgs/CompressedImage, what image_transport's `compressed` plugin
publishes on `<image>/compressed`: jpeg or png) are decoded with OpenCV (`compressed_to_bgr`),
under the same pixel limit; undecodable data is an ImageError too.
"""
from __future__ import annotations

import array
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from liftpose_ros.core.depth_anchor import depth_to_metres, encode_depth

DEFAULT_MAX_PIXELS = 50_000_000  # ~8K x 6K; more is a corrupt header, not a camera
IMAGE_TRANSPORTS = ("raw", "compressed")  # image_transport's names for Image, CompressedImage


class ImageError(ValueError):
    """An Image message that cannot be converted; the message names the field and the values."""


@dataclass(frozen=True)
class PixelFormat:
    """How one encoding lays out a pixel: channels, bytes per channel, order of colours."""

    channels: int
    depth_bytes: int  # 1 (uint8) or 2 (uint16)
    to_bgr: int | None  # cv2.COLOR_* code after depth reduction; None = already BGR

    @property
    def pixel_bytes(self) -> int:
        return self.channels * self.depth_bytes

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8 if self.depth_bytes == 1 else np.uint16)


# sensor_msgs/image_encodings names handled without cv_bridge.
FORMATS: dict[str, PixelFormat] = {
    "mono8": PixelFormat(1, 1, cv2.COLOR_GRAY2BGR),
    "mono16": PixelFormat(1, 2, cv2.COLOR_GRAY2BGR),
    "bgr8": PixelFormat(3, 1, None),
    "rgb8": PixelFormat(3, 1, cv2.COLOR_RGB2BGR),
    "bgra8": PixelFormat(4, 1, cv2.COLOR_BGRA2BGR),
    "rgba8": PixelFormat(4, 1, cv2.COLOR_RGBA2BGR),
    "bgr16": PixelFormat(3, 2, None),
    "rgb16": PixelFormat(3, 2, cv2.COLOR_RGB2BGR),
    "bgra16": PixelFormat(4, 2, cv2.COLOR_BGRA2BGR),
    "rgba16": PixelFormat(4, 2, cv2.COLOR_RGBA2BGR),
}
SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(FORMATS)


# ------------------------------------------------------------------ cv_bridge (optional)
@lru_cache(maxsize=1)
def _cv_bridge() -> Any | None:
    """A CvBridge instance when ROS 2 cv_bridge is importable, else None (checked once).

    PyPI's `cv-bridge` is a ROS 1 port that breaks with numpy 2; any import failure simply
    means the built-in conversion is used.
    """
    try:
        from cv_bridge import CvBridge
        return CvBridge()
    except Exception:  # ImportError, or a broken install failing at import
        return None


def converter_name() -> str:
    """'cv_bridge' or 'builtin': which path `image_to_bgr` takes (for logs and diagnostics)."""
    return "cv_bridge" if _cv_bridge() is not None else "builtin"


# ------------------------------------------------------------------ validation
def check_image(msg: Image, max_pixels: int = DEFAULT_MAX_PIXELS) -> PixelFormat | None:
    """Raise ImageError unless `msg` describes a usable image; return its format.

    None means an encoding outside FORMATS that cv_bridge may convert: its layout is unknown
    here, so only the generic checks (size, limits, step x height = data) are made.
    """
    width, height, step = int(msg.width), int(msg.height), int(msg.step)
    fmt = FORMATS.get(msg.encoding)
    if fmt is None and _cv_bridge() is None:
        raise ImageError(f"unsupported encoding {msg.encoding!r}; supported: "
                         f"{', '.join(SUPPORTED_ENCODINGS)} (install ROS 2 cv_bridge for more)")
    if width <= 0 or height <= 0:
        raise ImageError(f"image is empty: {width} x {height} pixels")
    if width * height > max_pixels:
        raise ImageError(f"image {width} x {height} has {width * height} pixels, more than "
                         f"the limit of {max_pixels} (a corrupt header?)")
    min_step = width * (fmt.pixel_bytes if fmt else 1)
    if step < min_step:
        detail = f"{width} x {fmt.pixel_bytes} bytes per pixel" if fmt else f"width {width}"
        raise ImageError(f"step {step} is smaller than one row of {msg.encoding!r} "
                         f"({detail} = {min_step})")
    if len(msg.data) != step * height:
        kind = "truncated" if len(msg.data) < step * height else "too long"
        raise ImageError(f"data is {kind}: {len(msg.data)} bytes, expected step x height = "
                         f"{step} x {height} = {step * height}")
    return fmt


# ------------------------------------------------------------------ conversion
def image_to_bgr(msg: Image, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Validated Image -> contiguous (H, W, 3) uint8 BGR array (a copy; the message may be
    reused). Raises ImageError for anything unusable."""
    fmt = check_image(msg, max_pixels)
    bridge = _cv_bridge()
    image = _bridge_to_bgr(bridge, msg) if bridge is not None else _builtin_to_bgr(msg, fmt)
    if image.dtype != np.uint8 or image.shape != (msg.height, msg.width, 3):
        raise ImageError(f"conversion of {msg.encoding!r} gave {image.dtype} {image.shape}, "
                         f"expected uint8 ({msg.height}, {msg.width}, 3)")
    return np.ascontiguousarray(image)


def _builtin_to_bgr(msg: Image, fmt: PixelFormat) -> np.ndarray:
    """Rows are cut out of `step`-long lines (row padding is legal), bytes swapped when the
    message's endianness differs from this machine's, 16 bits scaled like cv_bridge."""
    h, w = int(msg.height), int(msg.width)
    rows = np.frombuffer(msg.data, np.uint8, count=h * msg.step).reshape(h, msg.step)
    pixels = rows[:, : w * fmt.pixel_bytes].copy()  # never a view of the message's buffer
    order = ">" if msg.is_bigendian else "<"
    image = pixels.view(fmt.dtype.newbyteorder(order)).reshape(h, w, fmt.channels)
    if fmt.depth_bytes == 2:  # native order, then 0..65535 -> 0..255 rounded, as cv_bridge
        image = cv2.convertScaleAbs(image.astype(np.uint16), alpha=255.0 / 65535.0)
    image = image.reshape(h, w, fmt.channels)  # cv2 drops a single channel axis
    if fmt.to_bgr is None:
        return image
    return cv2.cvtColor(image if fmt.channels > 1 else image[..., 0], fmt.to_bgr)


def _bridge_to_bgr(bridge: Any, msg: Image) -> np.ndarray:
    try:
        # a copy: for bgr8 cv_bridge may hand back a view of the message's buffer
        return np.array(bridge.imgmsg_to_cv2(msg, desired_encoding="bgr8"), copy=True)
    except Exception as exc:  # CvBridgeError, TypeError from numpy buffers, cv2.error
        raise ImageError(f"cv_bridge cannot convert {msg.encoding!r} to bgr8: "
                         f"{' '.join(str(exc).split())}") from exc


def bgr_to_image(image: np.ndarray, header: Header | None = None) -> Image:
    """(H, W, 3) uint8 BGR -> bgr8 Image (tightly packed rows). Used for the annotated debug
    image; built directly rather than through cv_bridge because it is one copy either way."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageError(f"expected a (H, W, 3) uint8 BGR array; got {arr.dtype} {arr.shape}")
    h, w = arr.shape[:2]
    msg = Image(header=header if header is not None else Header(), height=h, width=w,
                encoding="bgr8", is_bigendian=0, step=3 * w)
    msg.data = array.array("B", np.ascontiguousarray(arr).tobytes())
    return msg


def compressed_to_bgr(msg: CompressedImage, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """CompressedImage (jpeg, png, ...) -> (H, W, 3) uint8 BGR, or ImageError: data OpenCV
    cannot decode, or an image of more than max_pixels pixels (checked from the file's header
    before its pixels are decoded, for png and jpeg)."""
    data = np.frombuffer(bytes(msg.data), np.uint8)
    if data.size == 0:
        raise ImageError(f"compressed image of format {msg.format!r} holds no data")
    size = _encoded_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        raise ImageError(f"compressed image {size[0]} x {size[1]} has more pixels than the "
                         f"limit of {max_pixels}")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageError(f"cannot decode {data.size} bytes of format {msg.format!r}")
    if image.shape[0] * image.shape[1] > max_pixels:
        raise ImageError(f"image {image.shape[1]} x {image.shape[0]} has more pixels than the "
                         f"limit of {max_pixels}")
    return image


def _encoded_size(data: np.ndarray) -> tuple[int, int] | None:
    """(width, height) from a png's IHDR or a jpeg's first SOF marker; None if not found."""
    raw = data.tobytes()
    if raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) >= 24:
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if raw[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(raw):
        if raw[i] != 0xFF:
            return None
        marker, length = raw[i + 1], int.from_bytes(raw[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            return int.from_bytes(raw[i + 7:i + 9], "big"), int.from_bytes(raw[i + 5:i + 7],
                                                                           "big")
        i += 2 + length
    return None


def image_msg_to_bgr(msg: Image | CompressedImage, max_pixels: int = DEFAULT_MAX_PIXELS
                     ) -> np.ndarray:
    """Either kind of image message -> BGR (`image_to_bgr` or `compressed_to_bgr`)."""
    if isinstance(msg, CompressedImage):
        return compressed_to_bgr(msg, max_pixels)
    return image_to_bgr(msg, max_pixels)


def bgr_to_compressed(image: np.ndarray, header: Header | None = None, fmt: str = "jpeg",
                      quality: int = 90) -> CompressedImage:
    """(H, W, 3) uint8 BGR -> CompressedImage (jpeg or png), as image_transport sends it."""
    ok, data = cv2.imencode(".jpg" if fmt == "jpeg" else ".png", np.asarray(image),
                            [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if fmt == "jpeg" else [])
    if not ok:
        raise ImageError(f"cannot encode the image as {fmt}")
    msg = CompressedImage(header=header if header is not None else Header(), format=fmt)
    msg.data = array.array("B", data.tobytes())
    return msg


# ------------------------------------------------------------------ depth images (REP-118)
DEPTH_FORMATS: dict[str, np.dtype] = {"16UC1": np.dtype(np.uint16),
                                      "32FC1": np.dtype(np.float32)}


def depth_image_to_metres(msg: Image, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A REP-118 depth Image (16UC1 millimetres or 32FC1 metres) -> (H, W) float32 metres,
    NaN where there is no reading (0, NaN, inf). Raises ImageError for another encoding or
    a malformed message (the same size, step and length checks as colour images)."""
    dtype = DEPTH_FORMATS.get(msg.encoding)
    if dtype is None:
        raise ImageError(f"depth encoding {msg.encoding!r} is not one of "
                         f"{', '.join(DEPTH_FORMATS)} (REP-118)")
    width, height, step = int(msg.width), int(msg.height), int(msg.step)
    if width <= 0 or height <= 0:
        raise ImageError(f"depth image is empty: {width} x {height} pixels")
    if width * height > max_pixels:
        raise ImageError(f"depth image {width} x {height} has more than {max_pixels} pixels")
    if step < width * dtype.itemsize:
        raise ImageError(f"step {step} is smaller than one row of {msg.encoding!r} "
                         f"({width} x {dtype.itemsize} bytes)")
    if len(msg.data) != step * height:
        raise ImageError(f"depth data is {len(msg.data)} bytes, expected step x height = "
                         f"{step} x {height} = {step * height}")
    rows = np.frombuffer(msg.data, np.uint8, count=height * step).reshape(height, step)
    raw = rows[:, : width * dtype.itemsize].copy().view(
        dtype.newbyteorder(">" if msg.is_bigendian else "<")).reshape(height, width)
    return depth_to_metres(raw.astype(dtype), msg.encoding)


def metres_to_depth_image(metres: np.ndarray, encoding: str = "32FC1",
                          header: Header | None = None) -> Image:
    """(H, W) metres -> a REP-118 depth Image (what a depth camera driver publishes)."""
    data = encode_depth(metres, encoding)
    msg = Image(header=header if header is not None else Header(), height=data.shape[0],
                width=data.shape[1], encoding=encoding, is_bigendian=0,
                step=data.shape[1] * data.dtype.itemsize)
    msg.data = array.array("B", np.ascontiguousarray(data).tobytes())
    return msg
