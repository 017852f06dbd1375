"""Default keypoint backend: MediaPipe BlazePose, made multi-person. Runs offline on a CPU.

Why BlazePose: the mediapipe 0.10.21 wheel ships its person detector (pose_detection.tflite) and
its "full" landmark model (pose_landmark_full.tflite, `model_complexity=1`) inside the package, so
nothing is downloaded at run time, and one landmark pass costs ~20 ms on a laptop-class core.
The "lite" landmark model (`landmark_model: lite`, complexity 0) is cheaper and less accurate
(README "The 2D detector"); the wheel lacks it and mediapipe would download it at run time, so it
is used only once scripts/fetch_pose_landmark_lite.sh has put it where mediapipe looks (from the
npm registry's @mediapipe/pose, checksummed), and refused with that advice otherwise. The heavy
model (complexity 2) is never used.

BlazePose itself is single-person: its graph keeps only the strongest detection. Design for many:

1. Tracks. Each tracked person owns one BlazePose graph in video mode running on an enlarged
   square crop around that person. In video mode the graph derives the next region of interest
   from the previous landmarks and skips its detector, so a tracked person costs one landmark pass
   per frame, whatever the frame size. The crop keeps other people out of the graph's view, and is
   moved only when the person leaves it or it fits badly (hysteresis), because a moved crop shifts
   the graph's remembered region.
2. Search. Every `redetect_every` frames (and every frame while nobody is tracked) a static
   BlazePose graph looks at the (downscaled) whole frame with every tracked person erased, finds
   the strongest remaining person, erases that one too, and repeats until it finds no one or
   `max_people` are tracked. Erasing means blurring over a silhouette drawn from the landmarks: a
   flat grey silhouette still looks like a person to BlazePose's detector (see `erase_regions`).
   Tall or wide frames are also searched in overlapping squares, where people look bigger to the
   detector. While people are tracked, a search sweep looks at `search_regions_per_frame` regions
   per frame (the sweep spans a few frames) on a thread of its own at a lower CPU priority
   (`background_search`, `search_nice`): frames do not wait for it, and what it finds joins at
   the next frame (new tracks start on that frame, from the find's box). People entering are
   found a frame or two later; the people already tracked keep their latency.
   This "find, erase, repeat" uses BlazePose's own detector and needs no other model;
   OpenCV's HOG people detector, tried instead, found none of the people in the Pose2Sim video
   frames (leaning, lunging, seen from behind) and took 60-140 ms a frame against ~12 ms.
3. A new track runs at once on the current frame, with the other people erased from its crop so
   its graph locks onto the proposed person, not onto a larger neighbour. Where BlazePose's
   detector misses in the crop what it found in the search (a back-facing, truncated person),
   the track keeps the search's view of the frame instead of a crop. New people must fill a
   minimum share of the searched view (`min_person_size`): smaller finds were clutter.
4. Clean-up. Two tracks on one person (same box or same skeleton) are merged by keeping the
   higher score; a track whose pose vanished for more than `max_missed_frames` frames is dropped.
5. Stride (`landmark_stride` N, default 2; 1 = every frame). A tracked person's landmark pass
   runs on every N-th frame only, each new person on the frames of the stride with the fewest
   passes, so that each frame pays for about 1/N of them; on the frames between, the person's
   landmarks are extrapolated at constant velocity from its last two passes (scores kept;
   the person is reported with `predicted` set, so the lifter can lift on measured frames),
   in the time of the images' stamps where `detect` is given them (a busy node skips frames,
   so the ones it processes are unevenly spaced), else per frame (`_advance_clock`).
   This trades a little 2D accuracy on moving limbs for half the CPU: on 2 cores, three people
   every frame cannot keep up with a 30 Hz camera, and frames dropped whole are worse than
   frames extrapolated (README "The 2D detector" has both sides measured). New, lost and
   missed people run every frame.

Graphs: a BlazePose graph's first frame costs 0.1-0.3 s more than the next ones (mediapipe
sets up its models then), and each graph holds ~115 MB. A track's graph goes back to an idle
pool when the track ends and is given to the next new person, and `warm_graphs` graphs
(default 1) are made and run once on a blank frame at start-up, the search graph too: so the
first person to step in is not kept waiting by that set-up, on the very frame that finds
them. More people at once than ever before still pay it, once each.

Parallelism: the graphs run in C++ and release the GIL, so the tracks' landmark passes run on
`workers` threads at once, beside the search thread. Each thread touches only its own graph and
track; the search erases people where they were when it started (a silhouette is generous
enough for a 30 fps step). One landmark pass is ~20 ms on a laptop-class core, a search region
~21 ms (the detector ~12 ms, plus scaling the frame and erasing the people found); on 2 cores
with three people, detection in the running pipeline took p50 49 / p95 71 ms with the
defaults against 79 / 124 ms with one thread and the search inline (README "ROS 2 nodes and
messages").
The landmark threads run `workers_nice` steps less urgently than the rest of the process: they
are the bulk of the CPU work, and what a frame waits for after them (the lifter, DDS, the camera
driver) should not queue behind the next frame's landmarks; the robot's own processes keep
their share too.

Keypoints: the 17 COCO joints are 17 of BlazePose's 33 landmarks under the same names (eyes are
BlazePose's eye centres, not the inner/outer corners), and both name left/right from the
person's own point of view. A joint's score is min(visibility, presence) of its landmark.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from liftpose_ros.core.detect.interface import KeypointDetector, config_from_options
from liftpose_ros.core.person import Person
from liftpose_ros.core.detect.person_boxes import (box_iou, box_inside, clip_box, erase_regions,
                                                   keypoint_distance, pad_box, points_box,
                                                   square_crop)
from liftpose_ros.core.skeleton import COCO17

DETECTOR_MODEL = "modules/pose_detection/pose_detection.tflite"
# landmark model name -> (mediapipe's model_complexity, its file inside the mediapipe package)
LANDMARK_MODELS = {"full": (1, "modules/pose_landmark/pose_landmark_full.tflite"),
                   "lite": (0, "modules/pose_landmark/pose_landmark_lite.tflite")}
SHIPPED_LANDMARK_MODEL = "full"  # the only one inside the wheel
LITE_FETCH_SCRIPT = "scripts/fetch_pose_landmark_lite.sh"
CROP_INTERPOLATION = cv2.INTER_LINEAR  # how a track's crop is downscaled (see _to_rgb)

# BlazePose landmark indices (mediapipe's PoseLandmark) used to draw a person's silhouette.
_FACE = slice(0, 11)  # nose .. mouth
_EARS = (7, 8)
_SHOULDERS = (11, 12)
_HIPS = (23, 24)
_BLANK = np.zeros((32, 32, 3), dtype=np.uint8)  # no one in it: a graph run on it finds nobody


def _mediapipe_pose():  # -> the mediapipe.python.solutions.pose module
    """Import mediapipe only when the backend is built (it takes ~0.6 s and ~100 MB)."""
    try:
        from mediapipe.python.solutions import pose
    except ImportError as err:
        raise ImportError(
            "the 'mediapipe' keypoint backend needs mediapipe==0.10.21 (installed with --no-deps, "
            "plus protobuf and attrs; see requirements.lock)") from err
    return pose


def check_models_installed(landmark_model: str = SHIPPED_LANDMARK_MODEL) -> None:
    """Refuse to run when a BlazePose model is not inside the installed mediapipe package
    (mediapipe would download it otherwise, and nothing may be downloaded at run time)."""
    import mediapipe

    root = Path(mediapipe.__file__).parent
    landmark_file = LANDMARK_MODELS[landmark_model][1]
    missing = [m for m in (DETECTOR_MODEL, landmark_file) if not (root / m).is_file()]
    if not missing:
        return
    if missing == [landmark_file] and landmark_model != SHIPPED_LANDMARK_MODEL:
        raise RuntimeError(f"the '{landmark_model}' BlazePose landmark model is not installed "
                           f"in mediapipe at {root}; run {LITE_FETCH_SCRIPT} (it fetches it "
                           "from the npm registry, checksummed), or use landmark_model: full")
    raise RuntimeError(f"mediapipe at {root} lacks its shipped models {missing}; "
                       "reinstall mediapipe==0.10.21")


def coco_landmark_indices() -> np.ndarray:
    """(17,) BlazePose landmark index of each COCO-17 joint, in COCO17 order."""
    landmark = _mediapipe_pose().PoseLandmark
    return np.array([landmark[joint.upper()].value for joint in COCO17.joints], dtype=np.int64)


@dataclass
class MediaPipeConfig:
    """Options of the multi-person BlazePose backend (keyword options of create_detector)."""

    max_people: int = 4  # tracks at most; each costs one landmark pass per frame
    min_detection_score: float = 0.5  # BlazePose detector threshold (search and lost tracks)
    min_tracking_score: float = 0.5  # BlazePose pose-presence threshold to keep tracking
    min_person_score: float = 0.3  # mean COCO joint score below which a person is not reported
    redetect_every: int = 10  # frames between searches for new people (always while none tracked)
    crop_margin: float = 0.3  # crop side = person's larger side * (1 + 2 margin)
    recrop_iou: float = 0.7  # move a crop when its IoU with the ideal crop falls below this
    crop_max_side: int = 384  # crops are downscaled to this before BlazePose (its input is 256)
    search_max_side: int = 640  # the whole frame is downscaled to this for the search
    search_tiles: bool = True  # also search squares of tall/wide frames (see _search_regions)
    search_regions_per_frame: int = 1  # regions of a sweep searched per frame while tracking
    workers: int = 2  # threads running landmark passes at once (1 = serial)
    background_search: bool = True  # while tracking, search on its own thread (see above)
    search_nice: int = 10  # the search thread's niceness (Linux; 0 = the process's own)
    workers_nice: int = 5  # the landmark threads' niceness (with workers > 1; see below)
    min_person_size: float = 0.2  # new person's box side >= this x searched region's short side
    duplicate_iou: float = 0.6  # two people whose boxes overlap more are one
    duplicate_distance: float = 0.08  # ... or whose joints lie closer (fraction of box side)
    max_missed_frames: int = 2  # frames a track may lose its pose before it is dropped
    box_padding: float = 0.05  # Person.box = landmarks' box grown by this fraction
    smooth_landmarks: bool = False  # BlazePose's own filter; off: it lags when a crop moves
    landmark_model: str = "full"  # "full" (in the wheel) | "lite" (cheaper; fetched, see above)
    landmark_stride: int = 2  # a tracked person's landmark pass every this many frames (see 5.)
    warm_graphs: int = 1  # tracking graphs set up at start-up, ready for new people (Graphs)

    def __post_init__(self) -> None:
        if self.landmark_model not in LANDMARK_MODELS:
            raise ValueError(f"landmark_model must be one of {', '.join(LANDMARK_MODELS)}; "
                             f"got {self.landmark_model!r}")
        if (self.max_people < 1 or self.redetect_every < 1 or self.max_missed_frames < 0
                or self.workers < 1 or self.search_regions_per_frame < 1
                or self.landmark_stride < 1):
            raise ValueError("max_people, redetect_every, workers, search_regions_per_frame and "
                             "landmark_stride must be >= 1, max_missed_frames >= 0")
        if not 0 <= self.warm_graphs <= self.max_people:
            raise ValueError(f"warm_graphs must lie in [0, max_people={self.max_people}], "
                             f"got {self.warm_graphs}")
        for name in ("min_detection_score", "min_tracking_score", "min_person_score",
                     "recrop_iou", "duplicate_iou", "min_person_size"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        for name in ("search_nice", "workers_nice"):
            if not 0 <= getattr(self, name) <= 19:
                raise ValueError(f"{name} must lie in [0, 19], got {getattr(self, name)}")
        if self.crop_margin < 0 or self.crop_max_side < 64 or self.search_max_side < 64:
            raise ValueError("crop_margin must be >= 0 and crop_max_side, search_max_side >= 64")


@dataclass
class _Track:
    """One tracked person and the BlazePose graph that follows it."""

    track_id: int
    graph: object  # mediapipe Pose in video mode
    crop: tuple[int, int, int, int]  # x0, y0, x1, y1 px in the frame
    landmarks: np.ndarray  # (33, 4) x px, y px, visibility, presence
    keypoints: np.ndarray  # (17, 3) x px, y px, score (COCO-17)
    score: float = 0.0
    missed: int = 0
    stateless: bool = True  # the graph holds no landmarks: its next frame runs its detector
    fixed_view: bool = False  # fallback: the search region that found the person, never moved
    phase: int = 0  # with landmark_stride N: its passes run on frames where index % N == phase
    predicted: bool = False  # this frame's landmarks were extrapolated (`_coast`), not measured
    pass_xy: np.ndarray | None = None  # (33, 2) px: landmarks of the last landmark pass
    pass_frame: int = -1  # frame index of that pass
    pass_time: float = 0.0  # its time on the detector's clock (see `_advance_clock`)
    velocity: np.ndarray | None = None  # (33, 2) px per clock unit between the last two passes

    @property
    def box(self) -> np.ndarray:
        return points_box(self.landmarks[:, :2])


def _to_rgb(bgr: np.ndarray, max_side: int) -> np.ndarray:
    """Contiguous RGB copy of a (possibly strided) BGR view, downscaled to fit `max_side`.

    Landmarks come back normalised to the image, so the scale need not be returned.
    Bilinear, not area averaging: a track's crop is resized on every landmark pass, where area
    averaging cost 1.2-1.5 ms more per crop, and the graph resamples the result to its 256 px
    input bilinearly anyway; the landmarks moved by a median 0.1-0.2 % of the person's height
    (scripts/compare_crop_resize.py). The whole-frame search keeps area averaging: it looks
    for small people, where aliasing would matter."""
    h, w = bgr.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        bgr = cv2.resize(bgr, size, interpolation=CROP_INTERPOLATION)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _lower_priority(nice: int) -> None:
    """Make the calling thread `nice` steps less urgent (Linux threads have their own nice
    value), so background work yields the CPU to the work a frame waits for."""
    if nice <= 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError):  # not Linux, or not permitted: run at normal priority
        pass


def _run_graph(graph, rgb: np.ndarray) -> np.ndarray | None:
    """(33, 4) landmarks normalised to the image (x, y in 0..1, visibility, presence) or None.

    Calls SolutionBase.process rather than Pose.process, which deletes `presence`."""
    from mediapipe.python.solution_base import SolutionBase

    result = SolutionBase.process(graph, {"image": rgb})
    if result.pose_landmarks is None:
        return None
    return np.array([(p.x, p.y, p.visibility, p.presence) for p in result.pose_landmarks.landmark],
                    dtype=np.float32)


def _silhouette(shape: tuple[int, int], landmarks_xy: np.ndarray, connections) -> np.ndarray:
    """(H, W) uint8 mask of a person drawn from (33, 2) landmark pixels: thick limbs, filled torso,
    a disc over the head. Generous, so that no part the detector could key on is left."""
    mask = np.zeros(shape, dtype=np.uint8)
    pts = landmarks_xy.astype(np.float64)
    shoulders, hips = pts[list(_SHOULDERS)].mean(axis=0), pts[list(_HIPS)].mean(axis=0)
    torso = max(float(np.linalg.norm(shoulders - hips)), 4.0)
    thickness = max(3, int(0.35 * torso))
    ipts = np.round(pts).astype(np.int32)
    for a, b in connections:
        cv2.line(mask, tuple(map(int, ipts[a])), tuple(map(int, ipts[b])), 255, thickness)
    cv2.fillConvexPoly(mask, cv2.convexHull(ipts[list(_SHOULDERS + _HIPS)]), 255)
    head = pts[_FACE].mean(axis=0)
    radius = int(max(0.9 * np.linalg.norm(pts[_EARS[0]] - pts[_EARS[1]]), 0.3 * torso))
    cv2.circle(mask, tuple(map(int, np.round(head))), radius, 255, -1)
    return mask


class MediaPipeDetector(KeypointDetector):
    """Multi-person BlazePose: one video-mode graph per tracked person plus a periodic search.

    Stateful across frames (video); call `reset()` before an unrelated image. A change of image
    size resets by itself.
    """

    name = "mediapipe"

    def __init__(self, config: MediaPipeConfig | None = None) -> None:
        self.config = config or MediaPipeConfig()
        self._pose = _mediapipe_pose()
        check_models_installed(self.config.landmark_model)
        self._coco = coco_landmark_indices()  # (17,)
        self._connections = tuple(self._pose.POSE_CONNECTIONS)
        self._searcher = self._new_graph(static=True)
        self._idle: list[object] = []  # set-up graphs for new people (see Graphs)
        self._tracks: list[_Track] = []
        self._frame_index = 0
        self._now = 0.0  # this frame's time on the clock of `_advance_clock`
        self._clock_is_stamps = False
        self._next_id = 0
        self._shape: tuple[int, int] | None = None
        self._sweep: list[tuple[int, int, int, int]] = []  # search regions still to look at
        self._pool = (ThreadPoolExecutor(self.config.workers, thread_name_prefix="blazepose",
                                         initializer=_lower_priority,
                                         initargs=(self.config.workers_nice,))
                      if self.config.workers > 1 else None)
        self._search_pool = (ThreadPoolExecutor(1, thread_name_prefix="blazepose_search",
                                                initializer=_lower_priority,
                                                initargs=(self.config.search_nice,))
                             if self.config.background_search else None)
        self._search: Future | None = None  # the background search in flight
        self._warm_up()

    # --- graphs -----------------------------------------------------------------------------
    def _new_graph(self, static: bool):
        c = self.config
        complexity = LANDMARK_MODELS[c.landmark_model][0]
        return self._pose.Pose(static_image_mode=static, model_complexity=complexity,
                               smooth_landmarks=c.smooth_landmarks, enable_segmentation=False,
                               min_detection_confidence=c.min_detection_score,
                               min_tracking_confidence=c.min_tracking_score)

    def _warm_up(self) -> None:
        """Set up the search graph and `warm_graphs` tracking graphs now, on a blank frame (on
        the worker threads), rather than on the frame where someone is first found."""
        graphs = [self._new_graph(static=False) for _ in range(self.config.warm_graphs)]
        self._run([partial(_run_graph, graph, _BLANK) for graph in [self._searcher, *graphs]])
        self._idle.extend(graphs)  # a blank frame leaves them as a released track's graph

    def _acquire_graph(self):
        return self._idle.pop() if self._idle else self._new_graph(static=False)

    def _release(self, track: _Track) -> None:
        """Return a track's graph to the idle pool, wiped of its tracking state."""
        if not track.stateless:  # a blank frame makes the graph lose the pose and forget it
            _run_graph(track.graph, _BLANK)
        if len(self._idle) < self.config.max_people:
            self._idle.append(track.graph)
        else:
            track.graph.close()

    # --- public -----------------------------------------------------------------------------
    def reset(self) -> None:
        self._finish_search()  # its finds belong to the frames before the reset
        for track in self._tracks:
            self._release(track)
        self._tracks = []
        self._sweep = []
        self._frame_index = 0

    def close(self) -> None:
        if getattr(self, "_is_closed", False):
            return
        for pool in (self._pool, self._search_pool):
            if pool is not None:
                pool.shutdown(wait=True)
        for graph in [t.graph for t in self._tracks] + self._idle + [self._searcher]:
            graph.close()
        self._tracks, self._idle = [], []
        super().close()

    @property
    def num_tracks(self) -> int:
        return len(self._tracks)

    def _detect(self, image: np.ndarray) -> list[Person]:
        return self._detect_at(image, None)

    def _detect_at(self, image: np.ndarray, stamp_s: float | None) -> list[Person]:
        image = np.ascontiguousarray(image)  # OpenCV rejects some strided views (e.g. flipped)
        if self._shape != image.shape[:2]:
            self.reset()
            self._shape = image.shape[:2]
        self._advance_clock(stamp_s)
        tracking = any(t.missed == 0 for t in self._tracks)
        regions = self._regions_to_search(*image.shape[:2])
        room = self.config.max_people - len(self._tracks)
        seen = [t.landmarks for t in self._tracks]  # where people were on the previous frame
        finds = self._finish_search() if self._search_done() else []
        # A track whose graph lost its person runs its own detector and hides the others from
        # it, so it needs their landmarks: those go second, once the others have this frame's.
        # Each phase reads only what the phase before wrote, so passes on parallel threads give
        # the same result whichever finishes first (same input, same output).
        lost = [t for t in self._tracks if t.stateless]
        followed = [t for t in self._tracks if not t.stateless]
        due = [self._due(t) for t in followed]
        coasting = [t for t, d in zip(followed, due) if not d]
        tasks = [partial(self._step, t, image, []) for t, d in zip(followed, due) if d]
        search_now = bool(regions) and not (tracking and self._search_pool is not None)
        if search_now:  # nobody followed (or no search thread): this frame waits for it
            tasks.append(partial(self._look, image, regions, seen, room))
        elif regions and self._search is None:
            self._search = self._search_pool.submit(self._look, image.copy(), regions, seen,
                                                    room)
        elif regions:  # the previous search is still running: these regions come next
            self._sweep = regions + self._sweep
        results = self._run(tasks)
        for track in coasting:
            self._coast(track)
        self._run([partial(self._step, t, image, [o.landmarks for o in self._tracks if o is not t])
                   for t in lost])  # the arguments are built before any of them runs
        self._end_lost_tracks()
        self._merge_duplicates()
        for landmarks, region in finds + (results[-1] if search_now else []):
            self._propose(image, landmarks, region)
        self._frame_index += 1
        return [self._person(t) for t in self._tracks if t.missed == 0]

    def _run(self, tasks: list) -> list:
        """Results of the argument-less `tasks`, in order, on the worker threads when there are
        several (each task owns its graph; mediapipe releases the GIL while a graph runs)."""
        if self._pool is None or len(tasks) < 2:
            return [task() for task in tasks]
        return [future.result() for future in [self._pool.submit(task) for task in tasks]]

    def _search_done(self) -> bool:
        return self._search is not None and self._search.done()

    def _finish_search(self) -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
        """The background search's finds, waiting for it if it still runs ([] when none)."""
        search, self._search = self._search, None
        return search.result() if search is not None else []

    # --- tracking ---------------------------------------------------------------------------
    def _end_lost_tracks(self) -> None:
        keep = []
        for track in self._tracks:
            if track.missed > self.config.max_missed_frames:
                self._release(track)
            else:
                keep.append(track)
        self._tracks = keep

    def _step(self, track: _Track, image: np.ndarray, others: list[np.ndarray]) -> bool:
        """Run a track's graph on its crop of this frame; True when the pose was found.
        `others`: the other tracks' landmarks (33, 4) on the previous frame."""
        h, w = image.shape[:2]
        x0, y0, x1, y1 = track.crop
        crop = image[y0:y1, x0:x1]
        if track.stateless and others:  # its detector will run: hide the other people from it
            crop = crop.copy()
            self._erase(crop, others, offset=(x0, y0), scale=1.0)
        max_side = self.config.search_max_side if track.fixed_view else self.config.crop_max_side
        norm = _run_graph(track.graph, _to_rgb(crop, max_side))
        if norm is None:
            track.missed += 1
            track.stateless = True
            track.pass_xy = track.velocity = None
            return False
        landmarks = norm.copy()
        landmarks[:, 0] = x0 + norm[:, 0] * (x1 - x0)
        landmarks[:, 1] = y0 + norm[:, 1] * (y1 - y0)
        self._set_landmarks(track, landmarks)
        self._remember_pass(track, landmarks)
        track.predicted = False
        track.stateless = False
        track.missed = 0 if track.score >= self.config.min_person_score else track.missed + 1
        if track.fixed_view:  # a fixed view: the graph's remembered region stays valid
            return True
        ideal = square_crop(track.box, self.config.crop_margin, w, h)
        fit = box_iou(np.array(track.crop, np.float32), np.array(ideal, np.float32))
        if not box_inside(track.box, track.crop, w, h) or fit < self.config.recrop_iou:
            track.crop = ideal
        return True

    def _due(self, track: _Track) -> bool:
        """Whether a followed person's landmark pass runs on this frame (see 5. Stride)."""
        return (track.missed > 0 or track.velocity is None
                or self._frame_index % self.config.landmark_stride == track.phase)

    def _advance_clock(self, stamp_s: float | None) -> None:
        """This frame's time: its stamp in seconds, or the frame index where none is given.

        Why stamps: a live consumer skips frames while it is busy, so the frames it processes
        are unevenly spaced; a velocity per processed frame would carry a person too far
        after a short gap and not far enough after a long one. When the clock changes kind
        or does not move forwards, the velocities are void and every person's pass runs."""
        stamped = stamp_s is not None
        now = float(stamp_s) if stamped else float(self._frame_index)
        if stamped != self._clock_is_stamps or (self._frame_index > 0 and now <= self._now):
            for track in self._tracks:
                track.pass_xy = track.velocity = None
        self._now, self._clock_is_stamps = now, stamped

    def _coast(self, track: _Track) -> None:
        """This frame's landmarks of a person whose pass is not due: its last pass moved on at
        the velocity between its last two passes, for the time since that pass. A landmark
        carried out of the frame stops at its edge and is marked not visible, as a pass
        reports a landmark outside the image."""
        landmarks = track.landmarks.copy()  # (33, 4)
        xy = track.pass_xy + track.velocity * (self._now - track.pass_time)  # (33, 2) px
        h, w = self._shape
        inside = np.clip(xy, 0.0, [w - 1.0, h - 1.0])
        landmarks[:, :2] = inside
        landmarks[(inside != xy).any(axis=1), 2] = 0.0  # visibility
        self._set_landmarks(track, landmarks)
        track.predicted = True

    def _remember_pass(self, track: _Track, landmarks: np.ndarray) -> None:
        """Keep a pass's landmarks and the velocity since the previous one (for `_coast`)."""
        xy = landmarks[:, :2].copy()  # (33, 2)
        gap = self._frame_index - track.pass_frame
        elapsed = self._now - track.pass_time
        recent = track.pass_xy is not None and 0 < gap <= self.config.landmark_stride
        track.velocity = ((xy - track.pass_xy) / elapsed if recent and elapsed > 0
                          else None)  # None: no recent pass to measure from
        track.pass_xy, track.pass_frame, track.pass_time = xy, self._frame_index, self._now

    def _set_landmarks(self, track: _Track, landmarks: np.ndarray) -> None:
        track.landmarks = landmarks  # (33, 4)
        picked = landmarks[self._coco]  # (17, 4)
        score = np.clip(np.minimum(picked[:, 2], picked[:, 3]), 0.0, 1.0)
        track.keypoints = np.column_stack([picked[:, :2], score]).astype(np.float32)
        track.score = float(score.mean())

    def _is_duplicate(self, a: _Track, b: _Track) -> bool:
        c = self.config
        return (box_iou(a.box, b.box) > c.duplicate_iou
                or keypoint_distance(a.keypoints, b.keypoints) < c.duplicate_distance)

    def _merge_duplicates(self) -> None:
        """Keep the best of tracks that follow one person (a graph can jump onto a neighbour)."""
        ranked = sorted(self._tracks, key=lambda t: (-t.score, t.track_id))
        kept: list[_Track] = []
        for track in ranked:
            seen = track.missed == 0
            if seen and any(self._is_duplicate(track, k) for k in kept if k.missed == 0):
                self._release(track)
            else:
                kept.append(track)
        self._tracks = sorted(kept, key=lambda t: t.track_id)

    # --- search -----------------------------------------------------------------------------
    def _erase(self, image: np.ndarray, people: list[np.ndarray], offset: tuple[int, int],
               scale: float) -> None:
        """Blur over the people whose (33, >=2) landmarks (frame px) are `people` in `image`, a
        view of the frame at `offset` px scaled by `scale`."""
        if not people:
            return
        mask = np.zeros(image.shape[:2], dtype=np.uint8)
        for landmarks in people:
            xy = (landmarks[:, :2] - np.asarray(offset, np.float32)) * scale
            mask |= _silhouette(image.shape[:2], xy, self._connections)
        erase_regions(image, mask)

    def _search_regions(self, height: int, width: int) -> list[tuple[int, int, int, int]]:
        """Frame regions to search, in frame pixels: the whole frame, then, for frames at least
        1.5 times longer than wide (or wider than long), overlapping squares of the short side.

        BlazePose's detector sees a 224x224 letterboxed picture, in which people in a tall or wide
        frame are too small to be found (three people stacked in a 1080x1920 frame: only one)."""
        regions = [(0, 0, width, height)]
        short, long = min(height, width), max(height, width)
        if not self.config.search_tiles or long < 1.5 * short:
            return regions
        count = int(np.ceil((long - short) / (0.75 * short))) + 1  # >= 25 % overlap
        for start in np.linspace(0, long - short, count).round().astype(int):
            start = int(start)
            regions.append((start, 0, start + short, height) if width > height
                           else (0, start, width, start + short))
        return regions

    def _regions_to_search(self, height: int, width: int) -> list[tuple[int, int, int, int]]:
        """This frame's share of the search: the whole sweep while nobody is followed (no
        landmark passes to pay for), else the next `search_regions_per_frame` regions of the
        sweep that starts every `redetect_every` frames."""
        if len(self._tracks) >= self.config.max_people:
            self._sweep = []
            return []
        if not any(t.missed == 0 for t in self._tracks):
            self._sweep = []
            return self._search_regions(height, width)
        if not self._sweep and self._frame_index % self.config.redetect_every == 0:
            self._sweep = self._search_regions(height, width)
        count = self.config.search_regions_per_frame
        regions, self._sweep = self._sweep[:count], self._sweep[count:]
        return regions

    def _look(self, image: np.ndarray, regions: list[tuple[int, int, int, int]],
              seen: list[np.ndarray], room: int
              ) -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
        """Search `regions` with the people at `seen` erased: in each region find the strongest
        person, erase it, repeat. Returns at most `room` finds as ((33, 4) landmarks in frame
        px, region). Touches only the search graph, so it may run beside the tracks' steps."""
        h, w = image.shape[:2]
        scale = min(1.0, self.config.search_max_side / max(h, w))
        small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA) if scale < 1.0 else image.copy()
        self._erase(small, seen, offset=(0, 0), scale=scale)
        found: list[tuple[np.ndarray, tuple[int, int, int, int]]] = []
        proposals_left = room + 2  # bounds the loop whatever the detector does
        for region in regions:
            sx0, sy0, sx1, sy1 = (int(round(v * scale)) for v in region)
            while proposals_left > 0 and len(found) < room:
                view = small[sy0:sy1, sx0:sx1]  # a view: erasing `small` erases it too
                norm = _run_graph(self._searcher, cv2.cvtColor(view, cv2.COLOR_BGR2RGB))
                if norm is None:
                    break
                proposals_left -= 1
                landmarks = norm.copy()
                landmarks[:, 0] = (sx0 + norm[:, 0] * (sx1 - sx0)) / scale
                landmarks[:, 1] = (sy0 + norm[:, 1] * (sy1 - sy0)) / scale
                self._erase(small, [landmarks], offset=(0, 0), scale=scale)
                found.append((landmarks, region))
        return found

    def _propose(self, image: np.ndarray, landmarks: np.ndarray,
                 region: tuple[int, int, int, int]) -> None:
        """Start a track on a search find that is big enough and nobody's duplicate."""
        if len(self._tracks) >= self.config.max_people:
            return
        proposal = _Track(-1, None, region, landmarks, np.zeros((17, 3), np.float32))
        self._set_landmarks(proposal, landmarks)
        if self._big_enough(proposal.box, region):
            self._start_track(image, proposal, region)

    def _big_enough(self, box: np.ndarray, region: tuple[int, int, int, int]) -> bool:
        """Whether a proposal fills enough of the region it was found in to be believed.

        BlazePose is made for people who fill a good part of the view; the "people" it finds far
        smaller than that are mostly clutter (a tabletop seen as a person, score 0.9, in a zoomed
        search square). Applies to new proposals only: a tracked person may shrink later."""
        x0, y0, x1, y1 = region
        b = clip_box(box, x1, y1)
        b[:2] = np.maximum(b[:2], (x0, y0))
        side = max(b[2] - b[0], b[3] - b[1])
        return side >= self.config.min_person_size * min(x1 - x0, y1 - y0)

    def _start_track(self, image: np.ndarray, proposal: _Track,
                     region: tuple[int, int, int, int]) -> None:
        """Give a proposal its own graph and run it on this frame; keep it if it is someone new."""
        if any(self._is_duplicate(proposal, t) for t in self._tracks if t.missed == 0):
            return
        h, w = image.shape[:2]
        track = _Track(self._next_id, self._acquire_graph(),
                       square_crop(proposal.box, self.config.crop_margin, w, h),
                       proposal.landmarks, proposal.keypoints, proposal.score)
        others = [t.landmarks for t in self._tracks]
        found = self._step(track, image, others)
        if not found:  # BlazePose's detector can miss in a crop what it saw in the search
            track.fixed_view, track.crop = True, region  # so look where the search looked
            found = self._step(track, image, others)
        if (not found or track.missed or not self._big_enough(track.box, region)
                or any(self._is_duplicate(track, t) for t in self._tracks)):
            self._release(track)
            return
        self._next_id += 1
        load = [sum(t.phase == p for t in self._tracks) for p in range(self.config.landmark_stride)]
        track.phase = load.index(min(load))  # the least busy frames of the stride
        self._tracks.append(track)

    # --- output -----------------------------------------------------------------------------
    def _person(self, track: _Track) -> Person:
        h, w = self._shape
        box = clip_box(pad_box(track.box, self.config.box_padding), w, h)
        return Person(keypoints=track.keypoints.copy(), box=box, score=track.score,
                      track_id=track.track_id, predicted=track.predicted)


def create_keypoint_detector(**options: object) -> MediaPipeDetector:
    """Registry factory: keyword options are MediaPipeConfig fields."""
    return MediaPipeDetector(config_from_options(MediaPipeConfig, "mediapipe", options))
