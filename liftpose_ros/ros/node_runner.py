"""Start-up failure and the spin/shutdown sequence shared by every liftpose node's main()."""
from __future__ import annotations

import os
import signal
import threading
import time
from typing import Callable, Sequence

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import uninstall_signal_handlers
from rclpy.task import Future

from liftpose_ros.core.interpreter_lock import apply_switch_interval
from liftpose_ros.core.native_log import NativeLogRouter, route_native_logs


class StartupError(RuntimeError):
    """A node cannot start (bad parameter, unusable checkpoint or backend). Always one line,
    so an operator sees what is wrong and where in a single log entry."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def spin_nodes(factories: Sequence[Callable[[], Node]], name: str,
               make_executor: Callable[[], Executor | ExecutorPerNode] = SingleThreadedExecutor,
               until: Callable[[list[Node]], Future] | None = None, linger_s: float = 0.0
               ) -> int:
    """Build the nodes (rclpy already initialised), spin them in one executor until
    Ctrl-C/SIGTERM, always clean up. Exit status 1 on a StartupError (logged as one FATAL
    line), else 0.

    until: for nodes that finish on their own (a video that ends), the future, taken from the
    built nodes, whose completion ends the spin; the participant then lives `linger_s` more
    seconds so that what was published last can leave (a plain Executor only).

    A signal may arrive at any moment, also while the nodes are being built or before the
    executor spins (a launch file stopping early): every path ends in the same clean-up, which
    further signals no longer interrupt (`_finish_despite_signals`), and once it is done they
    are ignored (`_ignore_signals_until_exit`): call this from a main() that exits when it
    returns.
    """
    nodes: list[Node] = []
    executor: Executor | ExecutorPerNode | None = None
    router = route_native_logs_to(name)
    try:
        _apply_switch_interval(name)
        # The executor exists before the nodes: a signal that arrives once a node has
        # announced itself can no longer interrupt the executor's own construction.
        executor = make_executor()
        for factory in factories:
            nodes.append(factory())
            executor.add_node(nodes[-1])
        if until is None:
            executor.spin()
        else:
            executor.spin_until_future_complete(until(nodes))
            time.sleep(linger_s)
    except StartupError as exc:
        rclpy.logging.get_logger(name).fatal(str(exc))
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise
        # SIGTERM shut the context down during start-up: a clean stop, not a failure
    finally:
        _finish_despite_signals(name)
        if executor is not None:
            executor.shutdown()
        for node in reversed(nodes):
            node.destroy_node()
        if router is not None:
            router.close()
        rclpy.try_shutdown()
        _ignore_signals_until_exit()
    return 0


def _apply_switch_interval(name: str) -> None:
    """The process's GIL switch interval (core/interpreter_lock.py); a bad override is a
    StartupError."""
    try:
        interval_ms = apply_switch_interval()
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    rclpy.logging.get_logger(name).debug(f"GIL switch interval {interval_ms:g} ms")


def route_native_logs_to(name: str) -> NativeLogRouter | None:
    """Route what native libraries (mediapipe's absl logging, TensorFlow Lite) print on fd 2 to
    the ROS logger `<name>.native`, at their own severity, known harmless lines at debug (see
    core/native_log.py); None when LIFTPOSE_NATIVE_LOGS=raw or already routed."""
    logger = rclpy.logging.get_logger(name).get_child("native")

    def handle(level: str, text: str) -> None:
        getattr(logger, level)(text)

    return route_native_logs(handle)


class ExecutorPerNode:
    """Each node in its own SingleThreadedExecutor, each spun in its own thread (the last one in
    the thread that calls `spin`). Offers the part of the Executor interface spin_nodes uses.

    Why: in one process, a node waiting behind another node's callback is latency. With one
    shared executor the keypoint node's image callback (which only stores the newest image)
    waited for the lifter's callback; on 2 cores that put 9 ms (p50) / 20 ms (p95) between
    the camera and the detector. rclpy's MultiThreadedExecutor(num_threads=2) collapsed to
    seconds of latency on the same load. One single-threaded executor per node measured best
    (scripts/bench_pipeline.py, README "ROS 2 nodes and messages").
    """

    def __init__(self, context=None) -> None:
        self._context = context
        self._executors: list[SingleThreadedExecutor] = []
        self._threads: list[threading.Thread] = []

    def add_node(self, node: Node) -> bool:
        executor = SingleThreadedExecutor(context=self._context)
        executor.add_node(node)
        self._executors.append(executor)
        return True

    def spin(self) -> None:
        """Spin every node until the context shuts down (Ctrl-C, SIGTERM)."""
        for executor in self._executors[:-1]:
            thread = threading.Thread(target=_spin_until_shutdown, args=(executor,),
                                      name="liftpose_spin", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self._executors:
            self._executors[-1].spin()

    def shutdown(self, timeout_sec: float | None = None) -> bool:
        done = all([executor.shutdown(timeout_sec) for executor in self._executors])
        for thread in self._threads:
            thread.join(timeout=timeout_sec)
        return done and not any(thread.is_alive() for thread in self._threads)


def _spin_until_shutdown(executor: Executor) -> None:
    try:
        executor.spin()
    except ExternalShutdownException:
        pass
    except Exception:
        if executor.context.ok():
            raise
        # the context shut down under a callback or a wait (SIGTERM): part of a clean stop


def _finish_despite_signals(name: str) -> None:
    """While the nodes are cleaned up, SIGINT and SIGTERM no longer interrupt: one more prints
    a line, the next ends the process at once (status 128 + signal) in case the clean-up
    hangs.

    Why: a second Ctrl-C, or a launch system's SIGTERM after its SIGINT, must not cut the
    clean-up short (the nodes' workers, detectors and DDS entities are being released) nor
    raise a KeyboardInterrupt traceback out of it. rclpy's own handlers go first, or its
    shutdown would restore the default action (terminate) over these.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    uninstall_signal_handlers()
    seen: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        if seen:
            os._exit(128 + signum)
        seen.append(signum)
        # os.write, not print: a handler may run while the main thread is inside a print
        os.write(2, f"[{name}]: already stopping, please wait (once more to force)\n".encode())

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)


def _ignore_signals_until_exit() -> None:
    """The nodes are gone; the interpreter only exits now. While it finalises (a few tenths of
    a second with torch and mediapipe loaded) Python resets a signal handled by a Python
    function to the default action: a second SIGINT or SIGTERM then ended a cleanly stopped
    process with status -2 or -15, or a KeyboardInterrupt traceback from torch's exit
    handlers. An ignored signal stays ignored through that."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)


def spin_node(factory: Callable[[], Node], name: str, args: list[str] | None = None,
              until: Callable[[Node], Future] | None = None, linger_s: float = 0.0) -> int:
    """`spin_nodes` for one node in a single-threaded executor, initialising rclpy first."""
    rclpy.init(args=args)
    return spin_nodes([factory], name, until=None if until is None else lambda n: until(n[0]),
                      linger_s=linger_s)
