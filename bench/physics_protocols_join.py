"""Join the slices of the 2026-12-02 protocol runs (parallel --skip/--limit processes) into one per-ligand CSV per target (bench/results)."""
import glob
import pandas as pd
R = "bench/results/"
def partials(pattern):
    files = sorted(glob.glob(R + pattern))
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True) if files else pd.DataFrame()
# Tyk2: 3 x 2 ps replicas from the 100-step minimum, + the converged-minimum single points of the
# earlier full run (physics_protocols_tyk2.csv: deterministic protocol, same ligands and poses)
t = partials("physics_protocols_tyk2_md3seeds_*_partial.csv").drop_duplicates("ligand")
old = pd.read_csv(R + "physics_protocols_tyk2.csv").set_index("ligand")
for c in ["minconv_GBn2_e1_s0", "minconv_OBC2_e1_s0", "min100_OBC2_e1_s0"]:
    t[c] = t["ligand"].map(old[c])
    t["cpu_s_" + c] = t["ligand"].map(old["cpu_s_" + c])
t.to_csv(R + "physics_protocols_tyk2_md3seeds_joined.csv", index=False)
# MCL1: first ligand of the run with MD (its MD columns dropped: one ligand) + the slice without MD
m0 = pd.read_csv(R + "physics_protocols_mcl1_partial.csv")
m0 = m0[[c for c in m0 if "md4ps" not in c]]
m = pd.concat([m0, partials("physics_protocols_mcl1_s*_partial.csv")], ignore_index=True).drop_duplicates("ligand")
m.to_csv(R + "physics_protocols_mcl1_joined.csv", index=False)
p0 = pd.read_csv(R + "physics_protocols_ptp1b_partial.csv")
p0 = p0[[c for c in p0 if not ("md5ps" in c and "OBC2_e1_s0_" not in c and not c.endswith("OBC2_e1_s0_seed0"))]]
p = pd.concat([p0, partials("physics_protocols_ptp1b_s*_partial.csv")], ignore_index=True).drop_duplicates("ligand")
p.to_csv(R + "physics_protocols_ptp1b_joined.csv", index=False)
print(len(t), len(m), len(p))
