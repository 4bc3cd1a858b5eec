// Canonicalises JSON-LD documents with jsonld.js (RDFC-1.0, N-Quads), to
// cross-check our own canonical form byte for byte.
//
// stdin:  {contexts, documents: [jsonld...], safe?: bool, rdfDirection?: str}
// stdout: {results: [{nquads: string|null, error: string|null}]}
//
// Options passed to `jsonld.canonize`: algorithm "RDFC-1.0", format
// "application/n-quads", base null, `safe` only when given (jsonld.js
// defaults it to true for canonize: undefined terms, relative IRIs and other
// data loss raise an error instead of being dropped), `rdfDirection` only when
// given ("i18n-datatype" is what the eddsa-rdfc-2022 cryptosuite uses).
import {
  describeError, HarnessError, makeDocumentLoader, requireArray,
  requireObject, runScript
} from './common.mjs';
import jsonld from 'jsonld';

runScript(async payload => {
  const contexts = requireObject(payload, 'contexts');
  const documents = requireArray(payload, 'documents');
  const {safe, rdfDirection} = payload;
  if(safe !== undefined && typeof safe !== 'boolean') {
    throw new HarnessError('"safe" must be a boolean');
  }
  if(rdfDirection !== undefined && typeof rdfDirection !== 'string') {
    throw new HarnessError('"rdfDirection" must be a string');
  }
  // only contexts: a document to canonicalise never needs anything else
  const documentLoader = makeDocumentLoader({contexts});
  const options = {
    algorithm: 'RDFC-1.0',
    format: 'application/n-quads',
    base: null,
    documentLoader,
    ...(safe === undefined ? {} : {safe}),
    ...(rdfDirection === undefined ? {} : {rdfDirection})
  };
  const results = [];
  for(const document of documents) {
    try {
      const nquads = await jsonld.canonize(structuredClone(document), options);
      results.push({nquads, error: null});
    } catch(e) {
      results.push({nquads: null, error: describeError(e)});
    }
  }
  return {results};
});
