"""Agent backends behind ``core.ports.AgentBackend``: anthropic tool loop, claude-agent-sdk, replay
cassettes and rules, with the LLM circuit breaker, memory and decision records. Every backend runs
its tool calls through the one choke point in ``tools.executor``."""
