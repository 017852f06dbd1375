"""Pictures of a graph-demo run: a strip of frames (2D overlay beside the 3D scene) and an
overlay video (the same, every frame).

The 2D drawing is the keypoint node's own (`core.detect.draw.draw_people`) and the track
colours are the RViz markers' (`ros.markers.track_colour`), so one person has one colour in
the strip, the debug image and RViz. The 3D panel shows every skeleton of the frame in the
camera frame, coloured per track, so an id swap or a person placed at a wrong depth shows.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from liftpose_ros.core.detect.draw import DrawStyle, draw_people  # noqa: E402
from liftpose_ros.core.person import Person  # noqa: E402
from liftpose_ros.core.skeleton import H36M17  # noqa: E402
from liftpose_ros.core.skeleton_view import SkeletonView  # noqa: E402
from liftpose_ros.core.plot import to_plot_axes  # noqa: E402
from liftpose_ros.core.video import VideoSource, read_frames  # noqa: E402
from liftpose_ros.ros.markers import track_colour  # noqa: E402

_HEAD = H36M17.index("head_top")
PAD_M = 0.3  # metres around the skeletons in the 3D panels
VIEW_ELEV, VIEW_AZIM = 20.0, -50.0  # from above, front-left: depth order and poses both show
# Thicker lines and larger ids than the debug image: the strip is viewed scaled down.
STRIP_STYLE = DrawStyle(line_scale=5.0, joint_scale=6.0, font_scale=1.3)


def draw_people_frame(image: np.ndarray, people, style: DrawStyle = DrawStyle()) -> np.ndarray:
    """BGR image with the people of a recorded PeopleFrame (or None) drawn."""
    if people is None:
        return image
    drawn = [Person(k, b, s, t) for t, k, b, s in
             zip(people.track_ids, people.keypoints, people.boxes, people.scores)]
    return draw_people(image, drawn, track_colour=track_colour, style=style)


def _skeleton_3d(ax, pose: np.ndarray, track_id: int) -> None:
    """One camera-frame skeleton (17, 3) in its track's colour, labelled with its id."""
    p = to_plot_axes(pose)
    colour = track_colour(track_id)
    for a, b in H36M17.bones:
        ax.plot(*zip(p[a], p[b]), color=colour, linewidth=2.8)
    ax.scatter(*p.T, color=colour, s=7, depthshade=False)
    head = p[_HEAD]
    ax.text(head[0], head[1], head[2] + 0.15, f"id {track_id}", color=colour, fontsize=12,
            fontweight="bold", ha="center")


def _limits(frames) -> np.ndarray:
    """(3, 2) plot-axes bounds covering every skeleton of `frames`, padded, equal spans."""
    points = np.concatenate([to_plot_axes(p) for f in frames for p in f.positions]
                            or [np.zeros((1, 3))])
    lo, hi = points.min(0) - PAD_M, points.max(0) + PAD_M
    centre, half = (lo + hi) / 2, (hi - lo).max() / 2
    return np.stack([centre - half, centre + half], axis=1)


def _panel_3d(ax, frame, limits: np.ndarray) -> None:
    for tid, pose in zip(frame.track_ids, frame.positions):
        _skeleton_3d(ax, pose, int(tid))
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    ax.set_zlim(*limits[2])
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=VIEW_ELEV, azim=VIEW_AZIM)
    ax.set_xlabel("x right (m)", fontsize=8, labelpad=-2)
    ax.set_ylabel("depth z (m)", fontsize=8, labelpad=-2)
    ax.set_zlabel("up -y (m)", fontsize=8, labelpad=-2)
    ax.tick_params(labelsize=7, pad=-1)


def choose_frames(result, count: int) -> list:
    """Up to `count` lifted frames spread over the run (after the first eighth, where tracks
    and the lifter's windows are still filling), preferring frames with everyone lifted."""
    shown = {stamp for stamp, _ in result.published}
    lifted = [f for f in result.skeletons if len(f.track_ids) and f.image_stamp_ns in shown]
    if not lifted:
        return []
    most = max(len(f.track_ids) for f in lifted)
    full = [f for f in lifted if len(f.track_ids) == most]
    pool = full[len(full) // 8:] if len(full) >= 2 * count else lifted[len(lifted) // 8:]
    picks = np.unique(np.linspace(0, len(pool) - 1, min(count, len(pool))).round().astype(int))
    return [pool[i] for i in picks]


def render_demo_strip(result, path: str | Path, count: int = 4) -> Path | None:
    """PNG of `count` frames, two per row: the frame with 2D skeletons and track ids beside
    the 3D skeletons of that frame. None when nothing was lifted."""
    chosen = choose_frames(result, count)
    if not chosen:
        return None
    index_of = dict(result.published)  # stamp -> file frame
    people_at = {f.stamp_ns: f for f in result.people}
    images = read_frames(result.video_path, {index_of[f.image_stamp_ns] for f in chosen},
                         result.settings.scale)
    limits = _limits(chosen)
    per_row = 2 if len(chosen) > 1 else 1
    rows = math.ceil(len(chosen) / per_row)
    h, w = next(iter(images.values())).shape[:2]
    row_h = 7.0  # inches
    img_w = row_h * w / h
    fig = plt.figure(figsize=(per_row * (img_w + row_h), row_h * rows))
    grid = fig.add_gridspec(rows, 2 * per_row, width_ratios=[img_w, row_h] * per_row,
                            wspace=0.05, hspace=0.1, left=0.01, right=0.97,
                            top=1.0 - 0.9 / fig.get_figheight(), bottom=0.02)
    t0 = result.published[0][0]
    for i, frame in enumerate(chosen):
        r, c = divmod(i, per_row)
        index = index_of[frame.image_stamp_ns]
        drawn = draw_people_frame(images[index], people_at.get(frame.image_stamp_ns),
                                  STRIP_STYLE)
        ax = fig.add_subplot(grid[r, 2 * c])
        ax.imshow(cv2.cvtColor(drawn, cv2.COLOR_BGR2RGB))
        ax.set_axis_off()
        ax.set_title(f"video frame {index} (t = {(frame.image_stamp_ns - t0) * 1e-9:.2f} s), "
                     f"3D after {1e3 * frame.latency_s:.0f} ms", fontsize=11)
        _panel_3d(fig.add_subplot(grid[r, 2 * c + 1], projection="3d"), frame, limits)
    fig.suptitle(f"{result.video_path.name}: 2D keypoints and track ids (left), lifted 3D "
                 f"skeletons in the camera frame, metres (right); lifter T={result.window}",
                 fontsize=13, y=1.0 - 0.2 / fig.get_figheight())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path


def _newest_at(stamps: list[int], stamp: int) -> int:
    """Index of the newest of the sorted `stamps` at or before `stamp`; -1 if none."""
    return int(np.searchsorted(stamps, stamp, side="right")) - 1


def write_overlay_video(result, path: str | Path) -> Path | None:
    """MP4 (mp4v) of every published frame: the image with the newest 2D people known at its
    stamp, as a live viewer would show them, beside a square 3D view of the newest skeletons
    answering an image up to that stamp (the strip's view, scaled to the whole run so it holds
    still). None when OpenCV cannot write mp4v here."""
    if not result.published:
        return None
    people = sorted(result.people, key=lambda f: f.stamp_ns)
    stamps = [f.stamp_ns for f in people]
    skeletons = sorted(result.skeletons, key=lambda f: f.image_stamp_ns)
    skeleton_stamps = [f.image_stamp_ns for f in skeletons]
    source = VideoSource(result.video_path, result.settings.scale)
    width, height = source.size
    view = SkeletonView(height, track_colour, elev_deg=VIEW_ELEV, azim_deg=VIEW_AZIM)
    for frame in skeletons:
        view.include(frame.positions)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"),
                             float(result.settings.rate_hz), (width + height, height))
    try:
        if not writer.isOpened():
            return None
        for stamp, index in result.published:
            if index < source.next_index:  # a looped run: the file starts again
                source.rewind()
            image = source.read(index)
            if image is None:
                break
            k = _newest_at(stamps, stamp)
            drawn = draw_people_frame(image, people[k] if k >= 0 else None)
            age = f"2D of {1e-6 * (stamp - stamps[k]):.0f} ms ago" if k >= 0 else "no 2D yet"
            cv2.putText(drawn, f"frame {index}, {age}", (8, drawn.shape[0] - 12),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
            s = _newest_at(skeleton_stamps, stamp)
            panel = (view.draw(skeletons[s].track_ids, skeletons[s].positions) if s >= 0
                     else view.draw([], np.zeros((0, H36M17.num_joints, 3))))
            writer.write(np.hstack([drawn, panel]))
    finally:
        writer.release()
        source.close()
    return path
