#!/usr/bin/python3
"""optimizer_plot.py — draws the contact optimizer's regret curves as an SVG (stdout), by hand:
no plotting library is needed. Input: hilo-sim --curve CSV files (day, then the amount collected
so far by optimizer, best_fixed, random, oracle, averaged over the seeds). Regret on a day = the
oracle's collected amount so far minus the policy's. One panel per file. Used by optimizer.sh."""
import csv
import os
import sys

COLORS = {"optimizer": "#1b7837", "best_fixed": "#2166ac", "random": "#b2182b"}
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 520, 320, 70, 20, 40, 45


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    days = [int(r["day"]) for r in rows]
    regret = {k: [float(r["oracle"]) - float(r[k]) for r in rows] for k in COLORS}
    return days, regret


def panel(x0, title, days, regret):
    top = max(max(v) for v in regret.values()) or 1.0
    bottom = min(0.0, min(min(v) for v in regret.values()))
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def sx(d):
        return x0 + PAD_L + (d - days[0]) * pw / max(1, days[-1] - days[0])

    def sy(v):
        return PAD_T + ph - (v - bottom) * ph / (top - bottom)

    out = [f'<text x="{x0 + W / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>',
           f'<rect x="{x0 + PAD_L}" y="{PAD_T}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>']
    for i in range(5):
        v = bottom + (top - bottom) * i / 4
        out.append(f'<text x="{x0 + PAD_L - 6}" y="{sy(v) + 4:.1f}" text-anchor="end" font-size="10">{v / 1000:,.0f}k</text>')
        out.append(f'<line x1="{x0 + PAD_L}" x2="{x0 + PAD_L + pw}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#eee"/>')
    for w in range(0, days[-1] + 1, 7):
        if w >= days[0]:
            out.append(f'<text x="{sx(w):.1f}" y="{PAD_T + ph + 15}" text-anchor="middle" font-size="10">{w}</text>')
    out.append(f'<text x="{x0 + PAD_L + pw / 2}" y="{H - 8}" text-anchor="middle" font-size="11">simulated day</text>')
    for k, color in COLORS.items():
        pts = " ".join(f"{sx(d):.1f},{sy(v):.1f}" for d, v in zip(days, regret[k]))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
    return out


def main():
    files = sys.argv[1:]
    if not files:
        sys.exit("usage: optimizer_plot.py CURVE.csv...")
    width = W * len(files)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{H + 30}" font-family="sans-serif">',
             f'<rect width="{width}" height="{H + 30}" fill="white"/>',
             f'<text x="8" y="{H / 2}" font-size="11" transform="rotate(-90 12 {H / 2})" text-anchor="middle">'
             "regret: oracle's collected minus the policy's (amount)</text>"]
    for i, path in enumerate(files):
        days, regret = read(path)
        name = os.path.basename(path).replace("optimizer-", "").replace("-curve.csv", "")
        parts += panel(i * W, f"population {name}: cumulative regret (mean of the seeds)", days, regret)
    x = 80
    for k, color in COLORS.items():
        parts.append(f'<line x1="{x}" x2="{x + 24}" y1="{H + 18}" y2="{H + 18}" stroke="{color}" stroke-width="3"/>')
        parts.append(f'<text x="{x + 30}" y="{H + 22}" font-size="12">{k.replace("_", " ")}</text>')
        x += 150
    parts.append("</svg>")
    print("\n".join(parts))


if __name__ == "__main__":
    main()
