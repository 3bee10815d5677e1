"""Helpers shared by the tests and the benchmarks; test modules import only from here.

- `paths`: the repository, the shared fixtures folder, the stable embedder cache of test runs.
- `database`: libpq URLs, fresh migrated databases, waiting for a lock wait.
- `http`: free ports, the service in a thread of this process, the error-body assertion.
- `service`: `rememberer serve` as a real subprocess (the one launcher of tests and benchmarks).
- `processes`: a process's resident memory.
- `memories`: the client-vector memories and update calls most HTTP tests build on.
- `agents`: the concurrent-agents workload (tests and the concurrent-updates benchmark).
- `client`: the scripted fake server of the SDK-only tests.
"""
