#!/usr/bin/env bash
# Refresh the front-end packages served from static/vendor/ (run by `make vendor`; needs npm).
# The files are committed so that the app installs and runs on a closed network.
set -euo pipefail
cd "$(dirname "$0")/.."
HTMX_VERSION=${HTMX_VERSION:-2.0.11}
CHARTJS_VERSION=${CHARTJS_VERSION:-4.6.1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@$HTMX_VERSION" "chart.js@$CHARTJS_VERSION" >/dev/null)
mkdir -p "$work/htmx" "$work/chart" static/vendor
tar xzf "$work/htmx.org-$HTMX_VERSION.tgz" -C "$work/htmx"
tar xzf "$work/chart.js-$CHARTJS_VERSION.tgz" -C "$work/chart"
cp "$work/htmx/package/dist/htmx.min.js" static/vendor/htmx.min.js
cp "$work/htmx/package/LICENSE" static/vendor/htmx.LICENSE
cp "$work/chart/package/dist/chart.umd.min.js" static/vendor/chart.umd.min.js
cp "$work/chart/package/LICENSE.md" static/vendor/chart.js.LICENSE.md
{
  echo "# package version sha256 file (from the npm registry; refresh with make vendor)"
  echo "htmx.org $HTMX_VERSION $(sha256sum static/vendor/htmx.min.js | cut -d' ' -f1) htmx.min.js"
  echo "chart.js $CHARTJS_VERSION $(sha256sum static/vendor/chart.umd.min.js | cut -d' ' -f1) chart.umd.min.js"
} > static/vendor/MANIFEST
cat static/vendor/MANIFEST
