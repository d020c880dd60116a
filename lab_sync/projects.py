"""Creating a project explicitly: its name, target, and optionally the series core and protein.

A project is otherwise created implicitly by its first upload; created here, it also records
what it is about (``project_targets``), so a typo in a project box cannot make a new series.
"""

from __future__ import annotations

import re

from rdkit import Chem, rdBase
from sqlalchemy import insert, select

from lab_sync import schema
from lab_sync.store import TwinStore, utcnow
from moltwin.errors import BadInputError

PROJECT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_CORE_CHARS = 300


def check_core(core: str) -> str:
    """The core as given when it parses as SMILES or SMARTS with at least one atom ("" allowed)."""
    core = core.strip()
    if not core:
        return ""
    if len(core) > MAX_CORE_CHARS:
        raise BadInputError(f"The core has {len(core)} characters; the limit is {MAX_CORE_CHARS}.", field="core")
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(core) or Chem.MolFromSmarts(core)
    if mol is None or mol.GetNumAtoms() == 0:
        raise BadInputError(f"The core '{core[:80]}' is neither a valid SMILES nor a valid SMARTS.", field="core")
    return core


def create_project(store: TwinStore, name: str, target: str, *, core_smiles: str = "", protein_pdb: str = "",
                   created_by: str) -> None:
    """Create ``name`` with its target (:class:`BadInputError` naming the field when something is wrong)."""
    name, target = name.strip(), target.strip()
    if not PROJECT_NAME_RE.match(name):
        raise BadInputError(f"'{name[:100]}' cannot be a project name: use letters, digits, '.', '_' or '-' "
                            "(no spaces, at most 100 characters).", field="name")
    if not target or len(target) > 200:
        raise BadInputError("Name the target (e.g. Tyk2), in at most 200 characters.", field="target")
    core = check_core(core_smiles)
    with store.transaction() as conn:
        if conn.execute(select(schema.projects.c.name).where(schema.projects.c.name == name)).first():
            raise BadInputError(f"There is already a project '{name}'. Choose it from the list instead.", field="name")
        store.ensure_project(name, description=f"target {target}", conn=conn)
        conn.execute(insert(schema.project_targets).values(project=name, target=target, core_smiles=core,
                                                            protein_pdb=protein_pdb, created_by=created_by,
                                                            created_at=utcnow()))


def project_target(store: TwinStore, name: str) -> dict | None:
    """The target, core and protein given when ``name`` was created (None for implicit projects)."""
    rows = store.read_table("project_targets", project=name)
    return rows.iloc[0].to_dict() if len(rows) else None
