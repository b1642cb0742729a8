"""The interfaces every data generator and teacher implements.

The procedural generator and rule-based teacher are the offline defaults; LLM backends
(``urtraining.synth.llm``) implement the same interfaces, so the rest of the pipeline does
not know which one made the data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from urtraining.domain import Course, InteractionMetadata, Ranking, UserProfile


class Generator(ABC):
    """Makes courses (with their coach forms) and users (with interaction metadata)."""

    name: str

    @abstractmethod
    def courses(self, n: int, seed: int) -> list[Course]:
        """``n`` courses; the same seed gives the same courses."""

    @abstractmethod
    def users(
        self, n: int, seed: int, courses: Sequence[Course]
    ) -> list[tuple[UserProfile, InteractionMetadata | None]]:
        """``n`` users; metadata may only reference ids of ``courses``; None = a new user."""


class Teacher(ABC):
    """Grades every course for a user: relevance 0..3 with a short rationale, best first."""

    name: str

    @abstractmethod
    def rank(
        self,
        user: UserProfile,
        metadata: InteractionMetadata | None,
        courses: Sequence[Course],
    ) -> Ranking:
        """A ranking of ``courses`` for ``user``."""

    def rank_many(
        self,
        users: Sequence[UserProfile],
        metadata: dict[str, InteractionMetadata],
        courses: Sequence[Course],
    ) -> list[Ranking]:
        return [self.rank(u, metadata.get(u.user_id), courses) for u in users]
