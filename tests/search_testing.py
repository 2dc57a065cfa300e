"""What the search tests share: a store that stops a run where a kill would."""

from diswot.student_search import MemoryStore


class StopAfter(MemoryStore):
    """A store that raises after n appends: a run killed mid-search (everything before is stored). Set `n` to -1
    to let the resumed run go on."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def append(self, evaluation):
        super().append(evaluation)
        if len(self.evaluations) == self.n:
            raise KeyboardInterrupt
