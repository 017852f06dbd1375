"""Start-up failure and the spin/shutdown sequence shared by every liftpose node's main()."""
from __future__ import annotations

from typing import Callable, Sequence

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


class StartupError(RuntimeError):
    """A node cannot start (bad parameter, unusable checkpoint or backend). Always one line,
    so an operator sees what is wrong and where in a single log entry."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def spin_nodes(factories: Sequence[Callable[[], Node]], name: str,
               make_executor: Callable[[], Executor] = SingleThreadedExecutor) -> int:
    """Build the nodes (rclpy already initialised), spin them in one executor until
    Ctrl-C/SIGTERM, always clean up. Exit status 1 on a StartupError (logged as one FATAL
    line), else 0.

    A signal may arrive at any moment, also while the nodes are being built or before the
    executor spins (a launch file stopping early): every path ends in the same clean-up.
    """
    nodes: list[Node] = []
    executor: Executor | None = None
    try:
        # The executor exists before the nodes: a signal that arrives once a node has
        # announced itself can no longer interrupt the executor's own construction.
        executor = make_executor()
        for factory in factories:
            nodes.append(factory())
            executor.add_node(nodes[-1])
        executor.spin()
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
        if executor is not None:
            executor.shutdown()
        for node in reversed(nodes):
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def spin_node(factory: Callable[[], Node], name: str, args: list[str] | None = None) -> int:
    """`spin_nodes` for one node in a single-threaded executor, initialising rclpy first."""
    rclpy.init(args=args)
    return spin_nodes([factory], name)
