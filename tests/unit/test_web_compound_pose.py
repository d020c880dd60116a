"""The compound page's pose viewer: the start and the end of the run, from the run folder."""

from __future__ import annotations

import json
import re

from _ranking_poses import store_simulation
from _twin_data import fill_tyk2
from _web_client import make_web, sign_in


def _poses(html: str) -> dict[str, dict]:
    return {m.group(1): json.loads(m.group(2)) for m in
            re.finditer(r'<script type="application/json" id="([^"]+)">(.*?)</script>', html, re.S)}


def test_compound_page_carries_start_and_end_pose_with_a_toggle(tmp_path, repo_dir):
    web = make_web(tmp_path)
    fill_tyk2(web.store, repo_dir, tmp_path)
    store_simulation(web.store, "tyk2", "ejm_31", tmp_path / "md")
    store_simulation(web.store, "tyk2", "ejm_42", tmp_path / "md", with_end=False)
    with web.client() as client:
        sign_in(client, web, "vera")
        page = client.get("/projects/tyk2/compounds/ejm_31").text
        start_only = client.get("/projects/tyk2/compounds/ejm_42").text
        script = client.get("/static/pose.js").text
    card = re.search(r'<div class="pose3d"[^>]*>', page).group(0)
    assert 'data-pose-end="pose-end-' in card and 'data-showing="start"' in card
    assert 'data-frame="start"' in page and 'data-frame="end"' in page and "(5.0 ps)" in page
    poses = _poses(page)
    start = next(v for k, v in poses.items() if k.startswith("pose-") and not k.startswith("pose-end-"))
    end = next(v for k, v in poses.items() if k.startswith("pose-end-"))
    assert start["sdf"] != end["sdf"] and start["pdb"].splitlines()[0] == end["pdb"].splitlines()[0]
    assert "data-pose-end" not in start_only and "no end pose" in start_only
    assert "poseEnd" in script and "removeAllModels" in script
