/**
 * Learning curves of the RL policies (`tastemaker simulate --curves FILE.svg`) as data and as an
 * SVG line chart. The chart is written by hand: no plotting library is in the dependency tree, and
 * a line chart is a few dozen lines of SVG text (axes, ticks, one polyline per curve, a legend).
 */

export interface LearningCurve {
  policy: string;
  /** what one point of the x axis counts (e.g. "training episode", "epoch") */
  x: string;
  /** what y measures */
  y: string;
  /** [x, y] points, x ascending */
  points: [number, number][];
}

/**
 * Averages `values` (one per unit of x, e.g. per training episode) over consecutive blocks so a
 * curve has about `maxPoints` points; x of a point is the 1-based index of its block's last value.
 */
export function blockCurve(policy: string, values: readonly number[], x: string, maxPoints: number, y = 'mean reward per step'): LearningCurve {
  const block = Math.max(1, Math.ceil(values.length / Math.max(1, maxPoints)));
  const points: [number, number][] = [];
  for (let start = 0; start < values.length; start += block) {
    const end = Math.min(values.length, start + block);
    let s = 0;
    for (let k = start; k < end; k++) s += values[k]!;
    points.push([end, s / (end - start)]);
  }
  return { policy, x, y, points };
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round, readable tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * One chart with a line per curve. Curves count x in different units (episodes, epochs), so x is
 * drawn as the share of each policy's training (0–100 %); the legend names each curve's unit.
 */
export function curvesSvg(curves: readonly LearningCurve[], title = 'Learning curves'): string {
  const width = 720;
  const height = 420;
  const m = { left: 64, right: 200, top: 40, bottom: 52 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const ys = curves.flatMap((c) => c.points.map((p) => p[1])).filter(Number.isFinite);
  let lo = ys.length > 0 ? Math.min(...ys) : 0;
  let hi = ys.length > 0 ? Math.max(...ys) : 1;
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const sx = (f: number) => m.left + f * pw;
  const sy = (v: number) => m.top + (1 - (v - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`);
  for (const v of ticks(lo, hi, 6)) {
    const y = sy(v).toFixed(1);
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${v}</text>`);
  }
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const x = sx(f).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.top + ph}" y2="${m.top + ph + 4}" stroke="black"/>`);
    parts.push(`<text x="${x}" y="${m.top + ph + 18}" text-anchor="middle">${f * 100} %</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${height - 12}" text-anchor="middle">share of training</text>`);
  const yLabel = [...new Set(curves.map((c) => c.y))].join(' / ') || 'reward';
  parts.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  curves.forEach((c, k) => {
    const colour = COLOURS[k % COLOURS.length]!;
    const pts = c.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length > 0) {
      const x0 = pts[0]![0];
      const x1 = pts.at(-1)![0];
      const frac = (x: number) => (pts.length === 1 || x1 === x0 ? 1 : (x - x0) / (x1 - x0));
      const d = pts.map((p) => `${sx(frac(p[0])).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${d}"><title>${escapeXml(c.policy)}</title></polyline>`);
    }
    const ly = m.top + 10 + k * 34;
    parts.push(`<line x1="${m.left + pw + 12}" x2="${m.left + pw + 36}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<text x="${m.left + pw + 42}" y="${ly}" dominant-baseline="middle">${escapeXml(c.policy)}</text>`);
    parts.push(`<text x="${m.left + pw + 42}" y="${ly + 14}" dominant-baseline="middle" font-size="10" fill="#555">per ${escapeXml(c.x)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
