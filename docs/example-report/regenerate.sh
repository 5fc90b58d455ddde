#!/usr/bin/env bash
# Regenerates docs/example-report/ from a real `sgprop reproduce --quick` run (issue 18): runs (or
# continues) the quick reproduction into results/reproduce-quick, then copies its report (report.md,
# report.json, the SVG and PNG figures) and the expert-simulation figure here, keeping the relative
# links of report.md. Usage, from the repository root: `pnpm example-report` (about 10-15 minutes on
# a shared 2-core machine; a folder left by other quick settings is refused: delete it first).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
results="${SGPROP_EXAMPLE_RESULTS:-results/reproduce-quick}"
dest="docs/example-report"

nice -n 10 node --conditions=source --import tsx apps/train/src/bin.ts reproduce --quick --out "$results" --progress lines

rm -rf "$dest/report" "$dest/expert-sim"
mkdir -p "$dest/report/figures" "$dest/expert-sim"
cp "$results/report/report.md" "$results/report/report.json" "$dest/report/"
cp "$results"/report/figures/*.svg "$results"/report/figures/*.png "$dest/report/figures/"
cp "$results"/expert-sim/ratio-vs-d-minus-k.svg "$results"/expert-sim/ratio-vs-d-minus-k.png \
  "$results"/expert-sim/results.csv "$dest/expert-sim/"
echo "example report: $dest/report/report.md"
