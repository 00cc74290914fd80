/**
 * Labelled feedback for feedback-triage's tests and `npm run bench:triage`, from a seeded PRNG:
 * each theme is a few concepts with paraphrases (synonyms, inflections), and an item says its
 * theme's subject (the first concept) and one or two of the others, inside a frame shared by every theme ("Since the last
 * update …, please fix"), so themes share filler and differ in what they are about. Some
 * items are exact or near duplicates (case, punctuation, a word added), as real feeds have.
 */
import { mulberry32 } from "./prng.js";

export interface Theme {
  name: string;
  /** Concepts, each a list of ways to say it. */
  concepts: string[][];
}

export const THEMES: Theme[] = [
  {
    name: "photo upload crash",
    concepts: [
      ["crashes", "crashed", "crash", "force closes"],
      ["uploading", "upload", "uploads"],
      ["photo", "photos", "picture", "pictures"],
      ["gallery", "camera roll"],
    ],
  },
  {
    name: "dark mode",
    concepts: [
      ["dark mode", "dark theme", "night mode"],
      ["eyes", "eye strain", "bright screen"],
      ["theme", "colours", "contrast"],
      ["evening", "night", "at night"],
    ],
  },
  {
    name: "login timeout",
    concepts: [
      ["login", "log in", "sign in", "signing in"],
      ["times out", "timeout", "timed out", "spins forever"],
      ["password", "credentials"],
      ["session", "logged out", "logs me out"],
    ],
  },
  {
    name: "battery drain",
    concepts: [
      ["battery", "battery life"],
      ["drains", "drain", "draining", "eats"],
      ["background", "in the background"],
      ["phone gets hot", "overheats", "warm"],
    ],
  },
  {
    name: "csv export",
    concepts: [
      ["export", "exporting", "download"],
      ["csv", "spreadsheet", "excel"],
      ["report", "reports", "data"],
      ["columns", "dates", "format"],
    ],
  },
  {
    name: "notifications late",
    concepts: [
      ["notifications", "notification", "push alerts", "alerts"],
      ["late", "delayed", "hours later", "arrive late"],
      ["messages", "message", "chat"],
      ["missed", "never arrive", "silent"],
    ],
  },
];

const FRAMES = [
  (body: string) => `${body}.`,
  (body: string) => `${body}!`,
  (body: string) => `Since the last update ${body}.`,
  (body: string) => `Hi, ${body}, it is really annoying.`,
  (body: string) => `I love the app but ${body}.`,
  (body: string) => `On my phone ${body} every time.`,
  (body: string) => `${body}? Is this known?`,
  (body: string) => `Any news on this: ${body}.`,
  (body: string) => `Please look at this, ${body}.`,
  (body: string) => `It seems that ${body} again.`,
  (body: string) => `Not sure why but ${body}.`,
  (body: string) => `Today ${body}, again.`,
];
const JOINERS = ["and", "when", "with", "while", "because of"];

export interface LabelledItem {
  id: string;
  text: string;
  /** The theme's index, -1 for noise. */
  theme: number;
}

export interface FeedbackDataOptions {
  seed: number;
  themes: readonly Theme[];
  perTheme: number;
  /** Share of items that repeat an earlier one, exactly or nearly (default 0.1). */
  duplicates?: number;
  /** Items about nothing in particular (default 0). */
  noise?: number;
  /** Prefix of the ids (default "fb-"). */
  idPrefix?: string;
}

/** Items in a seeded random order. */
export function labelledFeedback(options: FeedbackDataOptions): LabelledItem[] {
  const rng = mulberry32(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;
  const items: LabelledItem[] = [];
  const prefix = options.idPrefix ?? "fb-";
  options.themes.forEach((theme, index) => {
    for (let n = 0; n < options.perTheme; n++) {
      // The subject (the first concept, said one of its ways) and one or two of the others.
      const [subject, ...others] = theme.concepts;
      const concepts = shuffled(
        [subject!, ...shuffled(others, rng).slice(0, 1 + Math.floor(rng() * 2))],
        rng,
      );
      const words = concepts.map((ways) => pick(ways));
      const body = words.reduce((text, word, i) => (i === 0 ? word : `${text} ${pick(JOINERS)} ${word}`), "");
      items.push({ id: "", text: pick(FRAMES)(body).replace(/^./, (c) => c.toUpperCase()), theme: index });
    }
  });
  for (let n = 0; n < (options.noise ?? 0); n++) {
    items.push({ id: "", text: `${pick(["Great", "Nice", "Good", "Cool"])} app ${n}`, theme: -1 });
  }
  const duplicates = Math.round(items.length * (options.duplicates ?? 0.1));
  for (let n = 0; n < duplicates; n++) {
    const original = pick(items);
    const variant = pick([
      original.text,
      original.text.toUpperCase(),
      original.text.replace(/[.?!]$/, "!!"),
      `${original.text} +1`,
    ]);
    items.push({ id: "", text: variant, theme: original.theme });
  }
  return shuffled(items, rng).map((item, i) => ({ ...item, id: `${prefix}${i + 1}` }));
}

/** Themes of made-up words, for sizes past a handful of real ones (the benchmark). */
export function syntheticThemes(seed: number, count: number): Theme[] {
  const rng = mulberry32(seed);
  const syllables = [
    "ka",
    "lo",
    "mi",
    "ter",
    "vos",
    "dra",
    "pen",
    "shu",
    "bel",
    "gor",
    "nix",
    "ul",
    "qua",
    "sen",
  ];
  const used = new Set<string>();
  // Distinct words: a made-up word shared by two themes would be a real overlap, not a paraphrase.
  const word = (): string => {
    for (;;) {
      const candidate = Array.from(
        { length: 3 + Math.floor(rng() * 2) },
        () => syllables[Math.floor(rng() * syllables.length)],
      ).join("");
      if (!used.has(candidate)) {
        used.add(candidate);
        return candidate;
      }
    }
  };
  return Array.from({ length: count }, (_, index) => ({
    name: `theme ${index + 1}`,
    concepts: Array.from({ length: 4 }, () => {
      const stem = word();
      return [stem, `${stem}s`, `${stem}ing`, word()];
    }),
  }));
}

function shuffled<T>(list: readonly T[], rng: () => number): T[] {
  const copy = [...list];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** Adjusted Rand index (Hubert & Arabie) of two labellings of the same items. */
export function adjustedRandIndex(truth: readonly number[], found: readonly number[]): number {
  const key = (a: number, b: number) => `${a}\u0000${b}`;
  const pairs = new Map<string, number>();
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  truth.forEach((a, i) => {
    const b = found[i]!;
    pairs.set(key(a, b), (pairs.get(key(a, b)) ?? 0) + 1);
    rows.set(a, (rows.get(a) ?? 0) + 1);
    cols.set(b, (cols.get(b) ?? 0) + 1);
  });
  const choose2 = (n: number) => (n * (n - 1)) / 2;
  const sum = (counts: Iterable<number>) => [...counts].reduce((total, n) => total + choose2(n), 0);
  const index = sum(pairs.values());
  const rowSum = sum(rows.values());
  const colSum = sum(cols.values());
  const expected = (rowSum * colSum) / choose2(truth.length);
  const max = (rowSum + colSum) / 2;
  return max === expected ? 1 : (index - expected) / (max - expected);
}
