import cliProgress from 'cli-progress';
import type { ProgressSink } from '../models/types.js';

/** Progress bars on stderr, so stdout stays clean for `--json` output. Silent when stderr is not a TTY. */
export function createStderrProgress(enabled = process.stderr.isTTY === true): ProgressSink {
  if (!enabled) return { start() {}, update() {}, stop() {} };
  let bar: cliProgress.SingleBar | undefined;
  return {
    start(label, total) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `${label.padEnd(18)} {bar} {percentage}% | {value}/{total} | eta {eta_formatted} {info}`,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { info: '' });
    },
    update(done, info) {
      const text = info
        ? Object.entries(info)
            .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
            .join(' ')
        : '';
      bar?.update(done, { info: text });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
