import { loopdDrain } from "./lib/loopd.js";
const [dialect, workers, runs, routines] = process.argv.slice(2);
const rep = await loopdDrain({ dialect: dialect as "postgres", workers: Number(workers), runs: Number(runs), routines: Number(routines), concurrency: 32 });
console.log(rep, rep.runs / rep.seconds);
