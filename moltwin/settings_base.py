"""Base class for every settings model: strict, immutable, documented fields."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Pydantic model that rejects unknown fields and cannot be mutated."""

    model_config = ConfigDict(extra="forbid", frozen=True)
