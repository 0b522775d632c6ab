#!/usr/bin/env bash
# Build the self-contained Linux bundle dist/latent-face-studio/ (PyInstaller, one folder) and prove that it runs.
#
#   installer/build.sh               build a clean checkout of the committed HEAD (git clone into build/installer/src)
#   installer/build.sh --worktree    build the working tree as it is, uncommitted changes included
#   installer/build.sh --fresh-venv  rebuild the build venv (build/installer/venv) instead of reusing it
#   installer/build.sh --default-model DIR   bundle the model folder DIR as the embedded default model
#                                    (e.g. one not committed yet; its training checkpoint is left out)
#   installer/build.sh --archive     also pack build/installer/latent-face-studio-linux.tar.gz
#   installer/build.sh --test-only   only the smoke test (and report) of the bundle already in dist/
#   installer/build.sh --viewer      the viewer bundle dist/latent-face-studio-viewer/ instead: requirements-viewer.txt
#                                    (no torch, h5py, FFmpeg, OpenCV), LFS_BUNDLE=viewer in the spec, debug sections
#                                    stripped; its smoke test expects train to refuse in one line (exit 2) instead of
#                                    training, and places a photo and writes a report
#
# Steps: clean source → its own venv (requirements.txt + PyInstaller, pinned) → pyinstaller with
# installer/latent-face-studio.spec → .desktop file, icon and install-linux.sh beside the executable → smoke test:
# the bundled program runs with an empty environment (env -i), no network and every Python of this machine hidden
# (unshare, where allowed): --help, info and generate on the embedded default model, a one-epoch train on the
# generated faces, then the GUI headless with --screenshot, which must exit 0 and write a PNG. Prints the bundle
# size and the build time; writes build/installer/report.txt.
set -euo pipefail

PYINSTALLER_VERSION=6.22.3
HOOKS_CONTRIB_VERSION=2026.9
NAME=latent-face-studio

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$ROOT/build/installer
DIST=$ROOT/dist
PYTHON=${PYTHON:-python3}
from_worktree=0
fresh_venv=0
default_model=""
archive=0
test_only=0
viewer=0
while [ $# -gt 0 ]; do
    case $1 in
        --worktree) from_worktree=1 ;;
        --fresh-venv) fresh_venv=1 ;;
        --archive) archive=1 ;;
        --test-only) test_only=1 ;;
        --viewer) viewer=1 ;;
        --default-model) default_model=$(cd "${2:?--default-model needs a folder}" && pwd); shift ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

step() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }
mkdir -p "$WORK"
SECONDS=0

REQUIREMENTS=requirements.txt SUFFIX=""
VENV=$WORK/venv
if [ "$viewer" = 1 ]; then
    REQUIREMENTS=requirements-viewer.txt VENV=$WORK/venv-viewer SUFFIX=-viewer
    export LFS_BUNDLE=viewer
fi
SRC=$WORK/src
BUNDLE=$DIST/$NAME$SUFFIX
build_s="-"
if [ "$test_only" = 0 ]; then
# --- 1. a clean source tree ------------------------------------------------------------------------------------
rm -rf "$SRC"
if [ "$from_worktree" = 1 ]; then
    step "copying the working tree"
    mkdir -p "$SRC"
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) \
        | (cd "$ROOT" && xargs -0 cp --parents -t "$SRC" 2>/dev/null || true)
else
    step "clean checkout of $(git -C "$ROOT" rev-parse --short HEAD)"
    git clone --quiet --no-hardlinks "$ROOT" "$SRC"
fi
if [ -n "$default_model" ]; then
    step "default model from $default_model"
    rm -rf "$SRC/resources/models/celeba64-z256"
    mkdir -p "$SRC/resources/models/celeba64-z256"
    find "$default_model" -maxdepth 1 -type f ! -name '.*' ! -name checkpoint.safetensors \
        -exec cp -t "$SRC/resources/models/celeba64-z256" {} +
fi
if [ ! -f "$SRC/resources/models/celeba64-z256/config.json" ]; then
    echo "build.sh: the embedded default model resources/models/celeba64-z256 is not in the source; it must be bundled" >&2
    exit 1
fi

# --- 2. its own venv ----------------------------------------------------------------------------------------------
want="$(sha256sum "$SRC/$REQUIREMENTS" | cut -c1-16) pyinstaller==$PYINSTALLER_VERSION hooks==$HOOKS_CONTRIB_VERSION $($PYTHON -V 2>&1)"
if [ "$fresh_venv" = 1 ] || [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$want" ]; then
    step "build venv: $REQUIREMENTS + PyInstaller $PYINSTALLER_VERSION"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$SRC/$REQUIREMENTS" \
        "pyinstaller==$PYINSTALLER_VERSION" "pyinstaller-hooks-contrib==$HOOKS_CONTRIB_VERSION"
    echo "$want" > "$VENV/.stamp"
else
    step "reusing the build venv $VENV"
fi

# --- 3. PyInstaller ---------------------------------------------------------------------------------------------
step "pyinstaller"
build_start=$SECONDS
rm -rf "${BUNDLE:?}"
(cd "$SRC" && "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK/pyinstaller$SUFFIX" installer/latent-face-studio.spec)
# libtorch_cpu.so ships with its full symbol table (~90 MB); --strip-unneeded keeps every dynamic symbol. Only this
# library: strip on the auditwheel-patched libraries of numpy/scipy/cv2 can corrupt them.
[ "$viewer" = 1 ] || strip --strip-unneeded "$BUNDLE/_internal/torch/lib/libtorch_cpu.so"
if [ "$viewer" = 1 ]; then
    # The viewer drops the debug information (DWARF sections, never the symbol tables) that some libraries carry:
    # libpython 22 → 6 MB, Python's own extension modules, kiwisolver, Pillow. The smoke test below runs them all.
    find "$BUNDLE/_internal" -type f -name '*.so*' -print0 | while IFS= read -r -d '' lib; do
        # (grep reads all of readelf's output: grep -q would stop early and pipefail would see readelf's SIGPIPE)
        if readelf -S "$lib" 2>/dev/null | grep '\.debug_info' > /dev/null; then strip --strip-debug "$lib"; fi
    done
fi
build_s=$((SECONDS - build_start))s

# desktop integration files beside the executable
cp "$SRC/installer/$NAME.desktop" "$SRC/installer/install-linux.sh" "$BUNDLE/"
icon=$SRC/resources/icons/app.png
[ -f "$icon" ] && cp "$icon" "$BUNDLE/$NAME.png"
fi  # test_only

# --- 4. smoke test: empty environment, no network, no Python ------------------------------------------------
step "smoke test of $BUNDLE"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Where allowed, each command runs in its own mount and network namespace: no network, and the build venv, the Python
# it was made from and the system's Python libraries are covered by empty tmpfs mounts, so the bundle cannot lean
# on any Python of this machine. Elsewhere only the network is cut (or nothing, with a warning).
venv_python=$VENV/bin/python
[ -x "$venv_python" ] || venv_python=$(command -v "$PYTHON")  # --test-only of a bundle built elsewhere
hide=("$VENV" "$("$venv_python" -c 'import sys; print(sys.base_prefix)')" /usr/lib/python3* /usr/local/lib/python3*)
isolate() {
    if unshare --mount --net true 2>/dev/null; then
        unshare --mount --net sh -c 'for d in $HIDE; do [ -d "$d" ] && mount -t tmpfs none "$d"; done; exec "$@"' sh "$@"
    elif unshare --net true 2>/dev/null; then unshare --net "$@"
    elif unshare --map-root-user --net true 2>/dev/null; then unshare --map-root-user --net "$@"
    else "$@"
    fi
}
export HIDE="${hide[*]}"
unshare --net true 2>/dev/null || unshare --map-root-user --net true 2>/dev/null \
    || echo "warning: unshare is not allowed here; the smoke test runs with the network on" >&2
bare() {  # the bundled program with an empty environment
    isolate env -i HOME="$tmp" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen "$@"
}
exe=$BUNDLE/$NAME
bare "$exe" --help > "$tmp/help.txt"
grep -q "generate" "$tmp/help.txt"
isolate env -i HOME="$tmp" PATH="$tmp/no-such-dir" "$exe" info | tee "$tmp/info.txt"  # nothing on PATH at all
bare "$exe" generate --n 16 --seed 1 --out "$tmp/set" > /dev/null
test -f "$tmp/set/grid.png" && test -f "$tmp/set/z.npy"
if [ "$viewer" = 1 ]; then  # no torch: one line naming the full bundle, exit 2, nothing written
    status=0
    bare "$exe" train --data "$tmp/set" --out "$tmp/tiny-model" --epochs 1 2> "$tmp/train.txt" || status=$?
    cat "$tmp/train.txt"
    test "$status" = 2 && test "$(wc -l < "$tmp/train.txt")" = 1 && grep -q "full bundle" "$tmp/train.txt"
    test ! -e "$tmp/tiny-model"
    bare "$exe" directions --method pca --k 3 --out "$tmp/dirs" > /dev/null  # the feature encoder's shipped export
    test -f "$tmp/dirs.npy"
    # a generated face, 256 px (a GIF frame), placed as a photo: MTCNN, framing, encoding
    bare "$exe" movie --axis PC1 --frames 2 --size 256 --out "$tmp/face.gif" > /dev/null
    bare "$exe" photo --photo "$tmp/face.gif" --out "$tmp/photo" | tee "$tmp/photo.txt"
    grep -q "placed 1 face" "$tmp/photo.txt"
    bare "$exe" report --out "$tmp/report" --parts statistics,faces --samplers uniform,normal > /dev/null  # matplotlib
    test -s "$tmp/report/report.html"
else
    bare "$exe" train --data "$tmp/set" --out "$tmp/tiny-model" --epochs 1 --image-size 32 --z-dim 8 \
        --channels 8,16,16,32 --batch-size 4 --val-count 2 > /dev/null  # forward, backward, Adam, save, encode
    test -f "$tmp/tiny-model/latents.npy"
fi
shot_start=$SECONDS
bare "$exe" gui --screenshot "$tmp/shot.png"
shot_s=$((SECONDS - shot_start))
if [ "$(head -c 8 "$tmp/shot.png" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
    echo "build.sh: the bundled GUI did not write a PNG screenshot" >&2
    exit 1
fi
cp "$tmp/shot.png" "$WORK/bundle-screenshot$SUFFIX.png"
cp "$tmp/set/grid.png" "$WORK/bundle-generate-grid$SUFFIX.png"

# --- 5. report ------------------------------------------------------------------------------------------------
size=$(du -sh "$BUNDLE" | cut -f1)
size_mb=$(du -sm "$BUNDLE" | cut -f1)
size_bytes=$(du -sb "$BUNDLE" | cut -f1)  # the apparent size, as an archive or a download counts it
archive_note=""
if [ "$archive" = 1 ]; then
    tar -C "$DIST" -czf "$WORK/$NAME$SUFFIX-linux.tar.gz" "$NAME$SUFFIX"
    archive_note="; tar.gz $(du -sh "$WORK/$NAME$SUFFIX-linux.tar.gz" | cut -f1)"
fi
{
    echo "bundle: $BUNDLE"
    [ "$test_only" = 1 ] || echo "source: $( [ "$from_worktree" = 1 ] && echo "working tree" || echo "clean checkout $(git -C "$SRC" rev-parse --short HEAD)")${default_model:+, default model from $default_model}"
    echo "size: $size ($size_mb MiB on disk; $((size_bytes / 1000000)) MB = $size_bytes bytes)$archive_note"
    echo "pyinstaller build time: ${build_s}; whole script: ${SECONDS}s; headless GUI screenshot: ${shot_s}s"
    echo "largest parts:"
    du -sm "$BUNDLE"/_internal/* | sort -rn | head -8
    echo "screenshot: $WORK/bundle-screenshot$SUFFIX.png"
} | tee "$WORK/report$SUFFIX.txt"
echo "OK: the bundle runs without network or a Python of its own"
