/**
 * Text to terms for offline embedding: NFKC, lower case, words of letters and digits, English
 * stop words out, Porter-stemmed (the `stemmer` package) so "crashes", "crashed" and
 * "crashing" are one term. A term's most common surface word is kept for labels ("crash",
 * not the stem "crash"/"batteri"). The normalised text's hash is the exact-duplicate key.
 */
import { createHash } from "node:crypto";
import { stemmer } from "stemmer";

/** English function words; a short list is enough once TF-IDF damps the frequent rest. */
const STOP_WORDS = new Set(
  `a about above after again against all also am an and any are aren as at be because been before being below
  between both but by can cannot could did didn do does doesn doing don down during each even ever every few for from
  further get gets got had hadn has hasn have haven having he her here hers herself him himself his how however i if in
  into is isn it its itself just let ll me might more most much must mustn my myself no nor not now of off on once only
  or other ought our ours ourselves out over own please re really same shan she should shouldn so some still such than
  that the their theirs them themselves then there these they this those through to too under until up us very via
  was wasn we were weren what when where which while who whom why will with won would wouldn you your yours yourself
  yourselves ve s t d m im ive id its thats dont cant wont doesnt isnt didnt hi hello thanks thank`.split(
    /\s+/,
  ),
);

const WORD = /[\p{L}\p{N}]+/gu;
const stems = new Map<string, string>();
const STEM_CACHE_MAX = 200_000;

function stemOf(word: string): string {
  let stem = stems.get(word);
  if (stem === undefined) {
    stem = stemmer(word);
    if (stems.size >= STEM_CACHE_MAX) stems.clear();
    stems.set(word, stem);
  }
  return stem;
}

/** Lower case, NFKC, punctuation and runs of spaces folded: what "the same text" means. */
export function normalise(text: string): string {
  return (text.normalize("NFKC").toLowerCase().match(WORD) ?? []).join(" ");
}

/** The exact-duplicate key: a hash of the normalised text. */
export function textHash(text: string): string {
  return createHash("sha256").update(normalise(text)).digest("hex").slice(0, 24);
}

/** Counts of surface words per stem, for readable labels. */
export type SurfaceCounts = Map<string, Map<string, number>>;

/** The terms of a text (stems), in order; `surfaces` learns which word each stem came from. */
export function termsOf(text: string, surfaces?: SurfaceCounts): string[] {
  const words = text.normalize("NFKC").toLowerCase().match(WORD) ?? [];
  const terms: string[] = [];
  for (const word of words) {
    if (word.length < 2 || word.length > 40 || STOP_WORDS.has(word) || /^\d+$/.test(word)) continue;
    const stem = stemOf(word);
    terms.push(stem);
    if (surfaces) {
      const counts = surfaces.get(stem) ?? new Map<string, number>();
      if (counts.size === 0) surfaces.set(stem, counts);
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  return terms;
}

/** The word people wrote most often for a stem (the stem itself when never seen). */
export function surfaceOf(stem: string, surfaces: SurfaceCounts): string {
  let best = stem;
  let count = 0;
  for (const [word, seen] of surfaces.get(stem) ?? []) {
    if (seen > count || (seen === count && word < best)) {
      best = word;
      count = seen;
    }
  }
  return best;
}
