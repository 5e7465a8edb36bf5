"""A run and its parts, each with one job; app.session is the facade over them.

- state: the run's task, net, parameters, optimizer, generators, data cursor and history;
  opening one checks the server's limits and its budget.
- budget: a run's peak memory and longest request, estimated from its configuration.
- training: the one training loop (pages, presets' tests and benchmarks), held-out metrics.
- stepper: the teaching cycle (forward steps, BPTT steps, the update) over a run.
- presenter: engine records and run state as protocol frames.
- snapshot: export and import of a whole session.
- sampling: text drawn from a language model.
- shelf: the files uploaded for a session, read and checked, waiting to be used.
- own: a run on uploaded data, with a trained model loaded for it.
"""
