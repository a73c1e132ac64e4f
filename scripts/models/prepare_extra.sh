#!/usr/bin/env bash
# Issue #26 part 2: data/train-x4-extra, the study's training set plus the 169 extra photos of
# scripts/data/fetch_extra_photos.sh, for measuring what the new data adds at equal CPU time:
#
#   bash scripts/models/prepare_extra.sh      # then: arch_study.sh MINUTES 1.0 x4-extra
#
# The same `vsrgan prepare` call as data/train-x4's (scripts/models/train_bundled.sh) with the extra
# folders appended, so every old item keeps its name and split. The extra photos' own held-out
# share is moved to a split named "test-extra": validation then runs on exactly data/train-x4's test
# split (checked below), and those photos stay unseen for later evaluation.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
[ -x .venv/bin/vsrgan ] || bash scripts/setup.sh
. .venv/bin/activate
out=data/train-x4-extra
[ -f "$out/manifest.json" ] && { echo "$out exists"; exit 0; }
bash scripts/data/fetch_train_photos.sh >/dev/null
bash scripts/data/fetch_more_photos.sh >/dev/null
bash scripts/data/fetch_samples.sh >/dev/null
bash scripts/data/fetch_extra_photos.sh >/dev/null
photos=(data/photos/{lomiri,mate,plasma,kphotoalbum,enlightenment,lxqt,gcompris,palapeli,digikam})
clips=(data/samples/cockatoo.mp4 data/samples/bigbuckbunny.mp4 data/samples/bikes.mp4 data/samples/carphone_pristine.mp4)
extra=(data/photos-extra/*/)
vsrgan prepare "${photos[@]}" "${clips[@]}" "${extra[@]%/}" -o "$out.tmp" --test-fraction 0.15 --max-short-side 1000 -q --overwrite
python - "$out.tmp" data/train-x4 <<'PY'
import json, sys
from pathlib import Path
new, old = (Path(p) / "manifest.json" for p in sys.argv[1:])
manifest = json.loads(new.read_text())
old_test = [item["hr"] for item in json.loads(old.read_text())["items"] if item["split"] == "test"]
for item in manifest["items"]:
    if item["split"] == "test" and item["source"].startswith("data/photos-extra/"):
        item["split"] = "test-extra"
test = [item["hr"] for item in manifest["items"] if item["split"] == "test"]
if test != old_test:
    sys.exit(f"prepare_extra.sh: the test split differs from data/train-x4's ({len(test)} vs {len(old_test)} items)")
counts = {s: sum(item["split"] == s for item in manifest["items"]) for s in ("train", "test", "test-extra")}
new.write_text(json.dumps(manifest, indent=1) + "\n")
print(f"{new.parent}: {counts}")
PY
mv "$out.tmp" "$out"
