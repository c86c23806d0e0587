import type { GraphSpec, TensorSpec } from '../bundle/manifest.js';
import { BundleError } from '../errors/index.js';
import type { GraphSession, ValueInfo } from './types.js';

/**
 * Refuses a graph whose real inputs/outputs differ from what the manifest declares: core builds its
 * feeds from the manifest, so a silent difference would surface later as a confusing runtime error
 * (or, worse, as wrong scores). Names always; dtypes and ranks where the runtime reports them.
 */
export function checkGraphSignature(spec: GraphSpec, session: GraphSession): void {
  const problems = [
    ...compareSide('inputs', spec.inputs, session.inputNames, session.inputMetadata),
    ...compareSide('outputs', spec.outputs, session.outputNames, session.outputMetadata),
  ];
  if (problems.length > 0) {
    throw new BundleError('BUNDLE_SIGNATURE_MISMATCH', `${spec.file}: graph signature does not match manifest.json: ${problems.join('; ')}`, {
      file: spec.file,
      graph: session.graphName,
      problems,
    });
  }
}

function compareSide(
  side: 'inputs' | 'outputs',
  declared: readonly TensorSpec[],
  actualNames: readonly string[],
  metadata: readonly ValueInfo[] | undefined,
): string[] {
  const problems: string[] = [];
  const actual = new Set(actualNames);
  const declaredNames = new Set(declared.map((d) => d.name));
  const missing = declared.filter((d) => !actual.has(d.name)).map((d) => d.name);
  const undeclared = actualNames.filter((n) => !declaredNames.has(n));
  if (missing.length > 0 || undeclared.length > 0) {
    const parts = [`manifest declares ${side} [${[...declaredNames].join(', ')}] but the graph has [${actualNames.join(', ')}]`];
    if (missing.length > 0) parts.push(`not in graph: ${missing.join(', ')}`);
    if (undeclared.length > 0) parts.push(`not declared: ${undeclared.join(', ')}`);
    problems.push(parts.join(', '));
  }
  const byName = new Map((metadata ?? []).map((m) => [m.name, m]));
  for (const d of declared) {
    const m = byName.get(d.name);
    if (m === undefined) continue;
    if (m.dtype !== undefined && m.dtype !== d.dtype) {
      problems.push(`${side.slice(0, -1)} ${d.name} is ${m.dtype} in the graph but ${d.dtype} in the manifest`);
    }
    // An empty runtime shape means "unknown" in onnxruntime's metadata, so only a known rank is compared.
    if (m.shape !== undefined && m.shape.length > 0) {
      if (m.shape.length !== d.shape.length) {
        problems.push(`${side.slice(0, -1)} ${d.name} has rank ${m.shape.length} in the graph but ${d.shape.length} in the manifest`);
      } else {
        m.shape.forEach((dim, i) => {
          const want = d.shape[i];
          if (typeof dim === 'number' && dim >= 0 && typeof want === 'number' && dim !== want) {
            problems.push(`${side.slice(0, -1)} ${d.name} dimension ${i} is ${dim} in the graph but ${want} in the manifest`);
          }
        });
      }
    }
  }
  return problems;
}
