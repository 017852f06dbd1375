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
"""
from __future__ import annotations

import array
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from sensor_msgs.msg import Image
from std_msgs.msg import Header

DEFAULT_MAX_PIXELS = 50_000_000  # ~8K x 6K; more is a corrupt header, not a camera


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
