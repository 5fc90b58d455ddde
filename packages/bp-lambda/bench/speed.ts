/**
 * Seconds per training batch of the trainer's hot path (forward, losses, synthetic gradients,
 * truncated backward, Adam), per task size and method, at a fixed sequence length so that numbers
 * compare across commits (the copy-repeat curriculum would otherwise change T under the timer).
 *
 *   node --conditions=source --import tsx bench/speed.ts                    # every case
 *   node --conditions=source --import tsx bench/speed.ts --case copy100 --seconds 5
 *   node --conditions=source --import tsx bench/speed.ts --json out.json
 *
 * Each case runs a few warm-up batches (JIT) and then batches until `--seconds` of wall time have
 * passed (at least 3); the figures are the median and the minimum of the per-batch CPU time of the
 * process (user + system: steadier than wall time on a shared machine; the minimum is the least
 * disturbed by other processes sharing the cores) and the median wall time.
 */
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { BpLambdaLearner, LinearSynthesiser } from "@sgprop/agents";
import { Rng } from "@sgprop/gym";
import {
  Adam64,
  CopyRepeatTask,
  type Core,
  LineDrawTask,
  LstmCore,
  learnSequence,
  type MethodChoice,
  type Model,
  methodLabel,
  methodSettings,
  Readout,
  RnnCore,
  type SequenceBatch,
} from "../src/index.js";

interface Case {
  readonly name: string;
  readonly label: string;
  readonly build: (rng: Rng) => { core: Core; outputSize: number; next: (rng: Rng) => SequenceBatch };
  readonly gamma: number;
}

/** copy-repeat with N = R = 2: T = N (R + 1) + 3 = 9. */
function copyCase(name: string, hidden: number, batch: number): Case {
  return {
    name,
    label: `copy-repeat LSTM ${hidden}, batch ${batch}, T=9`,
    gamma: 0.9,
    build: (rng) => {
      const task = new CopyRepeatTask();
      task.N = 2;
      task.R = 2;
      return {
        core: new LstmCore(task.inputSize, hidden, rng),
        outputSize: task.outputSize,
        next: (r) => task.batch(r, batch),
      };
    },
  };
}

const CASES: Case[] = [
  copyCase("copy32", 32, 20),
  copyCase("copy100", 100, 100),
  {
    name: "toy",
    label: "toy tanh RNN 30, batch 10, T=32",
    gamma: 1,
    build: (rng) => {
      const task = new LineDrawTask();
      return {
        core: new RnnCore(task.inputDim, 30, "tanh", rng),
        outputSize: task.outputSize,
        next: (r) => task.batch(r, 10, 32),
      };
    },
  },
];

const METHODS: MethodChoice[] = [
  { method: "bp-lambda", lambda: 1 },
  { method: "bptt", n: 5 },
  { method: "bptt-sg", n: 5 },
  { method: "no-bptt" },
];

interface Timing {
  /** Median CPU seconds per batch. */
  readonly cpu: number;
  /** Minimum CPU seconds per batch. */
  readonly cpuMin: number;
  /** Median wall seconds per batch. */
  readonly wall: number;
  readonly batches: number;
}

function timeCase(c: Case, choice: MethodChoice, seconds: number): Timing {
  const init = Rng.derive(0, "bp-lambda/speed-init");
  const data = Rng.derive(0, "bp-lambda/speed-data");
  const { core, outputSize, next } = c.build(init);
  const settings = methodSettings({ ...choice, gamma: c.gamma });
  const readout = new Readout(core.hiddenSize, outputSize, init);
  const synthesiser = settings.sg === "none" ? null : new LinearSynthesiser(core.stateSize);
  const model: Model = { core, readout, synthesiser };
  const probe = next(data);
  const learner =
    settings.sg === "bp-lambda" && synthesiser
      ? new BpLambdaLearner(synthesiser, probe.batch, { lambda: settings.lambda, gamma: settings.gamma })
      : null;
  const coreAdam = new Adam64({ ...core.params }, { learningRate: 1e-3 });
  const readoutAdam = new Adam64({ weight: readout.weight, bias: readout.bias }, { learningRate: 1e-3 });
  const synthAdam = synthesiser
    ? new Adam64({ theta: synthesiser.theta, bias: synthesiser.bias }, { learningRate: 1e-4 })
    : null;
  const one = () => {
    const batch = next(data);
    const { grads } = learnSequence(model, batch, settings, learner);
    coreAdam.apply({ ...grads.core });
    readoutAdam.apply({ weight: grads.readoutWeight, bias: grads.readoutBias });
    if (synthAdam && grads.synthTheta && grads.synthBias)
      synthAdam.apply({ theta: grads.synthTheta, bias: grads.synthBias });
  };
  for (let i = 0; i < 3; i++) one();
  const wall: number[] = [];
  const cpu: number[] = [];
  const start = performance.now();
  while (wall.length < 3 || performance.now() - start < seconds * 1000) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    one();
    const c1 = process.cpuUsage(c0);
    wall.push((performance.now() - t0) / 1000);
    cpu.push((c1.user + c1.system) / 1e6);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return { cpu: median(cpu), cpuMin: Math.min(...cpu), wall: median(wall), batches: wall.length };
}

const { values } = parseArgs({
  // pnpm passes the "--" that separates its own flags from the script's.
  args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === "--")),
  options: {
    case: { type: "string", multiple: true },
    method: { type: "string", multiple: true },
    seconds: { type: "string", default: "2" },
    json: { type: "string" },
  },
});
const seconds = Number(values.seconds);
if (!(seconds > 0)) {
  console.error(`--seconds must be a positive number, got ${values.seconds}`);
  process.exit(2);
}
const cases = values.case ? CASES.filter((c) => values.case?.includes(c.name)) : CASES;
if (values.case && cases.length !== values.case.length) {
  console.error(
    `unknown --case in ${values.case.join(", ")} (expected ${CASES.map((c) => c.name).join(", ")})`,
  );
  process.exit(2);
}
const methods = values.method ? METHODS.filter((m) => values.method?.includes(m.method)) : METHODS;

const results: ({ case: string; method: string } & Timing)[] = [];
console.log(
  "| case | method | CPU s / batch (median) | CPU s / batch (min) | wall s / batch | batches timed |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const c of cases) {
  for (const m of methods) {
    const t = timeCase(c, m, seconds);
    const method = methodLabel(methodSettings(m));
    results.push({ case: c.name, method, ...t });
    console.log(
      `| ${c.label} | ${method} | ${t.cpu.toPrecision(3)} | ${t.cpuMin.toPrecision(3)} | ${t.wall.toPrecision(3)} | ${t.batches} |`,
    );
  }
}
if (values.json) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
