"""Human3.6M in the VideoPose3D npz layout: load, reduce to 17 joints, move to camera frames.

The paper's protocol: train on S1, S5, S6, S7, S8; test on S9, S11; 17 joints; 2D inputs in
screen-normalised coordinates; 3D targets root-relative, in metres, in each camera's frame.

Input files (the layout the public lifting code prepares, e.g. VideoPose3D's prepare_data_h36m):
- `data_3d_h36m.npz`: key `positions_3d`, a 0-d object array holding
  {subject: {action: (T, 32, 3) world positions in metres}}.
- `data_2d_h36m_<detector>.npz` (optional): key `positions_2d` holding
  {subject: {action: [4 arrays (T, 17, 2) pixels, one per camera]}} and key `metadata`
  (dict with `layout_name`, `num_joints`, `keypoints_symmetry`).

Those dicts are pickled inside the npz. `np.load(..., allow_pickle=True)` would run whatever a
tampered file's pickle asks for (any importable callable), so this module never does that:
`read_npz_safely` unpickles object arrays with an allow-list that only rebuilds numpy arrays,
dtypes, dicts and lists and refuses every other global before it is called.

We also define a flat layout that needs no pickle at all (write it with `convert_to_flat_npz`):
- `positions_3d/<subject>/<action>`            -> (T, 17|32, 3) float, metres, world frame
- `positions_2d/<subject>/<action>/<camera>`   -> (T, 17, 2) float, pixels (optional)

If no 2D is available the inputs are ground-truth 2D: the 3D projected with each camera's
intrinsics (with the dataset's radial/tangential distortion, as the standard GT-2D is made).
"""
from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from liftpose_ros.core.camera import normalize_screen

# ----------------------------------------------------------------------------------- protocol

H36M_TRAIN_SUBJECTS: tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8")
H36M_TEST_SUBJECTS: tuple[str, ...] = ("S9", "S11")

# Indices of the 32-joint H36M mocap skeleton kept for the standard 17-joint layout (H36M17).
H36M_KEEP_JOINTS_32: tuple[int, ...] = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)

# The 15 action categories of the per-action result tables.
H36M_ACTIONS: tuple[str, ...] = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing", "Purchases",
    "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking", "WalkTogether",
)
# Spellings that differ between subjects/releases (S1 uses TakingPhoto and WalkingDog).
_ACTION_ALIASES: dict[str, str] = {
    "takingphoto": "Photo",
    "walkingdog": "WalkDog",
    "walkingtogether": "WalkTogether",
    **{a.lower(): a for a in H36M_ACTIONS},
}
_ACTION_SUFFIX = re.compile(r"^(.*?)(?:[ ._]\d+)$")  # "Walking 1", "Eating.2", "Photo_1"

# ------------------------------------------------------------------------------ camera table
# Dataset facts (Human3.6M calibration as distributed with the public lifting code).
# Intrinsics are shared by all subjects: camera index -> values in pixels.
H36M_CAMERA_INTRINSICS: tuple[dict[str, Any], ...] = (
    {"id": "54138969", "center": [512.54150390625, 515.4514770507812],
     "focal_length": [1145.0494384765625, 1143.7811279296875],
     "radial_distortion": [-0.20709891617298126, 0.24777518212795258, -0.0030751503072679043],
     "tangential_distortion": [-0.0009756988729350269, -0.00142447161488235],
     "res_w": 1000, "res_h": 1002},
    {"id": "55011271", "center": [508.8486328125, 508.0649108886719],
     "focal_length": [1149.6756591796875, 1147.5916748046875],
     "radial_distortion": [-0.1942136287689209, 0.2404085397720337, 0.006819975562393665],
     "tangential_distortion": [-0.0016190266469493508, -0.0027408944442868233],
     "res_w": 1000, "res_h": 1000},
    {"id": "58860488", "center": [519.8158569335938, 501.40264892578125],
     "focal_length": [1149.1407470703125, 1148.7989501953125],
     "radial_distortion": [-0.2083381861448288, 0.25548800826072693, -0.0024604974314570427],
     "tangential_distortion": [0.0014843869721516967, -0.0007599993259645998],
     "res_w": 1000, "res_h": 1000},
    {"id": "60457274", "center": [514.9682006835938, 501.88201904296875],
     "focal_length": [1145.5113525390625, 1144.77392578125],
     "radial_distortion": [-0.198384091258049, 0.21832367777824402, -0.008947807364165783],
     "tangential_distortion": [-0.0005872055771760643, -0.0018133620033040643],
     "res_w": 1000, "res_h": 1002},
)

# Extrinsics per subject and camera index: orientation is the camera-to-world rotation as a
# quaternion (w, x, y, z); translation is the camera centre in world coordinates, millimetres.
H36M_CAMERA_EXTRINSICS: dict[str, tuple[dict[str, list[float]], ...]] = {
    "S1": (
        {"orientation": [
            0.1407056450843811, -0.1500701755285263, -0.755240797996521, 0.6223280429840088],
         "translation": [1841.1070556640625, 4955.28466796875, 1563.4454345703125]},
        {"orientation": [
            0.6157187819480896, -0.764836311340332, -0.14833825826644897, 0.11794740706682205],
         "translation": [1761.278564453125, -5078.0068359375, 1606.2650146484375]},
        {"orientation": [
            0.14651472866535187, -0.14647851884365082, 0.7653023600578308, -0.6094175577163696],
         "translation": [-1846.7777099609375, 5215.04638671875, 1491.972412109375]},
        {"orientation": [
            0.5834008455276489, -0.7853162288665771, 0.14548823237419128, -0.14749594032764435],
         "translation": [-1794.7896728515625, -3722.698974609375, 1574.8927001953125]},
    ),
    "S5": (
        {"orientation": [
            0.1467377245426178, -0.162370964884758, -0.7551892995834351, 0.6178938746452332],
         "translation": [2097.3916015625, 4880.94482421875, 1605.732421875]},
        {"orientation": [
            0.6159758567810059, -0.7626792192459106, -0.15728192031383514, 0.1189815029501915],
         "translation": [2031.7008056640625, -5167.93310546875, 1612.923095703125]},
        {"orientation": [
            0.14291371405124664, -0.12907841801643372, 0.7678384780883789, -0.6110143065452576],
         "translation": [-1620.5948486328125, 5171.65869140625, 1496.43701171875]},
        {"orientation": [
            0.5920479893684387, -0.7814217805862427, 0.1274748593568802, -0.15036417543888092],
         "translation": [-1637.1737060546875, -3867.3173828125, 1547.033203125]},
    ),
    "S6": (
        {"orientation": [
            0.1337897777557373, -0.15692396461963654, -0.7571090459823608, 0.6198879480361938],
         "translation": [1935.4517822265625, 4950.24560546875, 1618.0838623046875]},
        {"orientation": [
            0.6147197484970093, -0.7628812789916992, -0.16174767911434174, 0.11819244921207428],
         "translation": [1969.803955078125, -5128.73876953125, 1632.77880859375]},
        {"orientation": [
            0.1529948115348816, -0.13529130816459656, 0.7646096348762512, -0.6112781167030334],
         "translation": [-1769.596435546875, 5185.361328125, 1476.993408203125]},
        {"orientation": [
            0.5916101336479187, -0.7804774045944214, 0.12832270562648773, -0.1561593860387802],
         "translation": [-1721.668701171875, -3884.13134765625, 1540.4879150390625]},
    ),
    "S7": (
        {"orientation": [
            0.1435241848230362, -0.1631336808204651, -0.7548328638076782, 0.6188824772834778],
         "translation": [1974.512939453125, 4926.3544921875, 1597.8326416015625]},
        {"orientation": [
            0.6141672730445862, -0.7638262510299683, -0.1596645563840866, 0.1177929937839508],
         "translation": [1937.0584716796875, -5119.7900390625, 1631.5665283203125]},
        {"orientation": [
            0.14550060033798218, -0.12874816358089447, 0.7660516500473022, -0.6127139329910278],
         "translation": [-1741.8111572265625, 5208.24951171875, 1464.8245849609375]},
        {"orientation": [
            0.5912848114967346, -0.7821764349937439, 0.12445473670959473, -0.15196487307548523],
         "translation": [-1734.7105712890625, -3832.42138671875, 1548.5830078125]},
    ),
    "S8": (
        {"orientation": [
            0.14110587537288666, -0.15589867532253265, -0.7561917304992676, 0.619644045829773],
         "translation": [2150.65185546875, 4896.1611328125, 1611.9046630859375]},
        {"orientation": [
            0.6169601678848267, -0.7647668123245239, -0.14846350252628326, 0.11158157885074615],
         "translation": [2219.965576171875, -5148.453125, 1613.0440673828125]},
        {"orientation": [
            0.1471444070339203, -0.13377119600772858, 0.7670128345489502, -0.6100369691848755],
         "translation": [-1571.2215576171875, 5137.0185546875, 1498.1761474609375]},
        {"orientation": [
            0.5927824378013611, -0.7825870513916016, 0.12147816270589828, -0.14631995558738708],
         "translation": [-1476.913330078125, -3896.7412109375, 1547.97216796875]},
    ),
    "S9": (
        {"orientation": [
            0.15540587902069092, -0.15548215806484222, -0.7532095313072205, 0.6199594736099243],
         "translation": [2044.45849609375, 4935.1171875, 1481.2275390625]},
        {"orientation": [
            0.618784487247467, -0.7634735107421875, -0.14132238924503326, 0.11933968216180801],
         "translation": [1990.959716796875, -5123.810546875, 1568.8048095703125]},
        {"orientation": [
            0.13357827067375183, -0.1367100477218628, 0.7689454555511475, -0.6100738644599915],
         "translation": [-1670.9921875, 5211.98583984375, 1528.387939453125]},
        {"orientation": [
            0.5879399180412292, -0.7823407053947449, 0.1427614390850067, -0.14794869720935822],
         "translation": [-1696.04345703125, -3827.099853515625, 1591.4127197265625]},
    ),
    "S11": (
        {"orientation": [
            0.15232472121715546, -0.15442320704460144, -0.7547563314437866, 0.6191070079803467],
         "translation": [2098.440185546875, 4926.5546875, 1500.278564453125]},
        {"orientation": [
            0.6189449429512024, -0.7600917220115662, -0.15300633013248444, 0.1255258321762085],
         "translation": [2083.182373046875, -4912.1728515625, 1561.07861328125]},
        {"orientation": [
            0.14943228662014008, -0.15650227665901184, 0.7681233882904053, -0.6026304364204407],
         "translation": [-1609.8153076171875, 5177.3359375, 1537.896728515625]},
        {"orientation": [
            0.5894251465797424, -0.7818877100944519, 0.13991211354732513, -0.14715361595153809],
         "translation": [-1590.738037109375, -3854.1689453125, 1578.017578125]},
    ),
}


@dataclass(frozen=True)
class H36MCamera:
    """One calibrated camera. Pixels for intrinsics, metres for the translation."""

    id: str
    orientation: np.ndarray  # (4,) unit quaternion (w, x, y, z), camera -> world rotation
    translation: np.ndarray  # (3,) camera centre in world coordinates, metres
    focal_length: np.ndarray  # (2,) fx, fy in pixels
    center: np.ndarray  # (2,) principal point cx, cy in pixels
    radial_distortion: np.ndarray  # (3,) k1, k2, k3
    tangential_distortion: np.ndarray  # (2,) p1, p2
    width: int
    height: int


@dataclass
class H36MSequence:
    """One (subject, action, camera) clip ready for windowing."""

    subject: str
    action: str  # as stored in the file, e.g. "Walking 1"; see `normalize_action` for grouping
    camera_index: int
    inputs2d: np.ndarray  # (N, 17, 3) float32: normalised x, y, confidence = 1
    targets3d: np.ndarray  # (N, 17, 3) float32: metres, camera frame, root (pelvis) at 0
    width: int
    height: int
    intrinsics: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # fx, fy, cx, cy px


class UnsafeNpzError(pickle.UnpicklingError, ValueError):
    """A pickled object array asked for something other than plain numpy data."""


# --------------------------------------------------------------------------------- safe read

def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Stand-in for `_codecs.encode`, which protocol-2 pickles use to carry array bytes."""
    if encoding.lower().replace("-", "") != "latin1":
        raise UnsafeNpzError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    """The only globals an npz object array may reference: numpy array rebuilding + containers.

    The callables are taken from numpy's own reducers, so both the numpy<2 (`numpy.core`) and
    numpy>=2 (`numpy._core`) module names resolve without importing private modules by name.
    """
    reconstruct = np.empty(0).__reduce__()[0]  # numpy.core.multiarray._reconstruct
    scalar = np.float64(0).__reduce__()[0]  # numpy.core.multiarray.scalar
    frombuffer = np.empty(1).__reduce_ex__(5)[0]  # numpy.core.numeric._frombuffer
    table: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("builtins", "dict"): dict,
        ("builtins", "list"): list,
        ("_codecs", "encode"): _latin1_encode,
    }
    for core in ("numpy.core", "numpy._core"):
        table[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        table[(f"{core}.multiarray", "scalar")] = scalar
        table[(f"{core}.numeric", "_frombuffer")] = frombuffer
    return table


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only allow-listed globals; anything else fails before use."""

    _allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafeNpzError(
                f"refusing to unpickle global '{module}.{name}': only numpy arrays, dtypes, "
                "dicts and lists are allowed in dataset files") from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeNpzError("refusing persistent ids in a dataset file")


def _read_npy_member(zf: zipfile.ZipFile, member: str) -> np.ndarray:
    """One .npy inside the zip: plain arrays via numpy (no pickle), object arrays restricted."""
    with zf.open(member) as fp:
        version = np.lib.format.read_magic(fp)
        dtype = None
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            _, _, dtype = np.lib.format.read_array_header_2_0(fp)
        if dtype is not None and dtype.hasobject:
            # np.save writes object arrays as pickle.dump(array) right after the header.
            # encoding="latin1" is numpy's advice for arrays pickled by Python 2.
            obj = _NumpyOnlyUnpickler(fp, encoding="latin1").load()
            if not isinstance(obj, np.ndarray):
                raise UnsafeNpzError(f"{member}: pickle did not hold an array")
            return obj
    with zf.open(member) as fp:  # other header versions: numpy refuses object arrays itself
        return np.lib.format.read_array(fp, allow_pickle=False)


def read_npz_safely(path: str | Path) -> dict[str, Any]:
    """Read every array of an npz; 0-d object arrays come back as their Python object.

    Unlike np.load(allow_pickle=True), a file whose pickle names any global outside numpy's
    array reconstruction (os.system, eval, ...) raises UnsafeNpzError without calling it.
    """
    out: dict[str, Any] = {}
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            if not member.endswith(".npy"):
                continue
            arr = _read_npy_member(zf, member)
            key = member[: -len(".npy")]
            out[key] = arr.item() if arr.dtype.hasobject and arr.ndim == 0 else arr
    return out


# ------------------------------------------------------------------------------- file layouts

def _nested_from_flat(arrays: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """{'prefix/S1/Walking': a} -> {'S1': {'Walking': a}} (any depth below prefix)."""
    tree: dict[str, Any] = {}
    for key, value in arrays.items():
        parts = key.split("/")
        if parts[0] != prefix or len(parts) < 2:
            continue
        node = tree
        for part in parts[1:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def _positions(arrays: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """The nested positions dict from either layout, or None if the file has none."""
    if key in arrays:
        value = arrays[key]
        if not isinstance(value, dict):
            raise ValueError(f"'{key}' must hold a dict of subjects, got {type(value).__name__}")
        return value
    tree = _nested_from_flat(arrays, key)
    return tree or None


def _cameras_2d(per_action: Any) -> list[np.ndarray]:
    """2D per camera as a list, from a VideoPose3D list or a flat {'0': a, '1': b} dict."""
    if isinstance(per_action, dict):
        return [per_action[k] for k in sorted(per_action, key=int)]
    return list(per_action)


def convert_to_flat_npz(path_3d: str | Path, out_path: str | Path,
                        path_2d: str | Path | None = None) -> Path:
    """Rewrite VideoPose3D npz file(s) into one pickle-free npz (see module docstring).

    Do this once with files you trust (or through the restricted reader used here); afterwards
    the data can be loaded with plain np.load(allow_pickle=False) anywhere.
    """
    flat: dict[str, np.ndarray] = {}
    pos3d = _positions(read_npz_safely(path_3d), "positions_3d")
    if pos3d is None:
        raise ValueError(f"{path_3d}: no positions_3d found")
    for subject, action, positions in _iter_actions(pos3d):
        flat[f"positions_3d/{subject}/{action}"] = np.asarray(positions, dtype=np.float32)
    if path_2d is not None:
        pos2d = _positions(read_npz_safely(path_2d), "positions_2d")
        if pos2d is None:
            raise ValueError(f"{path_2d}: no positions_2d found")
        for subject, action, per_cam in _iter_actions(pos2d):
            for cam, kp in enumerate(_cameras_2d(per_cam)):
                flat[f"positions_2d/{subject}/{action}/{cam}"] = np.asarray(kp, dtype=np.float32)
    out_path = Path(out_path)
    np.savez_compressed(out_path, **flat)
    return out_path if out_path.suffix == ".npz" else out_path.with_name(out_path.name + ".npz")


def _iter_actions(tree: Mapping[str, Any]) -> Iterable[tuple[str, str, Any]]:
    for subject in sorted(tree):
        for action in sorted(tree[subject]):
            if "/" in subject or "/" in action:
                raise ValueError(f"names may not contain '/': {subject!r} {action!r}")
            yield subject, action, tree[subject][action]


# ----------------------------------------------------------------------------------- cameras

def _make_camera(intrinsic: Mapping[str, Any], extrinsic: Mapping[str, Any]) -> H36MCamera:
    def arr(value: Any, n: int) -> np.ndarray:
        a = np.asarray(value, dtype=np.float64).reshape(-1)
        if a.shape != (n,):
            raise ValueError(f"expected {n} values, got {value!r}")
        return a

    q = arr(extrinsic["orientation"], 4)
    return H36MCamera(
        id=str(intrinsic.get("id", "")),
        orientation=q / np.linalg.norm(q),
        translation=arr(extrinsic["translation"], 3) / 1000.0,  # mm (H36M) -> m
        focal_length=arr(intrinsic["focal_length"], 2),
        center=arr(intrinsic["center"], 2),
        radial_distortion=arr(intrinsic.get("radial_distortion", [0, 0, 0]), 3),
        tangential_distortion=arr(intrinsic.get("tangential_distortion", [0, 0]), 2),
        width=int(intrinsic["res_w"]),
        height=int(intrinsic["res_h"]),
    )


def camera_table(intrinsics: Iterable[Mapping[str, Any]] = H36M_CAMERA_INTRINSICS,
                 extrinsics: Mapping[str, Iterable[Mapping[str, Any]]] = H36M_CAMERA_EXTRINSICS,
                 ) -> dict[str, tuple[H36MCamera, ...]]:
    """subject -> cameras (by index). Defaults to the Human3.6M calibration above."""
    intr = list(intrinsics)
    table = {}
    for subject, exts in extrinsics.items():
        exts = list(exts)
        if len(exts) != len(intr):
            raise ValueError(f"{subject}: {len(exts)} extrinsics for {len(intr)} intrinsics")
        table[subject] = tuple(_make_camera(i, e) for i, e in zip(intr, exts))
    return table


def load_camera_table(path: str | Path) -> dict[str, tuple[H36MCamera, ...]]:
    """Read a user calibration (YAML or JSON, via yaml.safe_load) with the built-in's structure.

    Expected: {"intrinsics": [{id, center, focal_length, res_w, res_h, radial_distortion?,
    tangential_distortion?}, ...], "extrinsics": {subject: [{orientation: [w,x,y,z],
    translation: [x,y,z] in mm}, ...]}}; one extrinsic per intrinsic, in camera order.
    """
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict) or "intrinsics" not in data or "extrinsics" not in data:
        raise ValueError(f"{path}: expected 'intrinsics' and 'extrinsics' keys")
    return camera_table(data["intrinsics"], data["extrinsics"])


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """(4,) unit quaternion (w, x, y, z) -> (3, 3) rotation matrix R with v' = R v."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def world_to_camera(points: np.ndarray, camera: H36MCamera) -> np.ndarray:
    """(..., 3) world metres -> (..., 3) camera frame metres: R^T (X - t).

    H36M convention: the quaternion rotates camera axes into world axes and the translation is
    the camera centre, so the inverse transform removes the centre then applies R^T.
    """
    r = quaternion_to_matrix(camera.orientation)  # (3, 3) camera -> world
    return (np.asarray(points, dtype=np.float64) - camera.translation) @ r  # row-vector R^T


def project_to_pixels(points_cam: np.ndarray, camera: H36MCamera,
                      distort: bool = True) -> np.ndarray:
    """(..., 3) camera-frame points -> (..., 2) pixels.

    With distort=True this applies the dataset's own lens model (radial k1..k3 on r^2, the
    tangential terms as the H36M release defines them), which is how ground-truth 2D of the
    standard files is produced; distort=False is a plain pinhole.
    """
    p = np.asarray(points_cam, dtype=np.float64)
    xy = p[..., :2] / p[..., 2:3]  # (..., 2) normalised image plane
    if distort:
        k, t = camera.radial_distortion, camera.tangential_distortion
        r2 = np.sum(xy ** 2, axis=-1, keepdims=True)  # (..., 1)
        radial = 1 + k[0] * r2 + k[1] * r2 ** 2 + k[2] * r2 ** 3
        tan = np.sum(t * xy, axis=-1, keepdims=True)
        xy = xy * (radial + tan) + t * r2
    return xy * camera.focal_length + camera.center


# --------------------------------------------------------------------------------- transforms

def reduce_to_17(positions: np.ndarray) -> np.ndarray:
    """(T, 32, C) H36M mocap joints -> (T, 17, C) in H36M17 order; (T, 17, C) passes through."""
    j = positions.shape[-2]
    if j == 17:
        return positions
    if j == 32:
        return positions[..., list(H36M_KEEP_JOINTS_32), :]
    raise ValueError(f"expected 17 or 32 joints on axis -2, got shape {positions.shape}")


def normalize_action(name: str) -> str:
    """Group take names for per-action tables: 'Walking 1' -> 'Walking', 'TakingPhoto' -> 'Photo'.

    Subjects have two takes per action, named with ' 1' / '.1' style suffixes, and S1 spells
    some actions differently; tables report the 15 canonical categories of H36M_ACTIONS.
    """
    base = name.strip()
    match = _ACTION_SUFFIX.match(base)
    if match:
        base = match.group(1).strip()
    return _ACTION_ALIASES.get(base.lower(), base)


def split_subjects(sequences: Mapping[str, H36MSequence], subjects: Iterable[str]
                   ) -> dict[str, H36MSequence]:
    """Keep the sequences of the given subjects (e.g. H36M_TRAIN_SUBJECTS)."""
    keep = set(subjects)
    return {k: s for k, s in sequences.items() if s.subject in keep}


def h36m_train_test(sequences: Mapping[str, H36MSequence]
                    ) -> tuple[dict[str, H36MSequence], dict[str, H36MSequence]]:
    """The paper protocol split: (train S1/5/6/7/8, test S9/11); other subjects are dropped."""
    return (split_subjects(sequences, H36M_TRAIN_SUBJECTS),
            split_subjects(sequences, H36M_TEST_SUBJECTS))


# ------------------------------------------------------------------------------------ loading

def _sequence(subject: str, action: str, cam_index: int, camera: H36MCamera,
              world: np.ndarray, pixels: np.ndarray | None) -> H36MSequence:
    """Build one clip; 2D is projected from 3D when `pixels` is None."""
    cam = world_to_camera(world, camera)  # (T, 17, 3)
    if pixels is None:
        pixels = project_to_pixels(cam, camera)
    else:
        pixels = np.asarray(pixels, dtype=np.float64)[..., :2]
        if pixels.shape[-2] != 17:
            raise ValueError(f"{subject}/{action}/cam{cam_index}: 2D needs 17 joints, "
                             f"got shape {pixels.shape}")
        if len(pixels) < len(cam):
            raise ValueError(f"{subject}/{action}/cam{cam_index}: {len(pixels)} 2D frames for "
                             f"{len(cam)} 3D frames")
        pixels = pixels[: len(cam)]  # released detections can run a few frames past the mocap
    xy = normalize_screen(pixels, camera.width, camera.height)  # (T, 17, 2)
    conf = np.ones(xy.shape[:-1] + (1,))
    return H36MSequence(
        subject=subject, action=action, camera_index=cam_index,
        inputs2d=np.concatenate([xy, conf], axis=-1).astype(np.float32),
        targets3d=(cam - cam[:, :1]).astype(np.float32),
        width=camera.width, height=camera.height,
        intrinsics=(float(camera.focal_length[0]), float(camera.focal_length[1]),
                    float(camera.center[0]), float(camera.center[1])),
    )


def _resolve_cameras(cameras: str | Path | Mapping[str, Any] | None
                     ) -> Mapping[str, tuple[H36MCamera, ...]]:
    if cameras is None:
        return camera_table()
    if isinstance(cameras, Mapping):
        return cameras
    return load_camera_table(cameras)


def _load_2d(path_3d_arrays: Mapping[str, Any], path_2d: str | Path | None
             ) -> dict[str, Any] | None:
    """2D from the 2D file, else flat positions_2d stored beside the 3D, else None (project)."""
    if path_2d is not None:
        pos2d = _positions(read_npz_safely(path_2d), "positions_2d")
        if pos2d is None:
            raise ValueError(f"{path_2d}: no positions_2d found")
        return pos2d
    return _positions(path_3d_arrays, "positions_2d")


def load_h36m(path_3d: str | Path, path_2d: str | Path | None = None,
              cameras: str | Path | Mapping[str, Any] | None = None,
              subjects: Iterable[str] | None = None,
              camera_indices: Iterable[int] | None = None) -> dict[str, H36MSequence]:
    """Load Human3.6M into per-camera clips keyed "<subject>/<action>/cam<index>".

    path_3d: VideoPose3D `data_3d_h36m.npz` or our flat npz. path_2d: a `data_2d_h36m_*.npz`
    (pixels); without it, 2D stored in a flat path_3d is used, else ground-truth projection.
    cameras: None for the built-in calibration, a YAML/JSON file (`load_camera_table`), or a
    ready table {subject: (H36MCamera, ...)}. subjects / camera_indices: optional filters.
    """
    arrays = read_npz_safely(path_3d)
    pos3d = _positions(arrays, "positions_3d")
    if pos3d is None:
        raise ValueError(f"{path_3d}: no positions_3d found")
    pos2d = _load_2d(arrays, path_2d)
    table = _resolve_cameras(cameras)
    wanted = set(subjects) if subjects is not None else None

    out: dict[str, H36MSequence] = {}
    for subject, action, positions in _iter_actions(pos3d):
        if wanted is not None and subject not in wanted:
            continue
        if subject not in table:
            raise KeyError(f"no camera calibration for subject {subject}")
        world = reduce_to_17(np.asarray(positions, dtype=np.float64))  # (T, 17, 3)
        kps = _action_2d(pos2d, subject, action)
        cams = table[subject]
        if kps is not None and len(kps) != len(cams):
            raise ValueError(f"{subject}/{action}: 2D for {len(kps)} cameras, "
                             f"calibration for {len(cams)}")
        for c in (range(len(cams)) if camera_indices is None else camera_indices):
            pixels = None if kps is None else kps[c]
            out[f"{subject}/{action}/cam{c}"] = _sequence(subject, action, c, cams[c],
                                                          world, pixels)
    return out


def _action_2d(pos2d: Mapping[str, Any] | None, subject: str, action: str
               ) -> list[np.ndarray] | None:
    if pos2d is None:
        return None
    try:
        return _cameras_2d(pos2d[subject][action])
    except KeyError:
        raise KeyError(f"2D keypoints missing for {subject}/{action}") from None


__all__: list[str] = [
    "H36M_ACTIONS", "H36M_CAMERA_EXTRINSICS", "H36M_CAMERA_INTRINSICS",
    "H36M_KEEP_JOINTS_32", "H36M_TEST_SUBJECTS", "H36M_TRAIN_SUBJECTS", "H36MCamera",
    "H36MSequence", "UnsafeNpzError", "camera_table", "convert_to_flat_npz", "h36m_train_test",
    "load_camera_table", "load_h36m", "normalize_action", "project_to_pixels",
    "quaternion_to_matrix", "read_npz_safely", "reduce_to_17", "split_subjects",
    "world_to_camera",
]
