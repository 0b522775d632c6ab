#!/usr/bin/env sh
# Install this unpacked bundle for the current user: a command on PATH, a menu entry and its icon.
#   ./install-linux.sh            (run from inside the bundle folder; the folder stays where it is)
#   ./install-linux.sh --remove
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${XDG_BIN_HOME:-$HOME/.local/bin}
data=${XDG_DATA_HOME:-$HOME/.local/share}
apps=$data/applications
icons=$data/icons/hicolor/256x256/apps
if [ "${1:-}" = "--remove" ]; then
    rm -f "$bin/latent-face-studio" "$apps/latent-face-studio.desktop" "$icons/latent-face-studio.png"
    echo "removed the command, menu entry and icon (the bundle folder $here is left alone)"
    exit 0
fi
mkdir -p "$bin" "$apps" "$icons"
ln -sf "$here/latent-face-studio" "$bin/latent-face-studio"
sed "s|^Exec=latent-face-studio|Exec=\"$here/latent-face-studio\"|" "$here/latent-face-studio.desktop" > "$apps/latent-face-studio.desktop"
[ -f "$here/latent-face-studio.png" ] && cp "$here/latent-face-studio.png" "$icons/latent-face-studio.png"
command -v update-desktop-database > /dev/null && update-desktop-database "$apps" 2>/dev/null || true
echo "installed: $bin/latent-face-studio and a menu entry 'Latent Face Studio'"
