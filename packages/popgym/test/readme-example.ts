import { make } from "@sgprop/gym";
import { LabyrinthEscape, LabyrinthVectorEnv, makePaperLabyrinth, registerPopgymEnvs } from "@sgprop/popgym";

// Make a registered env and step it.
registerPopgymEnvs();
const env = make("popgym/LabyrinthEscapeEasy-v0", { renderMode: "ansi" }); // 10x10, 1024 steps
const [obs] = env.reset({ seed: 42 });
console.log(obs); // Int32Array(10): 3x3 window codes, then 4 (no action yet)
for (let t = 0; t < 5; t++) {
  const [next, reward, terminated, truncated, stepInfo] = env.step(env.actionSpace.sample());
  console.log(next[9], reward, terminated, truncated, stepInfo.position);
}
console.log(env.render()); // POPGym's text view: ██ walls, ++ visited, 🟢 start, 🛑 goal, 🚎 agent

// An SVG picture of the maze (start, goal, agent, visited cells).
const small = new LabyrinthEscape({ mazeDims: [6, 6], episodeLength: 80 });
small.reset({ seed: 3 });
small.step(0);
const svg: string = small.renderSvg({ title: "seed 3" });
console.log(svg.length > 0);

// The paper's wrapped env: 56-long observations.
const paper = makePaperLabyrinth("explore"); // 6x6, episode length 40
const [first] = paper.reset({ seed: 0 });
console.log(first.length, first.indexOf(1, 45)); // 56, 49 (env action "none")

// Replay a fixed maze (e.g. from a golden file or a shared experiment).
const maze = {
  grid: [
    [1, 1, 1, 1, 1, 1, 1],
    [1, 0, 0, 0, 0, 0, 1],
    [1, 1, 1, 1, 1, 0, 1],
    [1, 0, 0, 0, 1, 0, 1],
    [1, 0, 1, 1, 1, 0, 1],
    [3, 0, 0, 0, 0, 0, 2],
    [1, 1, 1, 1, 1, 1, 1],
  ],
  start: [5, 6],
  end: [5, 0],
};
small.reset({ options: { maze } });
console.log(small.step(0)[4]); // { position: [5, 5] }

// Vectorise: 20 envs driven like the paper's trainer (one episode per env, finished envs masked).
const vec = new LabyrinthVectorEnv({ kind: "escape", numEnvs: 20 }); // 6x6, episode length 80
for (let k = 0; k < vec.numEnvs; k++) vec.resetEnv(k, { seed: 100 + k });
const active = new Uint8Array(vec.numEnvs).fill(1);
const actions = new Int32Array(vec.numEnvs);
while (active.some((a) => a === 1)) {
  for (let k = 0; k < vec.numEnvs; k++) actions[k] = (k + active.length) % 4;
  vec.step(actions, active); // writes vec.observations [20 * 56], vec.rewards, vec.terminated, vec.truncated
  for (let k = 0; k < vec.numEnvs; k++) if (vec.terminated[k] || vec.truncated[k]) active[k] = 0;
}
console.log(vec.observations.length, vec.positions().length); // 1120, 40
