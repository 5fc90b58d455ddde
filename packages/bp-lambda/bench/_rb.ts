import { BpLambdaLearner, DenseRowJacobian, LinearSynthesiser } from "@sgprop/agents";

const [B, S, T] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const lambda = Number(process.argv[5] ?? 1);
let seed = 1;
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
const synth = new LinearSynthesiser(S);
for (let i = 0; i < synth.theta.length; i++) synth.theta[i] = rnd() * 0.1;
const learner = new BpLambdaLearner(synth, B, { lambda, gamma: 1 });
const states = Array.from({ length: T }, () => Float64Array.from({ length: B * S }, rnd));
const jacs = Array.from(
  { length: T },
  () =>
    new DenseRowJacobian(
      Float64Array.from({ length: B * S * S }, () => rnd() * 0.3),
      B,
      S,
    ),
);
const imm = Array.from({ length: T }, () => Float64Array.from({ length: B * S }, rnd));
const one = () => {
  learner.clearUpdate();
  learner.begin();
  for (let t = 0; t < T; t++)
    learner.step({
      state: states[t]!,
      jacobian: t ? jacs[t]! : null,
      immediate: imm[t]!,
      final: t === T - 1,
    });
};
for (let i = 0; i < 20; i++) one();
const t0 = performance.now();
let n = 0;
while (performance.now() - t0 < 2000) {
  one();
  n++;
}
console.log(`B ${B} S ${S} T ${T} lambda ${lambda}: ${((performance.now() - t0) / n).toFixed(3)} ms/seq`);
