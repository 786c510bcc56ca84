"""Kinds of agents: the local-model agent, tool and scripted agents, software roles, robots."""
