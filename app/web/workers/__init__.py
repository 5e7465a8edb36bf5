"""Worker processes that host the sessions, so the event loop only reads, routes and writes.

A session's model lives in one worker process, which runs every command that touches it and
sends back the frames already encoded (the design `uvicorn --workers` uses, one process per
core). Workers come in two kinds: light ones hold the runs whose every request is short (the
lessons' models), heavy ones, at a lower OS priority, hold the runs that take longer; so a
student stepping a small model never waits behind a neighbour training a large one.

- messages.py: what the server and a worker say to each other, and how it is framed.
- host.py: the worker's side: its sessions, its queue (interactive requests first), its loop.
- pool.py: the server's side: starting the workers, where each session lives, the memory
  ledger behind the server-wide budget, and the queue positions a waiting client is told.
- hosted.py: one session as a driver sees it: send it a command, move it to the right kind
  of worker, meter its CPU against the client's share.
- machine.py: what the machine (or container) has: cores, memory; giving freed memory back.
"""
