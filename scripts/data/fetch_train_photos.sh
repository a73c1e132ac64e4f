#!/usr/bin/env bash
# Fetch the training photos named in DEVELOPERS.md from Debian packages (no root needed) into
# data/photos/<source>/. Never add evaluation images (scikit-image's astronaut, coffee, chelsea).
#   lomiri-wallpapers-16.04, lomiri-wallpapers-20.04   /usr/share/backgrounds/*.jpg
#   mate-backgrounds                                   nature/ only
#   plasma-workspace-wallpapers                        the photographic wallpapers (list below), largest size
#   kphotoalbum                                        demo/ snapshots
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/data/photos}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PLASMA_PHOTOS="Altai Autumn BytheWater Canopee Cascade ColdRipple DarkestHour EveningGlow FallenLeaf IceCold MilkyWay Path"

cd "$work"
for p in lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds plasma-workspace-wallpapers kphotoalbum; do
  apt-get download "$p" >/dev/null 2>&1 || { apt-get update -qq && apt-get download "$p" >/dev/null; }
  mkdir -p "x/$p" && dpkg -x "$p"_*.deb "x/$p"
done
mkdir -p "$out"/{lomiri,mate,plasma,kphotoalbum}
cp x/lomiri-wallpapers-16.04/usr/share/backgrounds/*.jpg x/lomiri-wallpapers-20.04/usr/share/backgrounds/*.jpg "$out/lomiri/"
cp x/mate-backgrounds/usr/share/backgrounds/mate/nature/* "$out/mate/"
for name in $PLASMA_PHOTOS; do
  biggest=$(ls -S x/plasma-workspace-wallpapers/usr/share/wallpapers/"$name"/contents/images/* | head -n 1)
  cp "$biggest" "$out/plasma/$name.${biggest##*.}"
done
cp x/kphotoalbum/usr/share/kphotoalbum/demo/*.jpg "$out/kphotoalbum/"
for d in "$out"/*; do echo "$(ls "$d" | wc -l) photos in $d"; done
