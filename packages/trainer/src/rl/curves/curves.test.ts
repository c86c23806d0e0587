import { describe, expect, it } from 'vitest';
import { blockCurve, curvesSvg } from './index.js';

describe('learning curves', () => {
  it('averages values over blocks, x = the last value of each block', () => {
    const c = blockCurve('dqn', [1, 2, 3, 4, 5], 'episode', 2);
    expect(c.points).toEqual([
      [3, 2],
      [5, 4.5],
    ]);
    expect(blockCurve('x', [1, 2], 'episode', 10).points).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('draws one escaped, labelled line per curve inside the plot', () => {
    const svg = curvesSvg([blockCurve('dqn', [0.1, 0.2, 0.4], 'episode', 3), { policy: 'a<b>&c', x: 'batch', y: 'reward', points: [[0, -1], [5, 1]] }], 'T');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('a&lt;b&gt;&amp;c');
    expect(svg).not.toContain('a<b>');
    for (const m of svg.matchAll(/points="([^"]+)"/g)) {
      for (const pair of m[1]!.split(' ')) {
        const [x, y] = pair.split(',').map(Number);
        expect(x).toBeGreaterThanOrEqual(64);
        expect(x).toBeLessThanOrEqual(720 - 200);
        expect(y).toBeGreaterThanOrEqual(40);
        expect(y).toBeLessThanOrEqual(420 - 52);
      }
    }
  });

  it('renders an empty chart when no policy was trained', () => {
    expect(curvesSvg([])).toContain('</svg>');
  });
});
