"""The MCP server: the memory's tools for any MCP-capable agent.

`tools` defines the tools once, over an `AsyncMemoryClient`; `http` mounts them on the
service at `/mcp` (Streamable HTTP, stateless), where the client reaches the app's own /v1
routes in-process, so keys, limits and messages are exactly those of /v1; `stdio` serves
them to desktop agents that spawn servers, talking to a running service over the network.
"""
