#!/usr/bin/env bash
# Fetch more training photos from Debian packages (no root needed) into data/photos/<source>/.
# Each file was checked by eye to be a real camera photo (no drawings, renders or benchmark images).
#   palapeli-data       /usr/share/palapeli/collection/*.jpg (5 puzzles, 1024-1620 px)
#   lxqt-themes         the photographic wallpapers (list below), 1920-3000 px
#   enlightenment-data  the photographic backgrounds (list below): the biggest JPEG (3840x2160) inside each .edj
#   gcompris-qt-data    photos inside the activities' Qt resource files (.rcc), WebP, 680-1920 px:
#                       erase (33 animals), explore_monuments (49), explore_world_animals (15),
#                       explore_farm_animals (9), explore_world_music (9), details (5 *_background.webp)
#   digikam-data        /usr/share/digikam/about/images/body-background.jpg (4032x3024)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/data/photos}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
LXQT_PHOTOS="Butterfly-Kenneth-Wimer.jpg Valendas.png after-the-rain.jpg appleflower.png beam.png butterfly.png cloud.png drop.png flowers.png fog.jpg this-is-not-windows.jpg"
E_PHOTOS="Bamboo Foggy-Trees God-Rays Green-Maple Lichen-Branches Mountain Paper-Flower Peaks Red-Maple Sea-of-Lanterns Snow-Trees Spruce-Needles Sunset-Clouds White-Flower Yellow-Flower"
GCOMPRIS_ACTIVITIES="erase explore_monuments explore_world_animals explore_farm_animals explore_world_music details"

cd "$work"
for p in palapeli-data lxqt-themes enlightenment-data gcompris-qt-data digikam-data; do
  apt-get download "$p" >/dev/null 2>&1 || { apt-get update -qq && apt-get download "$p" >/dev/null; }
  mkdir -p "x/$p" && dpkg -x "$p"_*.deb "x/$p"
done
mkdir -p "$out"/{palapeli,lxqt,enlightenment,gcompris,digikam}
cp x/palapeli-data/usr/share/palapeli/collection/*.jpg "$out/palapeli/"
for name in $LXQT_PHOTOS; do cp "x/lxqt-themes/usr/share/lxqt/wallpapers/$name" "$out/lxqt/"; done
cp x/digikam-data/usr/share/digikam/about/images/body-background.jpg "$out/digikam/"

# Enlightenment .edj files are EET (v2) archives holding the wallpaper as plain JPEGs at several sizes.
python3 - "$out/enlightenment" $(for n in $E_PHOTOS; do echo "x/enlightenment-data/usr/share/enlightenment/data/backgrounds/$n.edj"; done) <<'EOF'
import os, struct, sys
for path in sys.argv[2:]:
    with open(path, "rb") as f:
        magic, count, _ = struct.unpack(">III", f.read(12))
        assert magic == 0x1EE70F42, path
        entries = [struct.unpack(">6I", f.read(24)) for _ in range(count)]  # offset, size, data_size, name_off, name_size, flags
        best = None
        for off, size, dsize, noff, nsize, flags in entries:
            f.seek(noff)
            if not f.read(nsize).startswith(b"edje/images/") or flags & 3:
                continue
            f.seek(off)
            if f.read(3) == b"\xff\xd8\xff" and (best is None or size > best[1]):
                best = (off, size)
        f.seek(best[0])
        data = f.read(best[1])
    with open(os.path.join(sys.argv[1], os.path.basename(path)[:-4] + ".jpg"), "wb") as o:
        o.write(data)
EOF

# GCompris packs each activity's files into a Qt resource file (.rcc); pull out the WebP photos.
python3 - "$out/gcompris" $(for a in $GCOMPRIS_ACTIVITIES; do echo "x/gcompris-qt-data/usr/share/gcompris-qt/rcc/$a.rcc"; done) <<'EOF'
import os, struct, sys, zlib
def files(path):
    b = open(path, "rb").read()
    assert b[:4] == b"qres", path
    version, tree, data, names = struct.unpack(">IIII", b[4:20])
    size = 14 if version == 1 else 22
    def name(off):
        n, = struct.unpack(">H", b[names + off:names + off + 2])
        return b[names + off + 6:names + off + 6 + 2 * n].decode("utf-16-be")
    def walk(i, prefix):
        o = tree + i * size
        noff, flags = struct.unpack(">IH", b[o:o + 6])
        p = prefix + "/" + name(noff) if i else ""
        if flags & 2:
            count, first = struct.unpack(">II", b[o + 6:o + 14])
            for j in range(count):
                yield from walk(first + j, p)
        elif not flags & 4:  # skip zstd-compressed entries (none hold photos)
            doff, = struct.unpack(">I", b[o + 10:o + 14])
            n, = struct.unpack(">I", b[data + doff:data + doff + 4])
            d = b[data + doff + 4:data + doff + 4 + n]
            yield p, zlib.decompress(d[4:]) if flags & 1 else d
    yield from walk(0, "")
for path in sys.argv[2:]:
    activity = os.path.basename(path)[:-4]
    for p, d in files(path):
        if not p.endswith(".webp") or "/resource/" not in p:
            continue
        if activity == "details" and not p.endswith(("EgeskovSlotSpejling_background.webp", "EilanDonanCastle_background.webp",
                                                      "GizahPyramids_background.webp", "Neuschwanstein_background.webp", "TajMahal_background.webp")):
            continue  # the other details images are paintings or crops
        with open(os.path.join(sys.argv[1], activity + "_" + os.path.basename(p)), "wb") as o:
            o.write(d)
EOF
for d in "$out"/{palapeli,lxqt,enlightenment,gcompris,digikam}; do echo "$(ls "$d" | wc -l) photos in $d"; done
