#!/usr/bin/env bash
# Vendor the control view's map library from the npm registry into hub/view/static/vendor:
# Leaflet and its marker-cluster plugin, pinned, each with its licence. The page loads them
# from the view itself (its Content-Security-Policy allows nothing else).
set -euo pipefail
LEAFLET=1.9.4
CLUSTER=1.5.3
out="$(cd "$(dirname "$0")/../.." && pwd)/hub/view/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "leaflet@$LEAFLET" "leaflet.markercluster@$CLUSTER" >/dev/null
mkdir lf mc
tar xzf "leaflet-$LEAFLET.tgz" -C lf
tar xzf "leaflet.markercluster-$CLUSTER.tgz" -C mc
rm -rf "$out/leaflet" "$out/leaflet.markercluster"
mkdir -p "$out/leaflet" "$out/leaflet.markercluster"
cp lf/package/dist/leaflet.js lf/package/dist/leaflet.css lf/package/LICENSE "$out/leaflet/"
cp -r lf/package/dist/images "$out/leaflet/"
cp mc/package/dist/leaflet.markercluster.js mc/package/dist/MarkerCluster.css \
  mc/package/dist/MarkerCluster.Default.css mc/package/MIT-LICENCE.txt "$out/leaflet.markercluster/"
# no source maps are shipped: drop the comments that would make a browser ask for them
sed -i '/sourceMappingURL=/d' "$out/leaflet/leaflet.js" "$out/leaflet.markercluster/leaflet.markercluster.js"
printf 'leaflet %s\nleaflet.markercluster %s\n' "$LEAFLET" "$CLUSTER" > "$out/VERSIONS"
echo "vendored into $out: leaflet $LEAFLET, leaflet.markercluster $CLUSTER"
