"""People as agents: a seat where a person reads the conversation and picks legal moves."""

from agents.human.brain import HumanAway, HumanBrain, HumanTimeout
from agents.human.seat import Seat, SeatClosed, TerminalSeat

__all__ = ["HumanAway", "HumanBrain", "HumanTimeout", "Seat", "SeatClosed", "TerminalSeat"]
