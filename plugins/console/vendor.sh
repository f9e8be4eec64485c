#!/usr/bin/env bash
# Refreshes the console's vendored libraries from the npm registry. The versions below are the one
# place they are pinned; the console's tests check that the vendored files are these versions.
#   plugins/console/vendor.sh
set -euo pipefail
UPLOT_VERSION=1.6.32

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@$UPLOT_VERSION" >/dev/null && tar xzf "uplot-$UPLOT_VERSION.tgz")
dest=$here/web/vendor/uplot
mkdir -p "$dest"
cp "$work/package/dist/uPlot.iife.min.js" "$work/package/dist/uPlot.min.css" \
  "$work/package/LICENSE" "$dest/"
echo "uPlot $UPLOT_VERSION -> $dest"
