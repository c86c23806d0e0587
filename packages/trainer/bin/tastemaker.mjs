#!/usr/bin/env node
// Thin launcher so the bin link exists before the first build; the CLI itself is compiled to dist/.
import { main } from '../dist/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tastemaker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
