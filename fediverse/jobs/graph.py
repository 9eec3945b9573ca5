"""State graphs: background work declared as data.

A graph is a class whose attributes are `State`s. Non-terminal states are worked on by a
handler (`handle_<state>` on the job kind) that returns the next state; terminal states are
where work ends. The class is validated when it is defined, so a typo in a transition fails at
import time instead of stranding rows in production.

    class DeliveryStates(StateGraph):
        queued = State(next=("sent", "gone", "dropped", "failed"))
        sent = State()          # terminal: no `next`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class State:
    """One state; `next` lists the states a handler may move a row to from here."""

    next: tuple[str, ...] = ()
    initial: bool = False
    name: str = field(default="", compare=False)

    @property
    def terminal(self) -> bool:
        return not self.next


class GraphError(TypeError):
    """Raise when a state graph is declared inconsistently."""


class StateGraph:
    """Base class for declared state graphs; subclasses are validated on definition."""

    states: ClassVar[dict[str, State]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        states: dict[str, State] = {}
        for name, value in vars(cls).items():
            if isinstance(value, State):
                named = State(next=value.next, initial=value.initial, name=name)
                setattr(cls, name, named)
                states[name] = named
        if not states:
            raise GraphError(f"{cls.__name__} declares no states")
        for state in states.values():
            unknown = [target for target in state.next if target not in states]
            if unknown:
                raise GraphError(f"{cls.__name__}.{state.name} moves to unknown {unknown}")
        if not any(state.initial for state in states.values()):
            raise GraphError(f"{cls.__name__} has no initial state")
        cls.states = states

    @classmethod
    def active(cls) -> tuple[str, ...]:
        """Return the states that still have work to do (a handler runs there)."""
        return tuple(name for name, state in cls.states.items() if not state.terminal)

    @classmethod
    def terminal(cls) -> tuple[str, ...]:
        return tuple(name for name, state in cls.states.items() if state.terminal)

    @classmethod
    def check_transition(cls, source: str, target: str) -> None:
        """Raise GraphError unless the graph allows `source` → `target` (staying is allowed)."""
        if source == target:
            return
        if target not in cls.states[source].next:
            raise GraphError(f"{cls.__name__}: {source} → {target} is not a declared transition")
