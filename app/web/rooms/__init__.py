"""Classroom rooms: one run, driven by a teacher, shown live to every student.

- `Room` (room.py) lives in the process that created it (its owner): the teacher's Driver (one
  engine run), the secret control token, and a `Broadcast` (broadcast.py) that encodes each frame
  once, hands it to the teachers, keeps the `Snapshot` (snapshot.py) a newcomer needs, and
  publishes it through the broker with a sequence number. What other processes ask of the owner
  is requests.py; the teacher's class view (one row per fork) is classview.py; putting one
  student's fork on everyone's screen is spotlight.py.
- `Relay` (relay.py) is one process's share of a room's students: it follows the room's channel,
  keeps a replica of the snapshot, and delivers each frame (the same string) to every student as
  droppable animation. A student who falls behind is coalesced: it skips to the current snapshot.
  A teacher seated at a process that does not own the room watches through its relay and has its
  commands forwarded to the owner (remote.py).
- `Seat` (seat.py) is a connection's place in a room: what its commands may do (students: fork,
  resume or leave a fork; teachers: drive).
- `Fork` (forks.py) is a student's private copy of the room's run, with an id and a secret:
  parked for a grace period when its connection drops, resumable at any process; it reports its
  class row (classrow.py: config, loss, the gradient verdict) to the owner. `Forks` (forking.py)
  holds one process's forks.
- `Rooms` (registry.py) is the registry of one server process.
"""
