/**
 * Sparse TF-IDF vectors: term ids, sublinear tf (1 + ln count) × idf ln((1+n)/(1+df)), L2-normalised.
 * Terms seen in a single document are dropped — they cannot pull two items together and only
 * dilute the cosine between paraphrases. Memory is what the items hold (about 10 terms each),
 * never a documents × vocabulary matrix, which is what lets 50k items fit.
 */

export interface SparseVector {
  /** Term ids (or dimensions), ascending. */
  idx: Uint32Array;
  val: Float32Array;
}

export interface TfidfResult {
  vectors: SparseVector[];
  /** Term by id. */
  vocabulary: string[];
}

export function tfidf(documents: readonly (readonly string[])[]): TfidfResult {
  const ids = new Map<string, number>();
  const vocabulary: string[] = [];
  const df: number[] = [];
  const encoded: Uint32Array[] = new Array(documents.length);
  for (let d = 0; d < documents.length; d++) {
    const terms = documents[d]!;
    const row = new Uint32Array(terms.length);
    for (let i = 0; i < terms.length; i++) {
      const term = terms[i]!;
      let id = ids.get(term);
      if (id === undefined) {
        id = vocabulary.length;
        ids.set(term, id);
        vocabulary.push(term);
        df.push(0);
      }
      row[i] = id;
    }
    row.sort();
    for (let i = 0; i < row.length; i++) if (i === 0 || row[i] !== row[i - 1]) df[row[i]!]! += 1;
    encoded[d] = row;
  }
  const n = documents.length;
  // Without sklearn's +1: a word in nearly every item (a greeting, the product's name) weighs ~0.
  const idf = df.map((count) => Math.log((1 + n) / (1 + count)));
  const keep = df.map((count) => count >= 2 || n < 3);
  const vectors = encoded.map((row) => {
    const terms: number[] = [];
    const weights: number[] = [];
    for (let i = 0; i < row.length; ) {
      const id = row[i]!;
      let count = 0;
      while (i < row.length && row[i] === id) {
        count += 1;
        i += 1;
      }
      if (!keep[id]) continue;
      terms.push(id);
      weights.push((1 + Math.log(count)) * idf[id]!);
    }
    return normalised(Uint32Array.from(terms), Float32Array.from(weights));
  });
  return { vectors, vocabulary };
}

/** A dense vector (an embedding model's) as a sparse one over every dimension. */
export function fromDense(values: readonly number[]): SparseVector {
  const idx = new Uint32Array(values.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return normalised(idx, Float32Array.from(values));
}

function normalised(idx: Uint32Array, val: Float32Array): SparseVector {
  let sum = 0;
  for (let i = 0; i < val.length; i++) sum += val[i]! * val[i]!;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < val.length; i++) val[i] = val[i]! / norm;
  return { idx, val };
}

export function dot(a: SparseVector, b: SparseVector): number {
  let i = 0;
  let j = 0;
  let sum = 0;
  while (i < a.idx.length && j < b.idx.length) {
    const x = a.idx[i]!;
    const y = b.idx[j]!;
    if (x === y) sum += a.val[i++]! * b.val[j++]!;
    else if (x < y) i++;
    else j++;
  }
  return sum;
}
