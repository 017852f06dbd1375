"""The lifecycle both pipeline nodes share: managed by a lifecycle manager, or self-starting.

Every liftpose node of the pipeline is an rclpy `LifecycleNode` (REP-2002 managed node) with
the standard lifecycle services (`<node>/change_state`, `<node>/get_state`, ...). Its
parameter `managed` chooses who drives it:

- false (default): it configures and activates itself while it is constructed, so it works
  like a plain node; a failure is a `StartupError` (one line, exit status 1);
- true: it waits, unconfigured, for a lifecycle manager (Nav2's, `ros2 lifecycle set`, a
  launch file's events) to walk it through the transitions.

What each transition does (the subclass implements the four steps):
- configure: load the models, create the publishers and the diagnostics (`_configure`);
  a failure leaves the node unconfigured, logs why and answers the request with failure;
- activate: subscribe to the input; from now on it processes and publishes (`_activate`);
- deactivate: unsubscribe; what the node holds (tracks, windows) is kept (`_deactivate`);
- cleanup (and shutdown, and error processing): free the models and everything held, back to
  unconfigured (`_cleanup`).
"""
from __future__ import annotations

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from liftpose_ros.ros.node_runner import StartupError

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


class ManagedNode(LifecycleNode):
    """Base of the pipeline nodes; see the module docstring."""

    def __init__(self, node_name: str, **node_kwargs) -> None:
        super().__init__(node_name, **node_kwargs)
        self.configured = False
        self.active = False
        self._failure = ""

    # ------------------------------------------------------------------ for subclasses
    def _configure(self) -> None:
        """Load models, create publishers; raise StartupError (one line) when it cannot."""

    def _activate(self) -> None:
        """Subscribe to the input."""

    def _deactivate(self) -> None:
        """Unsubscribe; keep the state."""

    def _cleanup(self) -> None:
        """Free what _configure made and what was held since. Safe to call twice."""

    # ------------------------------------------------------------------ driving it
    def start(self) -> None:
        """Configure and activate now (a self-starting node); StartupError when it cannot."""
        if self.trigger_configure() != SUCCESS:
            raise StartupError(self._failure)
        if self.trigger_activate() != SUCCESS:
            raise StartupError(self._failure or "activation failed")

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self._configure()
        except Exception as exc:  # StartupError, or anything a broken model provokes
            self._failure = str(exc) if isinstance(exc, StartupError) else \
                f"configuration failed: {type(exc).__name__}: {exc}"
            self._cleanup()
            if self._managed():  # a self-starting node reports it as its StartupError
                self.get_logger().error(f"cannot configure: {self._failure}")
            return FAILURE
        self.configured = True
        return SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._activate()
        self.active = True
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        self._deactivate()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return SUCCESS

    def _release(self) -> None:
        if self.active:
            self.active = False
            self._deactivate()
        self._cleanup()
        self.configured = False

    def _managed(self) -> bool:
        params = getattr(self, "params", None)
        return bool(getattr(params, "managed", False))

    def destroy_node(self) -> None:
        """Free everything, then the node's ROS entities, its lifecycle state machine included.
        Safe to call twice.

        rclpy's LifecycleNode leaves its state machine, which holds the rcl node and the
        transition-event publisher, to the garbage collector: the node stays in the graph
        after destroy_node(), and the collector later finalises it (and, for the context's
        last node, the DDS participant) inside whatever rclpy call it interrupts. That has
        deadlocked a process creating its next node's services. Destroyed here, it goes now."""
        self._release()
        super().destroy_node()
        state_machine = getattr(self, "_state_machine", None)
        if state_machine is not None:
            state_machine.destroy_when_not_in_use()
