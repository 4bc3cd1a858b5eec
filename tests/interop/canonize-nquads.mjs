// Canonicalises RDF datasets given as N-Quads with rdf-canonize (RDFC-1.0), the
// reference implementation, to cross-check our blank-node labelling on graphs
// that no JSON-LD document would produce (symmetric ones, blank graph names).
//
// stdin:  {datasets: [nquads...]}
// stdout: {results: [{nquads: string|null, error: string|null}]}
import {describeError, requireArray, runScript} from './common.mjs';
import canonize from 'rdf-canonize';

runScript(async payload => {
  const datasets = requireArray(payload, 'datasets');
  const results = [];
  for(const text of datasets) {
    try {
      const dataset = canonize.NQuads.parse(text);
      const nquads = await canonize.canonize(
        dataset, {algorithm: 'RDFC-1.0', format: 'application/n-quads'});
      results.push({nquads, error: null});
    } catch(e) {
      results.push({nquads: null, error: describeError(e)});
    }
  }
  return {results};
});
