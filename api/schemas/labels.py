"""What a person calls a job: a name, tags and a note, given with a search or a distillation and changed later
(`PATCH /v1/searches/{id}`). They describe the job and never change what it computes, so they are kept apart from
its request: a re-run with changes copies the request, not the labels."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.requests import TEXT_PATTERN

MAX_TAGS = 20
# Letters, digits and . _ : - : a tag is a word people filter by, and stored between commas.
TAG_PATTERN = r"^[A-Za-z0-9_.:-]+$"
Tag = Annotated[str, Field(min_length=1, max_length=40, pattern=TAG_PATTERN)]
JobName = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
# A note may run over lines and hold tabs; other control characters are refused.
Note = Annotated[str, Field(max_length=4000, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$")]

LABEL_FIELDS: dict[str, Any] = dict(
    name=(Optional[JobName], Field(None, description="A name to find the job by (not unique).")),
    tags=(list[Tag], Field(default_factory=list, max_length=MAX_TAGS,
                           description=f"Up to {MAX_TAGS} tags (letters, digits, . _ : -); listings filter by one.")),
    note=(Optional[Note], Field(None, description="Free text about the job.")),
)


def split_labels(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the request's own fields, the labels) of a submitted body's fields."""
    labels = {name: values[name] for name in LABEL_FIELDS if name in values}
    return {name: value for name, value in values.items() if name not in LABEL_FIELDS}, labels


class JobLabels(BaseModel):
    """A change of a job's labels: only the fields given change (null clears a name or a note)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: Optional[JobName] = None
    tags: Optional[list[Tag]] = Field(None, max_length=MAX_TAGS)
    note: Optional[Note] = None
