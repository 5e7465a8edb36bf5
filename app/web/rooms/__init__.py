"""Classroom rooms: one run, driven by a teacher, shown live to every student.

- `Room` (room.py) lives in the process that created it (its owner): one Driver (one engine run),
  the secret control token, and a `Broadcast` (broadcast.py) that encodes each frame once, hands
  it to the teachers, keeps the `Snapshot` (snapshot.py) a newcomer needs, and publishes it
  through the broker with a sequence number.
- `Relay` (relay.py) is one process's share of a room's students: it follows the room's channel,
  keeps a replica of the snapshot, and delivers each frame (the same string) to every student as
  droppable animation. A student who falls behind is coalesced: it skips to the current snapshot.
- `Seat` (seat.py) is a connection's place in a room: what its commands may do (students: fork).
- `Rooms` (registry.py) is the registry of one server process.
"""
